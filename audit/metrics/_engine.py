"""The metric engine: per-group rates, disparities, intervals and verdicts for one decision."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from audit.metrics._bootstrap import BootstrapSettings, estimate, multinomial_resamples
from audit.metrics._disparity import SUMMARIES, impact_ratio
from audit.metrics._group_report import (
    Compared,
    CrossGroup,
    Evidence,
    EvidenceRule,
    GroupRecords,
    GroupTable,
    Reference,
    ReportRules,
    Verdict,
    assess,
    slice_records,
)
from audit.metrics._groups import Partition
from audit.metrics._rates import (
    FN,
    FP,
    RATES,
    SHARES,
    TN,
    TP,
    PositiveOutcome,
    Rate,
    Share,
    direction,
    exact_rate_values,
    rate_values,
    share_values,
)

__all__ = [
    "EngineSettings",
    "GroupReport",
    "analyse_groups",
    "favourable_rate",
    "group_table",
    "label_rules",
]


@dataclass(frozen=True)
class EngineSettings:
    """Settings of one engine run.

    Attributes
    ----------
    reference
        Reference group for disparities: ``"largest"`` (default), ``"best"`` (the group with
        the best value of each metric for the people scored — see
        :func:`audit.metrics._rates.direction`: fewer errors, more correct decisions, and for
        the selection rate and PPR lower when ``positive_outcome`` is adverse, higher when it is
        favourable), or a mapping ``{attribute: group}`` naming it. Only a
        group with sufficient evidence is a reference; naming a suppressed or insufficient
        group is refused (:class:`~audit.exceptions.ConfigError`).
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
    positive_outcome: PositiveOutcome = "adverse"
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


def label_rules(
    settings: EngineSettings, positives: ArrayLike, negatives: ArrayLike
) -> list[tuple[EvidenceRule, ArrayLike]]:
    """The minimum-count rule on labels, with each group's label positives and negatives."""
    return [
        (EvidenceRule("label positives", settings.min_positives, "--min-positives"), positives),
        (EvidenceRule("label negatives", settings.min_negatives, "--min-negatives"), negatives),
    ]


def favourable_rate(selection_rate: NDArray[Any], adverse: bool) -> NDArray[Any]:
    """Rate of the favourable outcome: ``1 - SR`` when a positive decision is adverse."""
    # the integer 1 keeps exact (Fraction) rates exact
    return 1 - selection_rate if adverse else selection_rate


@functools.cache
def group_table(positive_outcome: PositiveOutcome) -> GroupTable:
    """What the classification and moderation audits report per group: every rate of
    :data:`RATES` and share of :data:`SHARES`, the impact ratio beside them, each compared with
    the reference, and the :data:`SUMMARIES`. ``best`` follows each metric's direction, which
    for the selection rate and PPR depends on ``positive_outcome``."""
    metrics: dict[str, Rate | Share] = {**RATES, **SHARES}
    return GroupTable(
        published=tuple(metrics),
        beside=("impact_ratio",),
        compared=tuple(
            Compared(name, direction(m.better, positive_outcome)) for name, m in metrics.items()
        ),
        summaries=tuple(
            CrossGroup(s.name, s.rates, s.compute, exact=True) for s in SUMMARIES.values()
        ),
        verdicts=(Verdict("four_fifths", "impact_ratio", "four_fifths"),),
    )


#: The table of the default, adverse positive outcome. The metric names are the same for both
#: outcomes (only which way ``best`` reads the selection rate and PPR differs), so the registry's
#: policy metrics read them here.
TABLE = group_table("adverse")


def _group_rates(
    counts: NDArray[np.float64], evidence: Evidence, adverse: bool
) -> dict[str, NDArray[np.float64]]:
    """Every rate and share, the favourable-outcome rate and the impact ratio from
    ``(..., G, 4)``."""
    out = {**rate_values(counts), **share_values(counts)}
    out["favourable_rate"] = favourable_rate(out["selection_rate"], adverse)
    out["impact_ratio"] = impact_ratio(out["favourable_rate"], evidence.sufficient)
    return out


def _exact_group_rates(
    counts: NDArray[np.float64], evidence: Evidence, adverse: bool
) -> dict[str, NDArray[np.object_]]:
    """:func:`_group_rates` of one slice's counts ``(G, 4)`` in exact arithmetic: the same
    definitions evaluated on :class:`fractions.Fraction` (NaN where undefined)."""
    out: dict[str, NDArray[np.object_]] = {}
    for name, values in exact_rate_values(counts).items():
        arr = np.empty(len(values), dtype=object)
        arr[:] = [np.nan if v is None else v for v in values]
        out[name] = arr
    out["favourable_rate"] = favourable_rate(out["selection_rate"], adverse)
    out["impact_ratio"] = impact_ratio(out["favourable_rate"], evidence.sufficient)
    return out


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
        difference and ratio) and ``summary`` (cross-group disparities per slice), built by
        :func:`audit.metrics._group_report.slice_records`.

    Raises
    ------
    ConfigError
        The named reference group does not occur, is suppressed or lacks evidence.
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
        "metrics": {
            name: estimate(rate(total), None if total_boot is None else rate(total_boot), level)
            for name, rate in RATES.items()
        },
    }

    rules = ReportRules(settings.reference, settings.band, level)
    adverse = settings.positive_outcome == "adverse"
    table = group_table(settings.positive_outcome)
    records = GroupRecords()
    for sl in (partition.slice(tuple(cols)) for cols in slices):
        counts = sl.aggregate(cell_counts)  # (G, 4)
        boot = None if boot_cells is None else sl.aggregate(boot_cells)  # (B, G, 4)
        n = counts.sum(axis=-1)
        pos = counts[:, TP] + counts[:, FN]
        neg = counts[:, FP] + counts[:, TN]
        evidence = assess(
            sl,
            n,
            min_group_size=settings.min_group_size,
            unit="rows",
            rules=label_rules(settings, pos, neg),
        )
        records.extend(
            slice_records(
                table,
                rules,
                evidence,
                _group_rates(counts, evidence, adverse),
                None if boot is None else _group_rates(boot, evidence, adverse),
                {"n": n, "positives": pos, "negatives": neg},
                _exact_group_rates(counts, evidence, adverse),
            )
        )

    return GroupReport(overall, **records.as_dict())
