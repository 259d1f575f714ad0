"""Disparities between groups: one definition each, over arrays of group rates.

All functions take group rates shaped ``(..., groups)`` — one slice's groups on the last axis,
optionally a stack of bootstrap resamples in front — and return one value per leading index, so
the point estimate and every resample go through the same code. They use only comparisons and
arithmetic, so the same definitions also evaluate exactly on object arrays of
:class:`fractions.Fraction` (the group report's exact point values).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "FOUR_FIFTHS",
    "SUMMARIES",
    "Summary",
    "as_decimal",
    "four_fifths_verdict",
    "impact_ratio",
    "min_over_max",
    "ratio_band_verdict",
    "spread",
]

Array = NDArray[np.float64]


def spread(x: Array) -> Array:
    """``max_g x_g - min_g x_g`` over the last axis, ignoring undefined (NaN) groups."""
    with np.errstate(all="ignore"):
        return np.nanmax(x, axis=-1) - np.nanmin(x, axis=-1)


def min_over_max(x: Array) -> Array:
    """``min_g x_g / max_g x_g`` over the last axis, ignoring NaN; NaN when the maximum is 0."""
    with np.errstate(all="ignore"):
        hi = np.nanmax(x, axis=-1)
        return np.where(hi > 0, np.nanmin(x, axis=-1) / np.where(hi > 0, hi, 1.0), np.nan)


@dataclass(frozen=True)
class Summary:
    """A disparity across all groups of one slice.

    Attributes
    ----------
    name
        Key used in result documents and policies.
    rates
        The rates (see :data:`audit.metrics.RATES`) it reads.
    compute
        Function of those rates, each shaped ``(..., groups)``.
    fairlearn
        Equivalent fairlearn function, the oracle in tests.
    definition
        Formula, meaning and source.
    """

    name: str
    rates: tuple[str, ...]
    compute: Callable[..., Array]
    fairlearn: str
    definition: str


def _eod(tpr: Array, fpr: Array) -> Array:
    return np.fmax(spread(tpr), spread(fpr))


def _eor(tpr: Array, fpr: Array) -> Array:
    return np.fmin(min_over_max(tpr), min_over_max(fpr))


SUMMARIES: dict[str, Summary] = {
    s.name: s
    for s in (
        Summary(
            "demographic_parity_difference",
            ("selection_rate",),
            spread,
            "demographic_parity_difference",
            "max_g SR_g - min_g SR_g. Statistical parity (Dwork et al. 2012, 'Fairness through "
            "awareness'); fairlearn demographic_parity_difference.",
        ),
        Summary(
            "demographic_parity_ratio",
            ("selection_rate",),
            min_over_max,
            "demographic_parity_ratio",
            "min_g SR_g / max_g SR_g over the positive (selected) decision; fairlearn "
            "demographic_parity_ratio.",
        ),
        Summary(
            "four_fifths_impact_ratio",
            ("favourable_rate",),
            min_over_max,
            "demographic_parity_ratio",
            "min_g F_g / max_g F_g where F is the rate of the favourable outcome (1 - SR when "
            "a positive decision is adverse): the four-fifths rule; below 0.8 is evidence of "
            "adverse impact under the US Uniform Guidelines, 29 CFR 1607.4(D).",
        ),
        Summary(
            "equalized_odds_difference",
            ("tpr", "fpr"),
            _eod,
            "equalized_odds_difference",
            "max(max_g TPR_g - min_g TPR_g, max_g FPR_g - min_g FPR_g). Equalized odds "
            "(Hardt, Price & Srebro 2016); fairlearn equalized_odds_difference.",
        ),
        Summary(
            "equalized_odds_ratio",
            ("tpr", "fpr"),
            _eor,
            "equalized_odds_ratio",
            "min(min_g TPR_g / max_g TPR_g, min_g FPR_g / max_g FPR_g); fairlearn "
            "equalized_odds_ratio.",
        ),
        Summary(
            "equal_opportunity_difference",
            ("tpr",),
            spread,
            "equal_opportunity_difference",
            "max_g TPR_g - min_g TPR_g. Equality of opportunity (Hardt, Price & Srebro 2016).",
        ),
        Summary(
            "fpr_difference",
            ("fpr",),
            spread,
            "false_positive_rate_difference",
            "max_g FPR_g - min_g FPR_g: the spread in how often acceptable content is wrongly "
            "flagged (people wrongly penalised).",
        ),
        Summary(
            "fnr_difference",
            ("fnr",),
            spread,
            "false_negative_rate_difference",
            "max_g FNR_g - min_g FNR_g: the spread in how often violating content is missed.",
        ),
    )
}

#: Impact-ratio threshold of the four-fifths rule, 29 CFR 1607.4(D): exactly 4/5 (compare
#: with it, not with the float 0.8, whose exact value is a little above 4/5).
FOUR_FIFTHS = Fraction(4, 5)


def as_decimal(x: float | Fraction) -> Fraction:
    """A threshold as the decimal the user wrote: ``0.8`` → 4/5 (``Fraction(0.8)`` would be the
    binary float's value, 3602879701896397/4503599627370496)."""
    return x if isinstance(x, Fraction) else Fraction(repr(float(x)))


def impact_ratio(favourable: NDArray[Any], eligible: NDArray[np.bool_]) -> NDArray[Any]:
    """Four-fifths impact ratio: each group's rate of the favourable outcome over the highest
    such rate among ``eligible`` groups (29 CFR 1607.4(D)).

    ``favourable`` is shaped ``(..., groups)``; the result has the same shape, NaN everywhere
    when no group is eligible or the highest rate is 0. An object array of
    :class:`~fractions.Fraction` gives exact ratios.
    """
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a resample where no group is defined
        top = np.nanmax(np.where(eligible, favourable, np.nan), axis=-1, keepdims=True)
        return np.where(top > 0, favourable / np.where(top > 0, top, 1.0), np.nan)


def four_fifths_verdict(impact_ratio: float | Fraction | None, sufficient: bool) -> str:
    """``pass``/``fail`` of the four-fifths rule for one group (29 CFR 1607.4(D)).

    The impact ratio is the group's rate of the favourable outcome divided by the highest such
    rate among groups with sufficient evidence. The rule counts only a ratio *less than* 4/5
    as evidence of adverse impact, so a ratio of exactly 4/5 passes; given the exact ratio of
    counts (a :class:`~fractions.Fraction`, as the audits pass it), 48/80 against 60/80 passes
    and 47/80 fails, whatever their floats round to.
    """
    if not sufficient or impact_ratio is None:
        return "insufficient_evidence"
    return "pass" if impact_ratio >= FOUR_FIFTHS else "fail"


def ratio_band_verdict(
    ratio: float | Fraction | None, band: tuple[float, float], sufficient: bool
) -> str:
    """Whether a group-to-reference ratio lies in the fairness band.

    The default band ``[0.8, 1.25]`` is Aequitas' ``tau = 0.8`` rule (Saleiro et al. 2018,
    "Aequitas: A Bias and Fairness Audit Toolkit"): a disparity is fair when
    ``tau <= ratio <= 1 / tau``. An exact ratio (a :class:`~fractions.Fraction`) is compared
    with the band's edges as the decimals they were written as, so a ratio of exactly 4/5 or
    5/4 is within the band.
    """
    if not sufficient:
        return "insufficient_evidence"
    if ratio is None:
        return "undefined"
    if isinstance(ratio, Fraction):
        lo, hi = as_decimal(band[0]), as_decimal(band[1])
        return "within_band" if lo <= ratio <= hi else "outside_band"
    return "within_band" if band[0] <= ratio <= band[1] else "outside_band"
