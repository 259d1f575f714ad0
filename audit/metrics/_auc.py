"""Threshold-free bias metrics: subgroup, BPSN and BNSP AUCs.

Borkan, Dixon, Sorensen, Thain & Vasserman (2019), "Nuanced Metrics for Measuring Unintended
Bias with Real Data for Text Classification", WWW '19 Companion, and the Jigsaw Unintended Bias
in Toxicity Classification challenge. For an identity subgroup *s* and the background *b* (all
other rows):

* **subgroup AUC** — ROC AUC on rows of *s* only. Low: the model separates violating from
  acceptable content poorly when the identity is mentioned.
* **BPSN AUC** (background positive, subgroup negative) — AUC on violating rows of *b* plus
  acceptable rows of *s*. Low: acceptable content mentioning *s* scores higher than violating
  content that does not — false positives for *s*.
* **BNSP AUC** (background negative, subgroup positive) — AUC on acceptable rows of *b* plus
  violating rows of *s*. Low: violating content mentioning *s* scores lower — false negatives.

They are summarised by the generalized mean ``M_p = (mean_s m_s^p)^(1/p)`` with ``p = -5``
(which weighs the worst subgroup heavily) over the subgroups with sufficient evidence, and the
challenge's final score
``0.25 * AUC_overall + 0.25 * (M_p(subgroup) + M_p(BPSN) + M_p(BNSP))``.

AUCs are Mann-Whitney statistics with ties counted one half, so they equal
:func:`sklearn.metrics.roc_auc_score`; a bootstrap resample is a vector of row weights.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import sparse

from audit.metrics._bootstrap import BootstrapSettings, estimate
from audit.metrics._group_report import CrossGroup, Evidence, cross_group

__all__ = ["BIAS_AUCS", "POWER", "WEIGHT", "bias_aucs", "generalized_mean", "weighted_auc"]

POWER = -5.0
WEIGHT = 0.25
BIAS_AUCS = ("subgroup_auc", "bpsn_auc", "bnsp_auc")


class _Scores:
    """Scores with their tie structure, shared by every AUC over the same rows."""

    def __init__(self, scores: NDArray[np.float64]) -> None:
        uniq, inv = np.unique(np.asarray(scores, dtype=np.float64), return_inverse=True)
        n = len(inv)
        self.to_unique = sparse.csr_matrix((np.ones(n), (inv, np.arange(n))), shape=(len(uniq), n))


def weighted_auc(
    y_true: NDArray[np.integer],
    scores: NDArray[np.float64] | _Scores,
    weights: NDArray[np.float64] | None = None,
) -> NDArray[np.float64]:
    """ROC AUC under row weights, for many weight vectors at once.

    Parameters
    ----------
    y_true
        0/1 labels, shape ``(n,)``.
    scores
        Scores, shape ``(n,)``.
    weights
        Row weights, shape ``(n,)`` or ``(k, n)`` (bootstrap counts times a subset mask).
        ``None`` means every row once.

    Returns
    -------
    numpy.ndarray
        Shape ``(k,)`` (or ``()`` for one weight vector); NaN where a class has no weight.
    """
    y = np.asarray(y_true, dtype=np.float64)
    s = scores if isinstance(scores, _Scores) else _Scores(scores)
    w = np.ones((1, len(y))) if weights is None else np.atleast_2d(weights).astype(np.float64)
    pos = np.asarray(s.to_unique @ (w * y).T)  # (U, k)
    neg = np.asarray(s.to_unique @ (w * (1.0 - y)).T)
    below = np.cumsum(neg, axis=0) - neg
    num = (pos * (below + 0.5 * neg)).sum(axis=0)
    den = pos.sum(axis=0) * neg.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        auc = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
    return auc[0] if weights is None or np.ndim(weights) == 1 else auc


def generalized_mean(values: NDArray[np.float64], p: float = POWER) -> NDArray[np.float64]:
    """Power mean ``(mean(v^p))^(1/p)`` over the last axis, ignoring NaN (Borkan et al. 2019)."""
    v = np.asarray(values, dtype=np.float64)
    with np.errstate(all="ignore"):
        m = np.nanmean(v**p, axis=-1)
        # Always the array power: numpy's scalar power can round the last bit differently,
        # and one mean must not depend on whether it was computed alone or with others.
        return (np.atleast_1d(m) ** (1.0 / p)).reshape(np.shape(m))


def _bootstrap_weights(n: int, count: int, rng: np.random.Generator) -> NDArray[np.float64]:
    idx = rng.integers(0, n, size=(count, n)) + (np.arange(count)[:, None] * n)
    return np.bincount(idx.ravel(), minlength=count * n).reshape(count, n).astype(np.float64)


def bias_aucs(
    y_true: NDArray[np.integer],
    scores: NDArray[np.float64],
    groups: NDArray[np.int64],
    evidence: Evidence,
    bootstrap: BootstrapSettings,
    rng: np.random.Generator,
    chunk: int = 100,
) -> dict[str, Any]:
    """Subgroup, BPSN and BNSP AUCs per group, their generalized means and the final score.

    Parameters
    ----------
    y_true, scores
        Labels (0/1) and scores.
    groups
        Index of each row's subgroup in ``evidence.grouping.groups``; ``-1`` for rows in no
        subgroup. Every row counts as background for the subgroups it is not in.
    evidence
        Suppression and the evidence rule for these subgroups
        (:func:`audit.metrics._group_report.assess`). Suppressed subgroups are not reported
        (their rows stay background). A subgroup without sufficient evidence is reported with
        ``verdicts.evidence: insufficient_evidence`` and left out of the generalized means, as
        is a subgroup whose AUC is undefined (no positives or no negatives where it is
        defined); each mean lists the groups it includes and leaves out.
    bootstrap, rng
        Intervals come from row-resampling weights, drawn in chunks to bound memory.

    Returns
    -------
    dict
        ``overall_auc``, ``groups`` (one record per published subgroup), ``generalized_means``
        (each with ``groups_included`` and the groups left out), ``final_score``, ``power`` and
        ``weight``; values as ``{value, ci_low, ci_high}``.
    """
    y = np.asarray(y_true, dtype=np.int64)
    n, G = len(y), len(evidence.grouping.groups)
    shown = np.flatnonzero(evidence.shown)
    s = _Scores(scores)
    masks = []
    for g in shown:
        m = groups == g
        masks.append(
            {
                "subgroup_auc": m,
                "bpsn_auc": (~m & (y == 1)) | (m & (y == 0)),
                "bnsp_auc": (~m & (y == 0)) | (m & (y == 1)),
            }
        )

    def evaluate(w: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        per = np.full((len(w), G, len(BIAS_AUCS)), np.nan)  # suppressed groups stay NaN
        if len(shown):
            per[:, shown] = np.stack(
                [
                    np.stack([weighted_auc(y, s, w * mk[name]) for name in BIAS_AUCS], axis=-1)
                    for mk in masks
                ],
                axis=-2,
            )  # (k, shown, 3)
        return weighted_auc(y, s, w), per

    ones = np.ones((1, n))
    point_overall, point = evaluate(ones)
    point_overall, point = point_overall[0], point[0]
    boot_overall = boot = None
    if bootstrap.resamples:
        parts = [
            evaluate(_bootstrap_weights(n, min(chunk, bootstrap.resamples - done), rng))
            for done in range(0, bootstrap.resamples, chunk)
        ]
        boot_overall = np.concatenate([p[0] for p in parts])
        boot = np.concatenate([p[1] for p in parts])

    values = {name: point[:, j] for j, name in enumerate(BIAS_AUCS)}
    resampled = None if boot is None else {name: boot[:, :, j] for j, name in enumerate(BIAS_AUCS)}
    means = {
        name: cross_group(
            CrossGroup(name, (name,), generalized_mean, min_groups=1), evidence, values, resampled
        )
        for name in BIAS_AUCS
    }
    final_point = (
        WEIGHT * point_overall + WEIGHT * np.array([m.point for m in means.values()]).sum()
    )
    final_boot = None
    mean_boots = [m.resampled for m in means.values() if m.resampled is not None]
    if boot_overall is not None and len(mean_boots) == len(means):
        means_boot = np.stack(mean_boots, axis=1)  # (B, 3)
        final_boot = WEIGHT * boot_overall + WEIGHT * means_boot.sum(axis=1)

    valid = groups >= 0
    size = np.bincount(groups[valid], minlength=G)
    positives = np.bincount(groups[valid], weights=y[valid], minlength=G)
    level = bootstrap.level
    return {
        "overall_auc": estimate(point_overall, boot_overall, level),
        "groups": [
            {
                "group": evidence.label(g),
                "n": int(size[g]),
                "positives": int(positives[g]),
                "negatives": int(size[g] - positives[g]),
                **{
                    name: estimate(point[g, j], None if boot is None else boot[:, g, j], level)
                    for j, name in enumerate(BIAS_AUCS)
                },
                "verdicts": {
                    "evidence": "sufficient" if evidence.sufficient[g] else "insufficient_evidence"
                },
            }
            for g in shown
        ],
        "generalized_means": {name: m.record(level) for name, m in means.items()},
        "final_score": estimate(final_point, final_boot, level),
        "power": POWER,
        "weight": WEIGHT,
    }
