"""Classification audit: the metric engine over any binary classifier.

Runs the platform's model (or reads the scores it already produced) on a labelled test set and
reports, per group and intersection, the confusion rates with intervals, disparities against a
reference group, cross-group summaries, a threshold sweep, AIF360's inequality indices and
plain-language sentences, and any scikit-learn metric the user names (through fairlearn's
``MetricFrame``).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from audit.data import LabelledSet
from audit.exceptions import ConfigError
from audit.metrics import RATES, EngineSettings, Partition, analyse_groups
from audit.metrics._rates import SHARES
from audit.models import ScoreModel, score_dataframe
from audit.results import SCHEMA_VERSION, provenance

__all__ = ["DEFAULT_SWEEP", "ClassificationOptions", "Scored", "classification_audit", "score"]

#: Thresholds of the default sweep.
DEFAULT_SWEEP: tuple[float, ...] = tuple(round(0.05 * i, 2) for i in range(1, 20))

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class ClassificationOptions:
    """Options of a classification (or moderation) audit.

    Attributes
    ----------
    threshold
        Operating threshold: an item is positive (flagged) when ``score >= threshold``.
        Ignored when the data carries decisions.
    sweep
        Thresholds at which per-group rates are also reported; empty to skip.
    engine
        Reference group, minimum-count rule, suppression, bootstrap.
    custom_metrics
        ``{name: "package.module:function"}`` — any ``f(y_true, y_pred)`` metric, computed per
        group with fairlearn's ``MetricFrame``.
    explain
        Add AIF360's inequality indices and plain-language sentences.
    batch_size
        Rows per model call.
    """

    threshold: float = 0.5
    sweep: Sequence[float] = DEFAULT_SWEEP
    engine: EngineSettings = field(default_factory=EngineSettings)
    custom_metrics: Mapping[str, str] = field(default_factory=dict)
    explain: bool = True
    batch_size: int = 1024

    def __post_init__(self) -> None:
        if not 0.0 <= self.threshold <= 1.0:
            raise ConfigError(f"--threshold must lie in [0, 1], got {self.threshold}")
        for t in self.sweep:
            if not 0.0 <= t <= 1.0:
                raise ConfigError(f"sweep thresholds must lie in [0, 1], got {t}")


@dataclass
class Scored:
    """Scores and decisions of the model on a labelled set."""

    scores: NDArray[np.float64] | None
    decisions: NDArray[np.int8]
    model: dict[str, str]
    decision_rule: str


def score(
    data: LabelledSet,
    model: ScoreModel | None,
    options: ClassificationOptions,
    progress: Progress | None = None,
) -> Scored:
    """Run the model (or read the score/decision columns) and apply the threshold."""
    if model is not None:
        scores = score_dataframe(
            model, data.frame, batch_size=options.batch_size, progress=progress
        )
        identity = dict(model.identity)
    elif data.scores is not None:
        scores, identity = data.scores, {"kind": "column", "column": "score"}
    elif data.decisions is not None:
        return Scored(
            None,
            data.decisions,
            {"kind": "column", "column": "decision"},
            "decisions given in the data",
        )
    else:
        raise ConfigError("give the model's scores (--score), decisions (--decision) or --model")
    if data.decisions is not None:
        return Scored(scores, data.decisions, identity, "decisions given in the data")
    decisions = (scores >= options.threshold).astype(np.int8)
    return Scored(scores, decisions, identity, f"score >= {options.threshold}")


def slices_for(data: LabelledSet) -> list[tuple[str, ...]]:
    """Each attribute alone, the intersection of all of them, and the language alone."""
    cols = list(data.group_columns)
    out: list[tuple[str, ...]] = [(c,) for c in cols]
    if len(cols) > 1:
        out.append(tuple(cols))
    if data.language_column and data.language_column not in cols:
        out.append((data.language_column,))
    return out


def _attributes(data: LabelledSet) -> pd.DataFrame:
    cols = list(dict.fromkeys([*data.group_columns, *filter(None, [data.language_column])]))
    return data.frame[cols]


def _sweep(
    y: NDArray[np.integer],
    scores: NDArray[np.float64],
    data: LabelledSet,
    options: ClassificationOptions,
) -> dict[str, Any]:
    partition = Partition(_attributes(data))
    counts = {
        t: partition.confusion_counts(y, (scores >= t).astype(np.int8)) for t in options.sweep
    }
    series = []
    for cols in slices_for(data):
        if len(cols) > 1:
            continue
        sl = partition.slice(cols)
        per_t = {t: sl.aggregate(c) for t, c in counts.items()}
        for g, key in enumerate(sl.groups):
            n = per_t[options.sweep[0]][g].sum()
            if n < options.engine.min_group_size:
                continue
            rec: dict[str, Any] = {"attribute": sl.attribute, "group": key}
            for name in ("selection_rate", "tpr", "fpr", "precision"):
                rec[name] = [float(RATES[name](per_t[t][g])) for t in options.sweep]
            series.append(rec)
    return {"thresholds": list(options.sweep), "series": series}


def _load_metric(spec: str) -> Callable[..., float]:
    module, _, name = spec.partition(":")
    try:
        fn = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError, ValueError):
        raise ConfigError(
            f"metric {spec!r} not found; write it as package.module:function, "
            "e.g. sklearn.metrics:f1_score"
        ) from None
    if not callable(fn):
        raise ConfigError(f"metric {spec!r} is not a function")
    return fn


def _custom_metrics(
    y: NDArray[np.integer],
    d: NDArray[np.integer],
    data: LabelledSet,
    options: ClassificationOptions,
) -> list[dict[str, Any]]:
    if not options.custom_metrics:
        return []
    from fairlearn.metrics import MetricFrame

    metrics = {name: _load_metric(spec) for name, spec in options.custom_metrics.items()}
    out = []
    for cols in slices_for(data):
        mf = MetricFrame(
            metrics=metrics,
            y_true=y,
            y_pred=d,
            sensitive_features=data.frame[list(cols)].astype(str),
        )
        by_group = mf.by_group
        sizes = data.frame.groupby(list(cols)).size()
        for key, row in by_group.iterrows():
            k = key if isinstance(key, tuple) else (key,)
            if sizes.get(key if len(cols) > 1 else k[0], 0) < options.engine.min_group_size:
                continue
            out.append(
                {
                    "attribute": cols[0] if len(cols) == 1 else list(cols),
                    "group": k[0] if len(cols) == 1 else list(k),
                    "metrics": {name: _float(row[name]) for name in metrics},
                }
            )
    return out


def _float(x: Any) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if np.isfinite(v) else None


def _explanations(
    y: NDArray[np.integer],
    d: NDArray[np.integer],
    data: LabelledSet,
    report: dict[str, Any],
    adverse: bool,
) -> dict[str, Any]:
    from audit.metrics._aif360 import explain_disparities, inequality_indices

    codes: dict[str, NDArray[np.int64]] = {}
    labels: dict[str, list[str]] = {}
    for col in data.group_columns:
        c, u = pd.factorize(data.frame[col].astype(str), sort=True)
        codes[col], labels[col] = c.astype(np.int64), [str(x) for x in u]
    sentences = []
    for col in data.group_columns:
        shown = [
            g
            for g in report["groups"]
            if g["attribute"] == col and g["verdicts"]["evidence"] == "sufficient"
        ]
        refs = {
            r["reference"]
            for r in report["disparities"]
            if r["attribute"] == col and r["metric"] == "selection_rate"
        }
        if not shown or len(refs) != 1:
            continue
        ref = labels[col].index(refs.pop())
        compared = [
            labels[col].index(g["group"]) for g in shown if labels[col].index(g["group"]) != ref
        ]
        sentences += explain_disparities(y, d, col, codes[col], labels[col], ref, compared, adverse)
    return {"indices": inequality_indices(y, d, codes, adverse), "sentences": sentences}


def classification_audit(
    data: LabelledSet,
    model: ScoreModel | None = None,
    options: ClassificationOptions | None = None,
    *,
    progress: Progress | None = None,
    kind: str = "classification",
    scored: Scored | None = None,
) -> dict[str, Any]:
    """Audit a binary classifier on a labelled test set.

    Parameters
    ----------
    data
        The validated test set.
    model
        The platform's model; ``None`` to use the score or decision column of ``data``.
    options
        Threshold, sweep, engine settings.
    progress
        Called with ``(rows_done, rows_total)`` while the model runs.
    kind
        Kind written in the document (the moderation audit reuses this function).
    scored
        Scores already computed (by the moderation audit), to avoid running the model twice.

    Returns
    -------
    dict
        The result document (see :mod:`audit.results`).
    """
    options = options or ClassificationOptions()
    scored = scored or score(data, model, options, progress)
    y, d = data.y_true, scored.decisions
    report = analyse_groups(y, d, _attributes(data), slices_for(data), options.engine).as_dict()
    doc: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "kind": kind,
        "settings": {
            **options.engine.describe(),
            "threshold": options.threshold,
            "decision_rule": scored.decision_rule,
            "attributes": list(data.group_columns),
            "language": data.language_column,
            "slices": [list(s) for s in slices_for(data)],
        },
        **report,
        "metric_definitions": {
            **{name: r.definition for name, r in RATES.items()},
            **{name: s.definition for name, s in SHARES.items()},
        },
    }
    if scored.scores is not None and options.sweep:
        doc["threshold_sweep"] = _sweep(y, scored.scores, data, options)
    custom = _custom_metrics(y, d, data, options)
    if custom:
        doc["custom_metrics"] = custom
    if options.explain:
        adverse = options.engine.positive_outcome == "adverse"
        doc["explanations"] = _explanations(y, d, data, report, adverse)
    doc["provenance"] = provenance(
        inputs=data.inputs, model=scored.model, seed=options.engine.bootstrap.seed
    )
    return doc
