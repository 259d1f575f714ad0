"""Inequality indices and plain-language explanations from IBM AIF360.

AIF360 (Bellamy et al. 2018, "AI Fairness 360", arXiv:1810.01943) is the reference
implementation of the individual-level inequality indices of Speicher et al. (2018), "A Unified
Approach to Quantifying Algorithmic Unfairness", KDD: with benefit ``b_i = yhat_i - y_i + 1``,
the generalized entropy index ``GE(a) = 1/(n a (a-1)) * sum((b_i/mu)^a - 1)`` and the Theil
index ``GE(1) = 1/n * sum(b_i/mu * ln(b_i/mu))``. 0 means every person gets the same benefit.
The between-group Theil index replaces each ``b_i`` by its group mean: the part of the
inequality explained by group membership.

The import is heavy (about 1.5 s) and chatty (warnings about optional packages), so it happens
here, lazily, with those warnings silenced.
"""

from __future__ import annotations

import logging
import warnings
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

__all__ = ["explain_disparities", "inequality_indices"]


@contextmanager
def _quiet():
    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logging.disable(previous)


def _metric(
    y_true: NDArray[np.integer],
    y_pred: NDArray[np.integer],
    codes: NDArray[np.int64],
    unpriv: int,
    priv: int,
    favourable: float = 1.0,
) -> Any:
    """An AIF360 ClassificationMetric. AIF360 counts the *favourable* label as its positive
    class, so ``favourable=1`` keeps its TPR/FPR aligned with ours."""
    with _quiet():
        from aif360.datasets import BinaryLabelDataset
        from aif360.metrics import ClassificationMetric

        frame = pd.DataFrame({"label": np.asarray(y_true, float), "group": codes.astype(float)})
        truth = BinaryLabelDataset(
            df=frame,
            label_names=["label"],
            protected_attribute_names=["group"],
            favorable_label=favourable,
            unfavorable_label=1.0 - favourable,
        )
        pred = truth.copy(deepcopy=True)
        pred.labels = np.asarray(y_pred, float).reshape(-1, 1)
        return ClassificationMetric(
            truth,
            pred,
            unprivileged_groups=[{"group": unpriv}],
            privileged_groups=[{"group": priv}],
        )


def inequality_indices(
    y_true: NDArray[np.integer],
    y_pred: NDArray[np.integer],
    groups: dict[str, NDArray[np.int64]],
    positive_is_adverse: bool = True,
) -> dict[str, Any]:
    """Theil and generalized entropy (alpha = 2) indices, overall and between groups.

    Parameters
    ----------
    y_true, y_pred
        Labels and decisions, 0/1.
    groups
        For each attribute, each row's group code.
    positive_is_adverse
        When a positive decision harms the person (flagged, high risk), the benefit is computed
        on the negative decision: ``b = (1 - yhat) - (1 - y) + 1``.
    """
    fav = 0.0 if positive_is_adverse else 1.0
    out: dict[str, Any] = {}
    first = True
    for attribute, codes in groups.items():
        m = _metric(y_true, y_pred, codes, 0, 1, fav)
        with _quiet():
            if first:
                out["theil_index"] = float(m.theil_index())
                out["generalized_entropy_index"] = float(m.generalized_entropy_index(alpha=2))
                out["between_group_theil_index"] = {}
                first = False
            out["between_group_theil_index"][attribute] = float(m.between_all_groups_theil_index())
    out["source"] = (
        "aif360 ClassificationMetric (Speicher et al. 2018); benefit = yhat - y + 1 on the "
        + ("favourable (negative) decision" if positive_is_adverse else "positive decision")
    )
    return out


def explain_disparities(
    y_true: NDArray[np.integer],
    y_pred: NDArray[np.integer],
    attribute: str,
    codes: NDArray[np.int64],
    labels: list[str],
    reference: int,
    compared: list[int],
    positive_is_adverse: bool = True,
) -> list[dict[str, str]]:
    """AIF360's ``MetricTextExplainer`` sentences for each group against the reference.

    Disparate impact is stated for the favourable outcome (not being flagged, when a positive
    decision is adverse); the error-rate sentences keep the positive decision as positive, so
    "false positive" means wrongly flagged, as everywhere else in socialaudit.
    """
    with _quiet():  # importing aif360 logs about optional packages (tensorflow, ...)
        from aif360.explainers import MetricTextExplainer

    fav = 0.0 if positive_is_adverse else 1.0
    out = []
    for g in compared:
        favourable = MetricTextExplainer(_metric(y_true, y_pred, codes, g, reference, fav))
        errors = MetricTextExplainer(_metric(y_true, y_pred, codes, g, reference, 1.0))
        with _quiet():
            for fn, ex in (
                ("disparate_impact", favourable),
                ("false_positive_rate_difference", errors),
                ("false_negative_rate_difference", errors),
            ):
                out.append(
                    {
                        "attribute": attribute,
                        "group": labels[g],
                        "reference": labels[reference],
                        "metric": fn,
                        "text": getattr(ex, fn)(),
                    }
                )
    return out
