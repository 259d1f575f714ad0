"""Bootstrap confidence intervals.

Fast path: a nonparametric bootstrap that resamples *rows* with replacement only changes how
many rows land in each (cell, outcome) combination, and those counts follow a multinomial
distribution with the observed shares as probabilities. Drawing the counts directly gives the
same distribution as resampling a million rows, at the cost of a few dozen numbers per resample
(Efron & Tibshirani 1993, *An Introduction to the Bootstrap*, ch. 6). The tests keep fairlearn's
row-resampling ``MetricFrame(n_boot=...)`` as the oracle.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "BootstrapSettings",
    "Interval",
    "estimate",
    "multinomial_resamples",
    "percentile_interval",
]


@dataclass(frozen=True)
class BootstrapSettings:
    """How confidence intervals are computed.

    Attributes
    ----------
    resamples
        Number of bootstrap resamples (0 disables intervals).
    level
        Two-sided confidence level, e.g. 0.95.
    seed
        Seed of :func:`numpy.random.default_rng`; the same seed gives the same intervals.
    """

    resamples: int = 1000
    level: float = 0.95
    seed: int = 0

    @property
    def method(self) -> str:
        return (
            "percentile bootstrap; rows resampled with replacement, drawn as multinomial "
            "counts over group x outcome cells"
        )


@dataclass(frozen=True)
class Interval:
    """A point estimate with its confidence interval (``None`` when undefined)."""

    value: float | None
    ci_low: float | None
    ci_high: float | None

    def as_dict(self) -> dict[str, float | None]:
        return {"value": self.value, "ci_low": self.ci_low, "ci_high": self.ci_high}


def multinomial_resamples(
    counts: NDArray[np.integer], settings: BootstrapSettings, rng: np.random.Generator
) -> NDArray[np.int64]:
    """Bootstrap resamples of a count table.

    Parameters
    ----------
    counts
        Observed counts of any shape; their sum is the number of rows.
    settings
        Number of resamples.
    rng
        Random generator (seeded by the caller so that all draws of a run are reproducible).

    Returns
    -------
    numpy.ndarray
        Shape ``(resamples, *counts.shape)``.
    """
    flat = np.asarray(counts, dtype=np.int64).ravel()
    n = int(flat.sum())
    if n == 0 or settings.resamples == 0:
        return np.zeros((settings.resamples, *np.shape(counts)), dtype=np.int64)
    draws = rng.multinomial(n, flat / n, size=settings.resamples)
    return draws.reshape(settings.resamples, *np.shape(counts))


def _clean(x: float) -> float | None:
    return None if not np.isfinite(x) else float(x)


def percentile_interval(
    point: NDArray[np.float64] | float,
    resampled: NDArray[np.float64] | None,
    level: float,
) -> list[Interval] | Interval:
    """Percentile intervals for one or many statistics.

    Resamples in which a statistic is undefined (NaN, e.g. a group drawn with no negatives)
    are left out of its interval. When fewer than half the resamples define it, the interval
    is reported as undefined rather than computed from a biased remainder.

    Parameters
    ----------
    point
        Point estimates, scalar or shape ``(k,)``.
    resampled
        Bootstrap values, shape ``(resamples,)`` or ``(resamples, k)``; ``None`` for no CI.
    level
        Confidence level.
    """
    scalar = np.ndim(point) == 0
    p = np.atleast_1d(np.asarray(point, dtype=np.float64))
    if resampled is None or len(resampled) == 0:
        out = [Interval(_clean(v), None, None) for v in p]
        return out[0] if scalar else out
    r = np.asarray(resampled, dtype=np.float64).reshape(len(resampled), -1)
    alpha = (1.0 - level) / 2.0
    finite = np.isfinite(r)
    enough = finite.sum(axis=0) >= 0.5 * len(r)
    with np.errstate(all="ignore"):
        masked = np.where(finite, r, np.nan)
        lo = np.full(r.shape[1], np.nan)
        hi = np.full(r.shape[1], np.nan)
        if enough.any():
            q = np.nanquantile(masked[:, enough], [alpha, 1.0 - alpha], axis=0)
            lo[enough], hi[enough] = q[0], q[1]
    out = [
        Interval(
            _clean(v), _clean(a) if np.isfinite(v) else None, _clean(b) if np.isfinite(v) else None
        )
        for v, a, b in zip(p, lo, hi, strict=True)
    ]
    return out[0] if scalar else out


def estimate(
    point: NDArray[np.float64] | float, resampled: NDArray[np.float64] | None, level: float
) -> dict[str, float | None]:
    """One statistic as written in result documents: ``{value, ci_low, ci_high}``.

    The scalar case of :func:`percentile_interval`; ``resampled`` has shape ``(resamples,)``.
    """
    ci = percentile_interval(point, resampled, level)
    assert isinstance(ci, Interval)
    return ci.as_dict()
