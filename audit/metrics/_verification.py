"""Biometric verification metrics: FMR, FNMR, threshold calibration, DET curves.

One definition of each number the face audit reports. The vocabulary follows ISO/IEC 19795-1
(*Biometric performance testing and reporting*, §4.6) and NIST's demographic study of face
recognition (Grother, Ngan & Hanaoka 2019, *Face Recognition Vendor Test Part 3: Demographic
Effects*, NIST IR 8280, https://doi.org/10.6028/NIST.IR.8280):

* a **genuine** comparison compares two images of the same subject (a *mated* pair); an
  **impostor** comparison compares images of two different subjects (a *non-mated* pair);
* comparisons produce a *dissimilarity* (here a Euclidean distance; a similarity score ``s`` is
  handled as the dissimilarity ``-s``) and a pair is declared a **match** when its
  dissimilarity is at most the threshold ``t``;
* **FMR** (false-match rate) is the share of impostor comparisons declared a match, and
  **FNMR** (false non-match rate) the share of genuine comparisons *not* declared a match.

Failures to detect a face or to build a template are reported separately (FTD) and are not
folded into FNMR, so FNMR here is ISO/IEC 19795-1's comparison-level FNMR, not the
transaction-level FRR.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "DEFINITIONS",
    "DetCurve",
    "allowed_false_matches",
    "calibrate_threshold",
    "det_curve",
    "false_match_rate",
    "false_non_match_rate",
    "max_min_ratio",
    "threshold_below",
]

Array = NDArray[np.float64]

#: What each face metric means, written into result documents.
DEFINITIONS: dict[str, str] = {
    "fmr": (
        "False-match rate: false matches / impostor comparisons, an impostor comparison being "
        "two images of different subjects; a pair matches when its distance <= threshold. "
        "Per group over impostor pairs with both subjects in the group (NIST IR 8280, "
        "Grother et al. 2019, sec. 3; ISO/IEC 19795-1)."
    ),
    "fnmr": (
        "False non-match rate: genuine comparisons not declared a match / genuine comparisons, "
        "a genuine comparison being two images of the same subject; per group over its "
        "subjects' genuine pairs (ISO/IEC 19795-1). Images without a template are not counted "
        "here but in ftd."
    ),
    "ftd": (
        "Failure-to-detect rate: readable images in which the detector found no face (with "
        "pre-computed embeddings: rows the platform gave no template) / readable images. "
        "Reported apart from FNMR, as failures to enrol are in ISO/IEC 19795-1. Undefined "
        "with pair scores."
    ),
    "multiple_faces": (
        "Share of readable images in which the detector found more than one face; such "
        "images are not compared (or use their largest face, if so configured)."
    ),
    "threshold": (
        "One global threshold for every group, as in NIST IR 8280: either fixed, or the "
        "largest distance threshold whose FMR over all impostor pairs does not exceed the "
        "target (at most floor(target x impostor pairs) false matches)."
    ),
}


def _ratio(num: ArrayLike, den: ArrayLike) -> Array:
    n = np.asarray(num, dtype=np.float64)
    d = np.asarray(den, dtype=np.float64)
    with np.errstate(all="ignore"):
        return np.where(d > 0, n / np.where(d > 0, d, 1.0), np.nan)


def false_match_rate(false_matches: ArrayLike, impostor_comparisons: ArrayLike) -> Array:
    """False-match rate, ``FMR = FM / N_impostor``.

    Parameters
    ----------
    false_matches
        Impostor comparisons declared a match (distance at or below the threshold).
    impostor_comparisons
        Impostor comparisons made.

    Returns
    -------
    numpy.ndarray
        FMR, NaN where no impostor comparison was made.

    Notes
    -----
    ISO/IEC 19795-1:2021, 3.6.3 "false match rate"; the per-demographic FMR of NIST IR 8280
    (Grother, Ngan & Hanaoka 2019), which counts impostor pairs whose two subjects share the
    demographic group.

    Examples
    --------
    >>> float(false_match_rate(3, 30000))
    0.0001
    """
    return _ratio(false_matches, impostor_comparisons)


def false_non_match_rate(false_non_matches: ArrayLike, genuine_comparisons: ArrayLike) -> Array:
    """False non-match rate, ``FNMR = FNM / N_genuine``.

    Parameters
    ----------
    false_non_matches
        Genuine comparisons whose distance exceeds the threshold.
    genuine_comparisons
        Genuine comparisons made.

    Returns
    -------
    numpy.ndarray
        FNMR, NaN where no genuine comparison was made.

    Notes
    -----
    ISO/IEC 19795-1:2021, 3.6.4 "false non-match rate"; NIST IR 8280 sec. 4.

    Examples
    --------
    >>> float(false_non_match_rate(1, 4))
    0.25
    """
    return _ratio(false_non_matches, genuine_comparisons)


def allowed_false_matches(target_fmr: float, impostor_comparisons: int) -> int:
    """Most false matches a threshold may produce and keep FMR at or below ``target_fmr``.

    ``k = floor(target_fmr x N)``, computed on the decimal value of ``target_fmr`` so that
    ``1e-4 x 30000`` is exactly 3 (binary floating point would give 2.9999...).

    Examples
    --------
    >>> allowed_false_matches(1e-4, 30000)
    3
    >>> allowed_false_matches(1e-4, 29999)
    2
    """
    if not 0.0 < target_fmr < 1.0:
        raise ValueError(f"target FMR must lie in (0, 1), got {target_fmr}")
    return math.floor(Fraction(repr(float(target_fmr))) * int(impostor_comparisons))


def threshold_below(value: float) -> float:
    """The largest float strictly below ``value``: the calibrated threshold just under the
    ``(k+1)``-th smallest impostor distance."""
    return float(np.nextafter(value, -np.inf))


def calibrate_threshold(impostor_distances: ArrayLike, target_fmr: float) -> float:
    """The largest distance threshold whose FMR over these impostor pairs is at most the target.

    With ``N`` impostor distances sorted as ``d(1) <= ... <= d(N)`` and
    ``k = floor(target x N)`` (:func:`allowed_false_matches`), any threshold ``t < d(k+1)``
    declares at most ``k`` impostor pairs a match, and any ``t >= d(k+1)`` at least ``k+1``.
    The largest admissible threshold is therefore the float just below ``d(k+1)``. Ties at
    ``d(k+1)`` are all left out, so the achieved FMR may be below the target.

    This is the calibration of NIST IR 8280 (Grother et al. 2019, sec. 3.3: "thresholds set
    to give FMR = 0.0001 on the full impostor set"), which then applies that one threshold to
    every demographic group.

    Parameters
    ----------
    impostor_distances
        Every impostor distance (or ``-similarity``).
    target_fmr
        Target false-match rate in ``(0, 1)``.

    Returns
    -------
    float
        The threshold: a pair matches when ``distance <= threshold``.

    Raises
    ------
    ValueError
        No impostor distances, or a target outside ``(0, 1)``.

    Examples
    --------
    >>> t = calibrate_threshold([0.5, 0.7, 0.9, 1.1], 0.25)  # k = 1: one false match allowed
    >>> 0.69 < t < 0.7
    True
    """
    d = np.asarray(impostor_distances, dtype=np.float64).ravel()
    if d.size == 0:
        raise ValueError("no impostor comparisons: at least two subjects are needed")
    k = allowed_false_matches(target_fmr, d.size)
    return threshold_below(float(np.partition(d, k)[k]))


def max_min_ratio(rates: ArrayLike) -> Array:
    """``max_g r_g / min_g r_g`` along the last axis; NaN when the minimum is 0 or undefined.

    NIST IR 8280 summarises demographic differentials in FMR as the ratio of the highest to
    the lowest group FMR at one threshold (sec. 1, "false positive differentials ... 10 to
    beyond 100 times"). NaN entries (groups without comparisons) are ignored.

    Examples
    --------
    >>> float(max_min_ratio([1e-4, 1e-3, 5e-4]))
    10.0
    """
    r = np.asarray(rates, dtype=np.float64)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows stay NaN
        hi = np.nanmax(r, axis=-1)
        lo = np.nanmin(r, axis=-1)
        return np.where(lo > 0, hi / np.where(lo > 0, lo, 1.0), np.nan)


@dataclass(frozen=True)
class DetCurve:
    """A detection error trade-off curve: FMR and FNMR as the threshold moves.

    Attributes
    ----------
    thresholds
        Distance thresholds, increasing.
    fmr, fnmr
        Rates at each threshold (FMR rises, FNMR falls).
    """

    thresholds: Array
    fmr: Array
    fnmr: Array

    def as_dict(self) -> dict[str, list[float]]:
        return {
            "thresholds": self.thresholds.tolist(),
            "fmr": self.fmr.tolist(),
            "fnmr": self.fnmr.tolist(),
        }


def det_curve(
    genuine_distances: ArrayLike,
    impostor_histogram: ArrayLike,
    edges: ArrayLike,
    *,
    max_points: int = 200,
) -> DetCurve:
    """DET curve from exact genuine distances and a histogram of impostor distances.

    At each bin edge ``e`` the FMR counts impostor distances in bins wholly at or below ``e``,
    and the FNMR the genuine distances above ``e`` (Martin et al. 1997, "The DET curve in
    assessment of detection task performance", Eurospeech; ISO/IEC 19795-1 sec. 4.7.4).
    Impostor pairs are many (all pairs of a 100k set), so they are binned; genuine pairs are
    few and kept exact. Points are thinned to at most ``max_points``, evenly in log10 FMR
    where FMR > 0, keeping the ends.

    Parameters
    ----------
    genuine_distances
        Every genuine distance of the group.
    impostor_histogram
        Counts of the group's impostor distances per bin, shape ``(bins,)``.
    edges
        Bin edges, shape ``(bins + 1,)``, increasing.
    max_points
        Most points returned.
    """
    h = np.asarray(impostor_histogram, dtype=np.float64)
    e = np.asarray(edges, dtype=np.float64)
    g = np.sort(np.asarray(genuine_distances, dtype=np.float64))
    thresholds = e[1:]
    n_imp = h.sum()
    fmr = np.cumsum(h) / n_imp if n_imp > 0 else np.full(len(h), np.nan)
    fnmr = (
        1.0 - np.searchsorted(g, thresholds, side="right") / g.size
        if g.size
        else np.full(len(h), np.nan)
    )
    # Drop flat stretches: keep an edge only where either rate changes.
    change = np.ones(len(thresholds), dtype=bool)
    change[1:] = (np.diff(fmr) != 0) | (np.diff(fnmr) != 0)
    keep = np.flatnonzero(change)
    if len(keep) > max_points:
        f = fmr[keep]  # non-decreasing, so its log10 is sorted too (-inf for zeros)
        with np.errstate(divide="ignore"):
            pos = np.log10(f)
        lo = pos[f > 0].min() if (f > 0).any() else 0.0
        pick = np.searchsorted(pos, np.linspace(lo, 0.0, max_points - 2))
        pick = np.clip(pick, 0, len(keep) - 1)
        keep = keep[np.unique(np.concatenate([[0], pick, [len(keep) - 1]]))]
    return DetCurve(thresholds[keep], fmr[keep], fnmr[keep])
