"""Confusion-matrix rates: the one place each of them is defined.

Every rate is computed from confusion counts laid out on the last axis as
``[tp, fp, fn, tn]``, so the same definition serves a single group, all groups at once and a
stack of bootstrap resamples (``counts.shape == (..., 4)``). A rate whose denominator is zero is
undefined and returned as NaN; it is never silently reported as 0.

A :class:`Share` is the other kind of count ratio: a group's share of a count summed over every
group of its slice (Aequitas' predicted positive ratio, ``ppr``), computed from counts shaped
``(..., groups, 4)``.

Each rate and share also evaluates exactly (:meth:`Rate.exact`, :meth:`Share.exact`): the same
cells as a :class:`fractions.Fraction` of integer counts, so a verdict at a threshold (the
four-fifths rule's 4/5, a band edge) is decided on the true ratio rather than on its rounded
float (``(48/80) / (60/80)`` is 4/5, which floats compute as 0.7999999999999999).

Direction
---------
``better`` says which way a metric is better for the people scored; ``reference: best`` picks
the reference group by it (:func:`direction`). Errors and correct decisions have a fixed
direction whatever the decision means: a wrongly flagged post harms its author, a missed
violation harms its target, so fewer errors (FPR, FNR, FDR, FOR) and more correct decisions
(TPR, TNR, precision, NPV, accuracy) are better either way. How often a group *receives* the
positive decision (selection rate, PPR) has no fixed direction: ``better="outcome"`` makes it
follow ``positive_outcome`` — lower is better when a positive decision is adverse (content
removed, high risk), higher when it is favourable (ad shown, loan approved).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "OUTCOMES",
    "RATES",
    "SHARES",
    "Direction",
    "Rate",
    "Share",
    "direction",
    "exact_rate_values",
    "rate_values",
    "share_values",
]

#: Order of the confusion counts on the last axis.
OUTCOMES: tuple[str, ...] = ("tp", "fp", "fn", "tn")
TP, FP, FN, TN = range(4)

#: Which way a metric is better for the people scored: ``outcome`` follows
#: ``positive_outcome`` (see the module docstring); ``neutral`` has no better side.
Direction = Literal["higher", "lower", "neutral", "outcome"]
#: A direction once ``outcome`` is resolved (what the group report takes).
Resolved = Literal["higher", "lower", "neutral"]
PositiveOutcome = Literal["adverse", "favourable"]


def direction(better: Direction, positive_outcome: PositiveOutcome) -> Resolved:
    """The direction ``reference: best`` follows: ``outcome`` resolved by ``positive_outcome``.

    >>> direction("outcome", "adverse"), direction("outcome", "favourable")
    ('lower', 'higher')
    >>> direction("lower", "favourable")
    'lower'
    """
    if better != "outcome":
        return better
    return "lower" if positive_outcome == "adverse" else "higher"


def _fraction(num: int, den: int) -> Fraction | None:
    return Fraction(num, den) if den > 0 else None


@dataclass(frozen=True)
class Rate:
    """A rate ``numerator / denominator`` over confusion counts.

    Attributes
    ----------
    name
        Key used in result documents and policies.
    title
        Human-readable name.
    numerator, denominator
        Indices into ``[tp, fp, fn, tn]`` that are summed.
    better
        Whether higher or lower values are better for the people scored (used to pick the
        "best" reference group); ``outcome`` when that depends on what a positive decision
        means (selection rate; see :func:`direction`).
    fairlearn
        Name of the equivalent metric in :mod:`fairlearn.metrics` (or scikit-learn), which the
        tests use as the oracle; empty when neither has one (the tests count by hand).
    definition
        Formula and meaning, shown in reports.
    """

    name: str
    title: str
    numerator: tuple[int, ...]
    denominator: tuple[int, ...]
    better: Direction
    fairlearn: str
    definition: str

    def __call__(self, counts: NDArray[np.floating] | NDArray[np.integer]) -> NDArray[np.float64]:
        c = np.asarray(counts, dtype=np.float64)
        num = c[..., list(self.numerator)].sum(axis=-1)
        den = c[..., list(self.denominator)].sum(axis=-1)
        with np.errstate(invalid="ignore", divide="ignore"):
            out = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
        return out

    def exact(self, counts: NDArray[np.floating] | NDArray[np.integer]) -> list[Fraction | None]:
        """The rate of each row of integer counts shaped ``(groups, 4)``, as exact fractions
        (``None`` where undefined)."""
        c = np.rint(np.asarray(counts, dtype=np.float64)).astype(np.int64).reshape(-1, 4)
        num = c[:, list(self.numerator)].sum(axis=-1)
        den = c[:, list(self.denominator)].sum(axis=-1)
        return [_fraction(int(a), int(b)) for a, b in zip(num, den, strict=True)]


_ALL = (TP, FP, FN, TN)

#: The rate table. Sources: Fawcett (2006) "An introduction to ROC analysis", Pattern
#: Recognition Letters 27(8); Hardt, Price & Srebro (2016) "Equality of Opportunity in
#: Supervised Learning" for TPR/FPR parity; 29 CFR 1607.4(D) for selection rate; Saleiro et al.
#: (2018) "Aequitas: A Bias and Fairness Audit Toolkit", arXiv:1811.05577, for FDR, FOR and NPV
#: (Aequitas' ``fdr``, ``for``, ``npv`` and their parities).
RATES: dict[str, Rate] = {
    r.name: r
    for r in (
        Rate(
            "tpr",
            "true positive rate",
            (TP,),
            (TP, FN),
            "higher",
            "true_positive_rate",
            "TP / (TP + FN): share of truly violating items the model flags (recall).",
        ),
        Rate(
            "fpr",
            "false positive rate",
            (FP,),
            (FP, TN),
            "lower",
            "false_positive_rate",
            "FP / (FP + TN): share of acceptable items wrongly flagged — people wrongly penalised.",
        ),
        Rate(
            "fnr",
            "false negative rate",
            (FN,),
            (FN, TP),
            "lower",
            "false_negative_rate",
            "FN / (FN + TP): share of truly violating items the model misses.",
        ),
        Rate(
            "tnr",
            "true negative rate",
            (TN,),
            (TN, FP),
            "higher",
            "true_negative_rate",
            "TN / (TN + FP): share of acceptable items correctly left alone (specificity).",
        ),
        Rate(
            "precision",
            "precision",
            (TP,),
            (TP, FP),
            "higher",
            "precision_score",
            "TP / (TP + FP): share of flagged items that truly violate.",
        ),
        Rate(
            "selection_rate",
            "selection rate",
            (TP, FP),
            _ALL,
            "outcome",
            "selection_rate",
            "(TP + FP) / n: share of items the model flags (predicted positive).",
        ),
        Rate(
            "accuracy",
            "accuracy",
            (TP, TN),
            _ALL,
            "higher",
            "accuracy_score",
            "(TP + TN) / n: share of items classified correctly.",
        ),
        Rate(
            "fdr",
            "false discovery rate",
            (FP,),
            (TP, FP),
            "lower",
            "",
            "FP / (TP + FP) = 1 - precision: share of flagged items that were acceptable — of "
            "the people penalised, how many were wrongly penalised (Aequitas fdr; FDR parity).",
        ),
        Rate(
            "for",
            "false omission rate",
            (FN,),
            (FN, TN),
            "lower",
            "",
            "FN / (FN + TN): share of items left alone that truly violate — of the people not "
            "flagged, how many should have been (Aequitas for; FOR parity).",
        ),
        Rate(
            "npv",
            "negative predictive value",
            (TN,),
            (FN, TN),
            "higher",
            "",
            "TN / (TN + FN) = 1 - FOR: share of items left alone that are truly acceptable "
            "(Aequitas npv).",
        ),
    )
}


@dataclass(frozen=True)
class Share:
    """A group's share of a count summed over all groups of its slice.

    ``cells`` (indices into ``[tp, fp, fn, tn]``) are summed per group and divided by their sum
    over every group of the slice — suppressed ones included, so the denominator is the count
    over all rows. Other attributes as for :class:`Rate`.
    """

    name: str
    title: str
    cells: tuple[int, ...]
    better: Direction
    fairlearn: str
    definition: str

    def __call__(self, counts: NDArray[np.floating] | NDArray[np.integer]) -> NDArray[np.float64]:
        """Shares for counts shaped ``(..., groups, 4)``; NaN when the slice total is 0."""
        c = np.asarray(counts, dtype=np.float64)
        part = c[..., list(self.cells)].sum(axis=-1)
        total = part.sum(axis=-1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(total > 0, part / np.where(total > 0, total, 1.0), np.nan)

    def exact(self, counts: NDArray[np.floating] | NDArray[np.integer]) -> list[Fraction | None]:
        """The shares of one slice's integer counts shaped ``(groups, 4)``, as fractions."""
        c = np.rint(np.asarray(counts, dtype=np.float64)).astype(np.int64).reshape(-1, 4)
        part = c[:, list(self.cells)].sum(axis=-1)
        total = int(part.sum())
        return [_fraction(int(p), total) for p in part]


#: Shares of a slice total. Source: Saleiro et al. (2018), arXiv:1811.05577 — Aequitas'
#: ``ppr = pp / k`` with ``k`` the predicted positives over all rows; its ratio to the
#: reference group is Aequitas' ``ppr_disparity`` ("statistical parity").
SHARES: dict[str, Share] = {
    s.name: s
    for s in (
        Share(
            "ppr",
            "predicted positive ratio",
            (TP, FP),
            "outcome",
            "",
            "(TP_g + FP_g) / sum over all groups of (TP + FP): the group's share of every item "
            "the model flags (Aequitas ppr; its ratio to the reference is statistical parity). "
            "Unlike the selection rate it also grows with the group's size.",
        ),
    )
}


def rate_values(
    counts: NDArray[np.floating] | NDArray[np.integer],
) -> dict[str, NDArray[np.float64]]:
    """Every rate of :data:`RATES` for counts shaped ``(..., 4)``."""
    return {name: rate(counts) for name, rate in RATES.items()}


def share_values(
    counts: NDArray[np.floating] | NDArray[np.integer],
) -> dict[str, NDArray[np.float64]]:
    """Every share of :data:`SHARES` for one slice's counts shaped ``(..., groups, 4)``."""
    return {name: share(counts) for name, share in SHARES.items()}


def exact_rate_values(
    counts: NDArray[np.floating] | NDArray[np.integer],
) -> dict[str, list[Fraction | None]]:
    """Every rate and share of one slice's integer counts ``(groups, 4)``, as exact fractions."""
    out = {name: rate.exact(counts) for name, rate in RATES.items()}
    out.update({name: share.exact(counts) for name, share in SHARES.items()})
    return out


RateFunction = Callable[[NDArray[np.float64]], NDArray[np.float64]]
