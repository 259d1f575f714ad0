"""Confusion-matrix rates: the one place each of them is defined.

Every rate is computed from confusion counts laid out on the last axis as
``[tp, fp, fn, tn]``, so the same definition serves a single group, all groups at once and a
stack of bootstrap resamples (``counts.shape == (..., 4)``). A rate whose denominator is zero is
undefined and returned as NaN; it is never silently reported as 0.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

__all__ = ["OUTCOMES", "RATES", "Rate", "rate_values"]

#: Order of the confusion counts on the last axis.
OUTCOMES: tuple[str, ...] = ("tp", "fp", "fn", "tn")
TP, FP, FN, TN = range(4)

Direction = Literal["higher", "lower", "neutral"]


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
        "best" reference group); ``neutral`` when neither is (selection rate).
    fairlearn
        Name of the equivalent metric in :mod:`fairlearn.metrics` (or scikit-learn), which the
        tests use as the oracle.
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


_ALL = (TP, FP, FN, TN)

#: The rate table. Sources: Fawcett (2006) "An introduction to ROC analysis", Pattern
#: Recognition Letters 27(8); Hardt, Price & Srebro (2016) "Equality of Opportunity in
#: Supervised Learning" for TPR/FPR parity; 29 CFR 1607.4(D) for selection rate.
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
            "neutral",
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
    )
}


def rate_values(
    counts: NDArray[np.floating] | NDArray[np.integer],
) -> dict[str, NDArray[np.float64]]:
    """Every rate of :data:`RATES` for counts shaped ``(..., 4)``."""
    return {name: rate(counts) for name, rate in RATES.items()}


RateFunction = Callable[[NDArray[np.float64]], NDArray[np.float64]]
