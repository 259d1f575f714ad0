"""Ad-delivery audit: who is shown an ad, against who was eligible to see it.

An advertiser targets an *eligible audience*; the platform's delivery algorithm then decides
who among them actually sees the ad. Delivery optimisation alone can skew who sees housing,
job and credit ads by gender and race even under neutral targeting (Ali et al. 2019,
"Discrimination through Optimization: How Facebook's Ad Delivery Can Lead to Skewed
Outcomes", CSCW; Imana, Korolova & Heidemann 2021, "Auditing for Discrimination in Algorithms
Delivering Job Ads", WWW). This audit compares, per demographic group and intersection:

* ``eligible_share`` — the group's share of the eligible audience,
* ``delivery_share`` — its share of the impressions,
* ``skew_ratio = delivery_share / eligible_share`` (1 = delivered in proportion),
* ``delivery_rate`` — impressions per eligible user, and ``reach_rate`` — the share of
  eligible users shown the ad at least once,
* ``impact_ratio = delivery_rate / max over groups`` with a four-fifths verdict
  (29 CFR 1607.4(D): being shown the ad is the favourable "selection").

for each ad and for all ads pooled, with percentile-bootstrap intervals resampling eligible
users (:func:`audit.metrics._ranking.resampled_unit_sums`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from audit.data import read_table
from audit.exceptions import ConfigError, DataError
from audit.metrics._bootstrap import BootstrapSettings
from audit.metrics._disparity import impact_ratio, min_over_max
from audit.metrics._group_report import (
    Compared,
    CrossGroup,
    EvidenceRule,
    GroupRecords,
    GroupTable,
    Reference,
    ReportRules,
    Verdict,
    as_fractions,
    assess,
    slice_records,
)
from audit.metrics._groups import Partition
from audit.metrics._ranking import cell_sums, resampled_unit_sums
from audit.recommendation import _first_row, _ids, _input, _ratio, _require, _slices
from audit.results import SCHEMA_VERSION, provenance

__all__ = ["AdsOptions", "Delivery", "ads_audit", "load_delivery"]

#: Per-group metrics, in the order of the value columns used below.
AD_METRICS = (
    "eligible_share",
    "delivery_share",
    "skew_ratio",
    "delivery_rate",
    "reach_rate",
    "impact_ratio",
)

METRIC_DEFINITIONS = {
    "eligible_share": "Eligible users in the group / eligible users (per ad; pooled: eligible "
    "(ad, user) pairs).",
    "delivery_share": "Impressions to the group / all impressions to eligible users.",
    "skew_ratio": "delivery_share / eligible_share: 1 when the ad reaches the group in "
    "proportion to its share of the audience (Ali et al. 2019; Imana et al. 2021).",
    "delivery_rate": "Impressions per eligible user of the group.",
    "reach_rate": "Share of the group's eligible users shown the ad at least once.",
    "impact_ratio": "delivery_rate / the highest delivery_rate among groups with enough "
    "evidence; below 0.8 fails the four-fifths rule (29 CFR 1607.4(D)), being shown the ad "
    "taken as the favourable outcome.",
}


@dataclass(frozen=True)
class AdsOptions:
    """Settings of an ad-delivery audit.

    Attributes
    ----------
    reference
        Reference group for disparities: ``largest`` (most eligible users), ``best`` (highest
        rate) or ``{attribute: group}``; always a group with sufficient evidence (naming
        another is refused).
    min_users
        A group needs this many eligible users for a verdict (else ``insufficient_evidence``).
    min_group_size
        Groups with fewer eligible users are suppressed.
    band
        Fairness band for ratios (Aequitas' tau rule).
    bootstrap
        Intervals.
    """

    reference: Reference = "largest"
    min_users: int = 30
    min_group_size: int = 10
    band: tuple[float, float] = (0.8, 1.25)
    bootstrap: BootstrapSettings = field(default_factory=BootstrapSettings)


@dataclass
class Delivery:
    """Validated impressions and eligible audience.

    Attributes
    ----------
    attributes
        Demographic columns, one row per audience user.
    ads
        Ad ids (text), position = ad index.
    eligible_ad, eligible_user
        Eligible (ad, user) pairs as indices.
    impressions
        Impressions of each eligible pair.
    per_ad_audience
        Whether eligibility was given per ad (else every user is eligible for every ad).
    """

    attributes: pd.DataFrame
    ads: pd.Index
    eligible_ad: NDArray[np.int64]
    eligible_user: NDArray[np.int64]
    impressions: NDArray[np.int64]
    per_ad_audience: bool
    inputs: list[dict[str, str]]
    data_quality: dict[str, int]
    messages: list[str]


def load_delivery(
    impressions: str | Path,
    audience: str | Path,
    *,
    groups: Sequence[str],
    ad_col: str = "ad_id",
    user_col: str = "user_id",
) -> Delivery:
    """Read impressions and the eligible audience.

    Parameters
    ----------
    impressions
        One row per impression: ``ad_col``, ``user_col``.
    audience
        The eligible users with their ``groups`` columns. Without an ``ad_col`` column every
        user is eligible for every ad (one row per user); with it, each row is an eligible
        (ad, user) pair and a user's attributes must agree across rows.
    groups
        Demographic columns.
    ad_col, user_col
        Column names.
    """
    if not groups:
        raise ConfigError("name at least one demographic column with --groups")
    iname, aname = str(impressions), str(audience)
    imp = read_table(impressions)
    aud = read_table(audience)
    _require(imp, ad_col, iname, "--ad-col")
    _require(imp, user_col, iname, "--user-col")
    _require(aud, user_col, aname, "--user-col")
    for col in groups:
        _require(aud, col, aname, "--groups")
    per_ad = ad_col in aud.columns

    a_user = _ids(aud[user_col], aname, user_col)
    if per_ad:
        a_ad = _ids(aud[ad_col], aname, ad_col)
        pairs = pd.DataFrame({"ad": a_ad, "user": a_user})
        dup = pairs.duplicated()
        if dup.any():
            row = _first_row(dup)
            raise DataError(
                f"{int(dup.sum())} duplicate (ad, user) rows; the first is "
                f"{pairs.iloc[row - 1].tolist()}",
                file=aname,
                column=user_col,
                row=row,
            )
        attrs_rows = aud[list(groups)].astype("object")
        first = attrs_rows.assign(_u=a_user.to_numpy()).drop_duplicates("_u")
        check = attrs_rows.assign(_u=a_user.to_numpy()).merge(
            first, on="_u", how="left", suffixes=("", "_first")
        )
        for col in groups:
            same = (check[col] == check[f"{col}_first"]) | (
                check[col].isna() & check[f"{col}_first"].isna()
            )
            if not same.all():
                row = _first_row(~same)
                raise DataError(
                    f"user {a_user.iloc[row - 1]!r} has a different {col} than on an earlier "
                    "row; a user's attributes must agree across ads",
                    file=aname,
                    column=col,
                    row=row,
                )
        users = pd.Index(first["_u"])
        attributes = first[list(groups)].reset_index(drop=True)
    else:
        dup = a_user.duplicated()
        if dup.any():
            row = _first_row(dup)
            raise DataError(
                f"duplicate user {a_user.iloc[row - 1]!r}; list each eligible user once (or "
                f"add an {ad_col!r} column for per-ad audiences)",
                file=aname,
                column=user_col,
                row=row,
            )
        users = pd.Index(a_user)
        attributes = aud[list(groups)].reset_index(drop=True)

    i_ad = _ids(imp[ad_col], iname, ad_col)
    i_user = _ids(imp[user_col], iname, user_col)
    ads = pd.Index(sorted(set(i_ad) | (set(pairs["ad"]) if per_ad else set())))
    if per_ad:
        el_ad = ads.get_indexer(pairs["ad"]).astype(np.int64)
        el_user = users.get_indexer(pairs["user"]).astype(np.int64)
    else:
        el_ad = np.repeat(np.arange(len(ads), dtype=np.int64), len(users))
        el_user = np.tile(np.arange(len(users), dtype=np.int64), len(ads))
    n_users = len(users)
    el_key = el_ad * n_users + el_user
    order = np.argsort(el_key, kind="stable")
    el_ad, el_user, el_key = el_ad[order], el_user[order], el_key[order]

    iu = users.get_indexer(i_user).astype(np.int64)
    ia = ads.get_indexer(i_ad).astype(np.int64)
    quality = {"impressions": len(imp), "audience_users": n_users, "ads": len(ads)}
    messages: list[str] = []
    unknown = iu < 0
    quality["impressions_unknown_user"] = int(unknown.sum())
    key = ia * n_users + np.maximum(iu, 0)
    pos = np.minimum(np.searchsorted(el_key, key), max(len(el_key) - 1, 0))
    eligible = ~unknown & (len(el_key) > 0) & (el_key[pos] == key)
    outside = ~unknown & ~eligible
    quality["impressions_outside_audience"] = int(outside.sum())
    if unknown.any():
        messages.append(
            f"{int(unknown.sum())} impressions went to {i_user[unknown].nunique()} users absent "
            f"from the audience file (e.g. {i_user[unknown].iloc[0]!r}); they were left out"
        )
    if outside.any():
        messages.append(
            f"{int(outside.sum())} impressions went to users not eligible for that ad; they "
            "were left out"
        )
    counts = np.bincount(pos[eligible], minlength=len(el_key)).astype(np.int64)
    return Delivery(
        attributes=attributes,
        ads=ads,
        eligible_ad=el_ad,
        eligible_user=el_user,
        impressions=counts,
        per_ad_audience=per_ad,
        inputs=[_input("impressions", impressions), _input("audience", audience)],
        data_quality=quality,
        messages=messages,
    )


#: What the audit reports per group of one ad (or all ads pooled). Being shown the ad is the
#: favourable outcome, so higher delivery and reach rates are better.
PER_AD_TABLE = GroupTable(
    published=AD_METRICS,
    summaries=(
        CrossGroup("delivery_impact_ratio", ("delivery_rate",), min_over_max, exact=True),
        CrossGroup("reach_impact_ratio", ("reach_rate",), min_over_max, exact=True),
    ),
    verdicts=(
        Verdict("four_fifths", "impact_ratio", "four_fifths"),
        Verdict("skew", "skew_ratio", "band"),
    ),
)
#: The lowest per-ad delivery impact ratio of each attribute, beside the pooled summaries.
WORST_AD_SUMMARY = "worst_ad_delivery_impact_ratio"

#: All ads pooled: also compared with the reference group.
POOLED_TABLE = GroupTable(
    published=PER_AD_TABLE.published,
    compared=(Compared("delivery_rate", "higher"), Compared("reach_rate", "higher")),
    summaries=PER_AD_TABLE.summaries,
    verdicts=PER_AD_TABLE.verdicts,
)


def _rates(s: NDArray[Any], sufficient: NDArray[np.bool_]) -> dict[str, NDArray[Any]]:
    """The AD_METRICS from group sums ``(..., G, 1 + 3)`` (column 0: users drawn); exact on an
    object array of Fractions (the four-fifths verdict is decided on that)."""
    e, c, r = s[..., 1], s[..., 2], s[..., 3]
    el_share = _ratio(e, e.sum(axis=-1, keepdims=True))
    de_share = _ratio(c, c.sum(axis=-1, keepdims=True))
    rate = _ratio(c, e)
    return {
        "eligible_share": el_share,
        "delivery_share": de_share,
        "skew_ratio": _ratio(de_share, el_share),
        "delivery_rate": rate,
        "reach_rate": _ratio(r, e),
        "impact_ratio": impact_ratio(rate, sufficient),
    }


def _block(
    values: NDArray[np.float64],
    cells: NDArray[np.int64],
    partition: Partition,
    options: AdsOptions,
    rng: np.random.Generator,
    *,
    table: GroupTable,
) -> dict[str, Any]:
    """Records for one ad (or all pooled) from per-user ``[eligible, impressions, reached]``."""
    sums = cell_sums(values, cells, partition.n_cells)  # users, eligible, impressions, reached
    resampled = resampled_unit_sums(values, cells, partition.n_cells, options.bootstrap, rng)
    boot = None if resampled is None else resampled.sums
    rules = ReportRules(options.reference, options.band, options.bootstrap.level)
    total = sums.sum(axis=0)
    records = GroupRecords()
    for cols in _slices(list(partition.frame.columns)):
        sl = partition.slice(cols)
        agg = sl.aggregate(sums)
        n = agg[:, 0]
        evidence = assess(
            sl,
            n,
            min_group_size=options.min_group_size,
            unit="eligible users",
            rules=((EvidenceRule("eligible users", options.min_users, "--min-users"), n),),
        )
        records.extend(
            slice_records(
                table,
                rules,
                evidence,
                _rates(agg, evidence.sufficient),
                None if boot is None else _rates(sl.aggregate(boot), evidence.sufficient),
                {
                    "n": n,
                    "positives": agg[:, 3],
                    "negatives": agg[:, 1] - agg[:, 3],
                    "impressions": agg[:, 2],
                },
                None
                if (whole := as_fractions(agg)) is None
                else _rates(whole, evidence.sufficient),
            )
        )
    return {
        "n": int(total[0]),
        "eligible": int(total[1]),
        "impressions": int(total[2]),
        "reached": int(total[3]),
        **records.as_dict(),
    }


def ads_audit(delivery: Delivery, options: AdsOptions | None = None) -> dict[str, Any]:
    """Audit ad delivery against the eligible audience.

    Parameters
    ----------
    delivery
        From :func:`load_delivery`.
    options
        Reference, evidence and suppression rules, intervals.

    Returns
    -------
    dict
        The result document (``kind`` ``ads``): ``groups``, ``disparities`` and ``summary``
        pool all ads (units: users; ``eligible`` = eligible (ad, user) pairs); ``ads`` holds
        the same records per ad. In group records ``n`` = eligible users, ``positives`` =
        users reached, ``negatives`` = eligible users not reached.
    """
    options = options or AdsOptions()
    rng = np.random.default_rng(options.bootstrap.seed)
    partition = Partition(delivery.attributes)
    cells = partition.row_cell
    n_users = len(delivery.attributes)
    reached = (delivery.impressions > 0).astype(np.float64)

    pooled_vals = np.column_stack(
        [
            np.bincount(delivery.eligible_user, minlength=n_users),
            np.bincount(delivery.eligible_user, weights=delivery.impressions, minlength=n_users),
            np.bincount(delivery.eligible_user, weights=reached, minlength=n_users),
        ]
    ).astype(np.float64)
    in_audience = pooled_vals[:, 0] > 0
    pooled = _block(
        pooled_vals[in_audience], cells[in_audience], partition, options, rng, table=POOLED_TABLE
    )

    per_ad = []
    bounds = np.searchsorted(delivery.eligible_ad, np.arange(len(delivery.ads) + 1))
    worst: dict[str, dict[str, Any]] = {}
    for a, ad in enumerate(delivery.ads):
        lo, hi = bounds[a], bounds[a + 1]
        users = delivery.eligible_user[lo:hi]
        vals = np.column_stack(
            [np.ones(hi - lo), delivery.impressions[lo:hi], reached[lo:hi]]
        ).astype(np.float64)
        block = _block(vals, cells[users], partition, options, rng, table=PER_AD_TABLE)
        per_ad.append(
            {
                "ad": str(ad),
                "eligible": block["eligible"],
                "impressions": block["impressions"],
                "reached": block["reached"],
                "groups": block["groups"],
                "suppressed_groups": block["suppressed_groups"],
                "summary": block["summary"],
            }
        )
        for rec in block["summary"]:
            if rec["metric"] != "delivery_impact_ratio" or rec["value"] is None:
                continue
            name = (
                "|".join(rec["attribute"])
                if isinstance(rec["attribute"], list)
                else rec["attribute"]
            )
            if name not in worst or rec["value"] < worst[name]["value"]:
                worst[name] = {**rec, "metric": WORST_AD_SUMMARY, "ad": str(ad)}

    bs = options.bootstrap
    reference = options.reference if isinstance(options.reference, str) else dict(options.reference)
    columns = [str(c) for c in delivery.attributes.columns]
    doc: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "kind": "ads",
        "settings": {
            "reference": reference,
            "min_users": options.min_users,
            "min_positives": 0,
            "min_negatives": 0,
            "min_group_size": options.min_group_size,
            "band": list(options.band),
            "ci": {
                "method": "percentile bootstrap; eligible users resampled with replacement, "
                "drawn as multinomial counts over distinct (group, per-user counts) rows",
                "resamples": bs.resamples,
                "level": bs.level,
                "seed": bs.seed,
            },
            "attributes": columns,
            "slices": [list(s) for s in _slices(columns)],
            "eligibility": "per-ad rows of the audience file"
            if delivery.per_ad_audience
            else "every audience user is eligible for every ad",
            "evidence_rule": f"a group needs >= {options.min_users} eligible users",
            "favourable_outcome": "being shown the ad (delivery rate = impressions per eligible "
            "user)",
        },
        "overall": {
            "n": pooled["n"],
            "eligible_pairs": pooled["eligible"],
            "impressions": pooled["impressions"],
            "reached_pairs": pooled["reached"],
            "metrics": {
                "delivery_rate": {
                    "value": _ratio(pooled["impressions"], pooled["eligible"]).item(),
                    "ci_low": None,
                    "ci_high": None,
                },
            },
        },
        "groups": pooled["groups"],
        "suppressed_groups": pooled["suppressed_groups"],
        "disparities": pooled["disparities"],
        "summary": pooled["summary"] + list(worst.values()),
        "ads": per_ad,
        "data_quality": {**delivery.data_quality, "messages": list(delivery.messages)},
        "metric_definitions": METRIC_DEFINITIONS,
    }
    doc["provenance"] = provenance(
        inputs=delivery.inputs, model={"kind": "impressions_log"}, seed=bs.seed
    )
    return doc
