"""Multiplicity control for interval decisions: Holm (1979) or Bonferroni across a check.

A check decided on intervals judges each of its observations — every group, attribute and
result it reads — at the level of the audit's intervals. With many observations, some compliant
group's interval lies wholly past the threshold by chance alone (``decide_on: interval``: a false
FAIL), or some violating group's interval lies wholly within it by chance (``interval_strict``:
a false PASS). ``multiplicity: holm`` (or ``bonferroni``) controls that *family-wise* error rate
per check: the chance of even one such wrong decision among the check's observations is at most
the one-sided tail ``(1 - level) / 2`` of a single interval (2.5 % for the audits' 95 %
intervals), whatever the number of observations.

Each observation is a one-sided test: under ``interval``, of "it complies" (rejected = FAIL);
under ``interval_strict``, of "it violates" (rejected = PASS). Holm's step-down procedure
(Holm 1979, "A simple sequentially rejective multiple test procedure", Scandinavian Journal of
Statistics 6(2): 65-70) tests the observation with the smallest p-value at ``alpha / m``, the
next at ``alpha / (m - 1)``, ... and stops at the first it cannot reject; Bonferroni tests every
one at ``alpha / m``. Holm rejects at least as much as Bonferroni and controls the same error.

What the result documents hold is each observation's percentile-bootstrap interval, not its
resamples, so the p-values and the widened intervals are a **normal approximation fitted to that
interval on the side facing the threshold**: the half-width on that side divided by the normal
quantile of the interval's level is taken as the standard error. With one observation the
decision is exactly the unadjusted one; with ``m`` of them an interval is widened on each side by
``z(alpha / k) / z(alpha)`` for the ``k`` it is tested at. The approximation is good for rates
and ratios of a few hundred rows or more and rough for skewed, small-sample intervals — which the
audit's minimum-count rule already marks INSUFFICIENT, and which this never judges.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

from audit.policy import Check

__all__ = ["Adjusted", "adjust", "one_sided_p"]

_NORMAL = NormalDist()


@dataclass(frozen=True)
class Adjusted:
    """How one observation was judged within its check's family.

    Attributes
    ----------
    method
        ``holm`` or ``bonferroni``.
    m
        Observations in the family (the check's observations with a value and an interval).
    rank
        Position of this observation's p-value among them, smallest first.
    p
        One-sided p-value (normal approximation to the interval).
    alpha
        The significance level it was tested at (``alpha / (m - rank + 1)`` for Holm,
        ``alpha / m`` for Bonferroni), ``alpha`` being the single interval's one-sided tail.
    reject
        Whether the hypothesis was rejected: a FAIL under ``interval``, a PASS under
        ``interval_strict``.
    ci_low, ci_high
        The interval widened to the tested level.
    stopped
        Holm only: not rejected because the step-down stopped at an observation with a
        smaller p-value, although this interval alone would be rejected at its level.
    """

    method: str
    m: int
    rank: int
    p: float
    alpha: float
    reject: bool
    ci_low: float
    ci_high: float
    stopped: bool = False


def _p_below(v: float, lo: float, hi: float, t: float, z: float) -> float:
    """One-sided p-value of "the true value is below ``t``" being wrong (H1: below ``t``)."""
    se = (hi - v) / z if v < t else (v - lo) / z  # the interval's side that faces t
    if se <= 0:
        return 0.0 if v < t else 1.0
    return _NORMAL.cdf((v - t) / se)


def _p_above(v: float, lo: float, hi: float, t: float, z: float) -> float:
    """One-sided p-value against "the true value is at or below ``t``" (H1: above ``t``)."""
    se = (v - lo) / z if v > t else (hi - v) / z
    if se <= 0:
        return 0.0 if v > t else 1.0
    return _NORMAL.cdf((t - v) / se)


def one_sided_p(check: Check, value: float, lo: float, hi: float, level: float) -> float:
    """The p-value of one observation's test (see the module docstring).

    ``interval``: evidence of a violation — below ``min`` or above ``max`` (the two regions are
    disjoint, so the smaller p). ``interval_strict``: evidence of compliance — above ``min``
    *and* below ``max`` (an intersection-union test, so the larger p).
    """
    z = _NORMAL.inv_cdf(0.5 + level / 2)
    if check.decide_on == "interval":
        ps = []
        if check.min is not None:
            ps.append(_p_below(value, lo, hi, check.min, z))
        if check.max is not None:
            ps.append(_p_above(value, lo, hi, check.max, z))
        return min(ps)
    ps = []
    if check.min is not None:
        ps.append(_p_above(value, lo, hi, check.min, z))
    if check.max is not None:
        ps.append(_p_below(value, lo, hi, check.max, z))
    return max(ps)


def _widened(v: float, lo: float, hi: float, level: float, alpha: float) -> tuple[float, float]:
    """The interval ``[lo, hi]`` (two-sided ``level``) widened so each tail is ``alpha``."""
    scale = _NORMAL.inv_cdf(1 - alpha) / _NORMAL.inv_cdf(0.5 + level / 2)
    return v - (v - lo) * scale, v + (hi - v) * scale


def _rejects(check: Check, lo: float, hi: float) -> bool:
    """The unadjusted rule on an interval: FAIL (interval) or PASS (interval_strict)."""
    if check.decide_on == "interval":
        return (check.min is not None and hi < check.min) or (
            check.max is not None and lo > check.max
        )
    return (check.min is None or lo >= check.min) and (check.max is None or hi <= check.max)


def adjust(check: Check, family: Sequence[tuple[float, float, float, float]]) -> list[Adjusted]:
    """Holm or Bonferroni decisions for a check's observations.

    Parameters
    ----------
    check
        A check with ``multiplicity`` other than ``none`` and an interval ``decide_on``.
    family
        ``(value, ci_low, ci_high, level)`` of each observation the check judges on its
        interval.

    Returns
    -------
    list of Adjusted
        One per observation, in the order given.
    """
    m = len(family)
    if m == 0:
        return []
    # The error rate controlled: one tail of a single interval (the strictest when results
    # were audited at different levels).
    level = max(f[3] for f in family)
    alpha = (1 - level) / 2
    ps = [one_sided_p(check, v, lo, hi, lv) for v, lo, hi, lv in family]
    order = sorted(range(m), key=lambda i: ps[i])
    out: dict[int, Adjusted] = {}
    stopped = False
    for rank, i in enumerate(order, start=1):
        v, lo, hi, lv = family[i]
        a = alpha / m if check.multiplicity == "bonferroni" else alpha / (m - rank + 1)
        wlo, whi = _widened(v, lo, hi, lv, a)
        alone = _rejects(check, wlo, whi)
        reject = alone and not stopped
        out[i] = Adjusted(
            check.multiplicity, m, rank, ps[i], a, reject, wlo, whi, stopped=alone and stopped
        )
        if check.multiplicity == "holm" and not reject:
            stopped = True  # step-down: nothing after the first non-rejection is rejected
    return [out[i] for i in range(m)]
