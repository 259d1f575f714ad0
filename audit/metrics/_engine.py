"""The metric engine: per-group rates, disparities, intervals and verdicts for one decision."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from audit.exceptions import ConfigError
from audit.metrics._bootstrap import (
    BootstrapSettings,
    Interval,
    multinomial_resamples,
    percentile_interval,
)
from audit.metrics._disparity import (
    SUMMARIES,
    four_fifths_verdict,
    ratio_band_verdict,
)
from audit.metrics._groups import GroupKey, Partition, Slice
from audit.metrics._rates import FN, FP, RATES, TN, TP

__all__ = ["EngineSettings", "GroupReport", "analyse_groups", "group_label"]

Reference = Literal["largest", "best"] | Mapping[str, str]


@dataclass(frozen=True)
class EngineSettings:
    """Settings of one engine run.

    Attributes
    ----------
    reference
        Reference group for disparities: ``"largest"`` (default), ``"best"`` (the group with
        the best value of each metric), or a
        mapping ``{attribute: group}`` naming it.
    min_positives, min_negatives
        The minimum-count rule: a group with fewer label positives or negatives than these
        gets verdict ``insufficient_evidence`` — never a number that reads as a pass. It is
        left out of cross-group summaries and cannot be the reference.
    min_group_size
        Groups with fewer rows are suppressed (privacy): no metrics are published for them,
        and the result lists them as suppressed.
    band
        Fairness band for group-to-reference ratios (Aequitas' tau rule).
    positive_outcome
        Whether a positive decision harms the person (``adverse``: content removed, account
        flagged, high risk — the default for moderation) or benefits them (``favourable``:
        ad shown, loan approved). The four-fifths impact ratio compares the rates of the
        *favourable* outcome: ``1 - selection rate`` when positives are adverse.
    bootstrap
        How intervals are computed.
    """

    reference: Reference = "largest"
    min_positives: int = 30
    min_negatives: int = 30
    min_group_size: int = 10
    band: tuple[float, float] = (0.8, 1.25)
    positive_outcome: Literal["adverse", "favourable"] = "adverse"
    bootstrap: BootstrapSettings = field(default_factory=BootstrapSettings)

    def describe(self) -> dict[str, Any]:
        """The settings as written in the result document."""
        ref = self.reference if isinstance(self.reference, str) else dict(self.reference)
        return {
            "reference": ref,
            "min_positives": self.min_positives,
            "min_negatives": self.min_negatives,
            "min_group_size": self.min_group_size,
            "band": list(self.band),
            "positive_outcome": self.positive_outcome,
            "ci": {
                "method": self.bootstrap.method,
                "resamples": self.bootstrap.resamples,
                "level": self.bootstrap.level,
                "seed": self.bootstrap.seed,
            },
        }


@dataclass
class GroupReport:
    """Sections of the result document produced by :func:`analyse_groups`."""

    overall: dict[str, Any]
    groups: list[dict[str, Any]]
    suppressed_groups: list[dict[str, Any]]
    disparities: list[dict[str, Any]]
    summary: list[dict[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        return {
            "overall": self.overall,
            "groups": self.groups,
            "suppressed_groups": self.suppressed_groups,
            "disparities": self.disparities,
            "summary": self.summary,
        }


def group_label(group: GroupKey) -> str | list[str]:
    """A group key as written in JSON: a string, or a list for intersections."""
    return list(group) if isinstance(group, tuple) else group


def _metric_block(
    counts: NDArray[np.float64], boot: NDArray[np.float64] | None, level: float
) -> dict[str, dict[str, float | None]]:
    out = {}
    for name, rate in RATES.items():
        ci = percentile_interval(rate(counts), None if boot is None else rate(boot), level)
        assert isinstance(ci, Interval)
        out[name] = ci.as_dict()
    return out


def _pick_reference(
    sl: Slice,
    rates: Mapping[str, NDArray[np.float64]],
    n: NDArray[np.float64],
    eligible: NDArray[np.bool_],
    settings: EngineSettings,
    metric: str,
) -> int | None:
    """Index of the reference group of ``sl`` for ``metric``; None if no group is eligible."""
    if not eligible.any():
        return None
    ref = settings.reference
    if isinstance(ref, Mapping):
        wanted = tuple(ref[c] for c in sl.columns if c in ref)
        if len(wanted) == len(sl.columns):
            key: GroupKey = wanted[0] if len(wanted) == 1 else wanted
            if key not in sl.groups:
                raise ConfigError(
                    f"reference group {key!r} for {sl.name!r} does not occur in the data; "
                    f"groups are: {', '.join(map(str, sl.groups))}"
                )
            return sl.groups.index(key)
        ref = "largest"
    if ref == "best":
        better = RATES[metric].better
        values = np.where(eligible, rates[metric], np.nan)
        if np.isnan(values).all():
            return None
        if better == "lower":
            return int(np.nanargmin(values))
        return int(np.nanargmax(values))
    return int(np.argmax(np.where(eligible, n, -1)))


def favourable_rate(selection_rate: NDArray[np.float64], adverse: bool) -> NDArray[np.float64]:
    """Rate of the favourable outcome: ``1 - SR`` when a positive decision is adverse."""
    return 1.0 - selection_rate if adverse else selection_rate


def _impact_ratio(
    favourable: NDArray[np.float64], eligible: NDArray[np.bool_]
) -> NDArray[np.float64]:
    """Four-fifths impact ratio: each group's favourable-outcome rate over the highest among
    ``eligible`` groups (29 CFR 1607.4(D))."""
    with np.errstate(all="ignore"):
        top = np.nanmax(np.where(eligible, favourable, np.nan), axis=-1, keepdims=True)
        return np.where(top > 0, favourable / np.where(top > 0, top, 1.0), np.nan)


def analyse_groups(
    y_true: NDArray[np.integer],
    y_pred: NDArray[np.integer],
    attributes: pd.DataFrame,
    slices: Sequence[tuple[str, ...]],
    settings: EngineSettings,
    rng: np.random.Generator | None = None,
) -> GroupReport:
    """Per-group confusion rates, disparities, intervals and verdicts.

    Parameters
    ----------
    y_true, y_pred
        Ground-truth labels and the model's decisions, 0/1.
    attributes
        One column per sensitive attribute (string values), aligned with the labels.
    slices
        The slices to report: tuples of attribute columns, e.g. ``[("race",), ("sex",),
        ("race", "sex")]``.
    settings
        Reference group, minimum-count rule, suppression size, bootstrap.
    rng
        Random generator; by default ``numpy.random.default_rng(settings.bootstrap.seed)``.

    Returns
    -------
    GroupReport
        ``overall``, ``groups`` (one record per reported group, suppressed ones excluded),
        ``suppressed_groups``, ``disparities`` (each group against the reference, per metric,
        difference and ratio) and ``summary`` (cross-group disparities per slice).
    """
    rng = rng if rng is not None else np.random.default_rng(settings.bootstrap.seed)
    level = settings.bootstrap.level
    partition = Partition(attributes)
    cell_counts = partition.confusion_counts(y_true, y_pred)
    boot_cells = (
        multinomial_resamples(cell_counts, settings.bootstrap, rng).astype(np.float64)
        if settings.bootstrap.resamples
        else None
    )

    total = cell_counts.sum(axis=0).astype(np.float64)
    total_boot = None if boot_cells is None else boot_cells.sum(axis=1)
    overall = {
        "n": int(total.sum()),
        "positives": int(total[TP] + total[FN]),
        "negatives": int(total[FP] + total[TN]),
        "metrics": _metric_block(total, total_boot, level),
    }

    groups: list[dict[str, Any]] = []
    suppressed: list[dict[str, Any]] = []
    disparities: list[dict[str, Any]] = []
    summary: list[dict[str, Any]] = []

    for sl in (partition.slice(tuple(cols)) for cols in slices):
        counts = sl.aggregate(cell_counts)  # (G, 4)
        boot = None if boot_cells is None else sl.aggregate(boot_cells)  # (B, G, 4)
        n = counts.sum(axis=-1)
        pos = counts[:, TP] + counts[:, FN]
        neg = counts[:, FP] + counts[:, TN]
        shown = n >= settings.min_group_size
        sufficient = shown & (pos >= settings.min_positives) & (neg >= settings.min_negatives)
        rates = {name: r(counts) for name, r in RATES.items()}
        boot_rates = None if boot is None else {name: r(boot) for name, r in RATES.items()}

        adverse = settings.positive_outcome == "adverse"
        rates["favourable_rate"] = favourable_rate(rates["selection_rate"], adverse)
        if boot_rates is not None:
            boot_rates["favourable_rate"] = favourable_rate(boot_rates["selection_rate"], adverse)
        fav = rates["favourable_rate"]
        impact_ci = percentile_interval(
            _impact_ratio(fav, sufficient) if sufficient.any() else np.full(len(fav), np.nan),
            None
            if boot_rates is None or not sufficient.any()
            else _impact_ratio(boot_rates["favourable_rate"], sufficient),
            level,
        )
        assert isinstance(impact_ci, list)

        for g, key in enumerate(sl.groups):
            if not shown[g]:
                suppressed.append(
                    {
                        "attribute": sl.attribute,
                        "group": group_label(key),
                        "reason": f"fewer than {settings.min_group_size} rows",
                    }
                )
                continue
            groups.append(
                {
                    "attribute": sl.attribute,
                    "group": group_label(key),
                    "n": int(n[g]),
                    "positives": int(pos[g]),
                    "negatives": int(neg[g]),
                    "metrics": _metric_block(
                        counts[g], None if boot is None else boot[:, g], level
                    ),
                    "impact_ratio": impact_ci[g].as_dict(),
                    "verdicts": {
                        "evidence": "sufficient" if sufficient[g] else "insufficient_evidence",
                        "four_fifths": four_fifths_verdict(impact_ci[g].value, bool(sufficient[g])),
                    },
                }
            )

        for metric in RATES:
            ref = _pick_reference(sl, rates, n, sufficient, settings, metric)
            if ref is None:
                continue
            for g, key in enumerate(sl.groups):
                if g == ref or not shown[g]:
                    continue
                with np.errstate(all="ignore"):
                    diff = rates[metric][g] - rates[metric][ref]
                    ratio = (
                        rates[metric][g] / rates[metric][ref] if rates[metric][ref] > 0 else np.nan
                    )
                    b_diff: NDArray[np.float64] | None = None
                    b_ratio: NDArray[np.float64] | None = None
                    if boot_rates is not None:
                        b_g, b_r = boot_rates[metric][:, g], boot_rates[metric][:, ref]
                        b_diff = b_g - b_r
                        b_ratio = np.where(b_r > 0, b_g / np.where(b_r > 0, b_r, 1.0), np.nan)
                d_ci = percentile_interval(diff, b_diff, level)
                r_ci = percentile_interval(ratio, b_ratio, level)
                assert isinstance(d_ci, Interval) and isinstance(r_ci, Interval)
                disparities.append(
                    {
                        "attribute": sl.attribute,
                        "group": group_label(key),
                        "reference": group_label(sl.groups[ref]),
                        "metric": metric,
                        "difference": d_ci.as_dict(),
                        "ratio": r_ci.as_dict(),
                        "verdict": ratio_band_verdict(
                            r_ci.value, settings.band, bool(sufficient[g] and sufficient[ref])
                        ),
                    }
                )

        included = [group_label(k) for k, ok in zip(sl.groups, sufficient, strict=True) if ok]
        excluded = [
            group_label(k)
            for k, ok, s in zip(sl.groups, sufficient, shown, strict=True)
            if s and not ok
        ]
        for name, spec in SUMMARIES.items():
            if len(included) < 2:
                value: Interval = Interval(None, None, None)
            else:
                args = [rates[r][sufficient] for r in spec.rates]
                b_args = (
                    None
                    if boot_rates is None
                    else [boot_rates[r][:, sufficient] for r in spec.rates]
                )
                ci = percentile_interval(
                    spec.compute(*args), None if b_args is None else spec.compute(*b_args), level
                )
                assert isinstance(ci, Interval)
                value = ci
            summary.append(
                {
                    "attribute": sl.attribute,
                    "metric": name,
                    **value.as_dict(),
                    "groups_included": included,
                    "groups_excluded_insufficient": excluded,
                }
            )

    return GroupReport(overall, groups, suppressed, disparities, summary)
