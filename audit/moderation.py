"""Moderation audit: the classification audit plus text-specific bias checks.

On top of :func:`audit.classification.classification_audit` it adds

* **bias AUCs** per identity subgroup (Borkan et al. 2019; see :mod:`audit.metrics._auc`),
  which need the model's scores, not only its decisions; the same suppression and evidence
  rules as the group records decide which subgroups are published and which enter the
  generalized means;
* a **per-language** breakdown of accuracy and error rates — the "indicators of the accuracy and
  the possible rate of error" the EU Digital Services Act asks of automated moderation
  (Art. 15(1)(e)) per official language (Art. 42(2)(c)); these are the ``groups`` records whose
  attribute is the language column;
* **identity-swap template tests**: the same sentence with different identity terms should get
  the same score (Dixon et al. 2018, "Measuring and Mitigating Unintended Bias in Text
  Classification", AIES; Garg et al. 2019, "Counterfactual Fairness in Text Classification
  through Robustness"; Röttger et al. 2021, HateCheck). We report the score spread per identity
  and the decision flips.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from audit.classification import (
    ClassificationOptions,
    Progress,
    classification_audit,
    score,
)
from audit.data import LabelledSet, file_sha256, read_table
from audit.exceptions import ConfigError, DataError
from audit.metrics import Partition
from audit.metrics._auc import bias_aucs
from audit.metrics._engine import label_rules
from audit.metrics._group_report import assess
from audit.models import ScoreModel, score_dataframe

__all__ = ["IdentityTemplates", "identity_swap", "load_identity_templates", "moderation_audit"]

PLACEHOLDER = "{identity}"


class IdentityTemplates:
    """Sentence templates with an ``{identity}`` placeholder and the identity terms to fill in."""

    def __init__(
        self,
        templates: Sequence[str],
        terms: pd.DataFrame,
        inputs: list[dict[str, str]] | None = None,
    ) -> None:
        self.templates = list(templates)
        self.terms = terms.reset_index(drop=True)
        self.inputs = inputs or []


def load_identity_templates(templates_file: str, terms_file: str) -> IdentityTemplates:
    """Read templates (column ``template``) and terms (columns ``term`` and optional ``axis``)."""
    t = read_table(templates_file)
    if "template" not in t.columns:
        raise DataError("no column 'template'", file=templates_file, column="template")
    texts = t["template"].astype(str).tolist()
    for i, text in enumerate(texts, start=1):
        if PLACEHOLDER not in text:
            raise DataError(
                f"template has no {PLACEHOLDER} placeholder: {text!r}",
                file=templates_file,
                column="template",
                row=i,
            )
    terms = read_table(terms_file)
    if "term" not in terms.columns:
        raise DataError("no column 'term'", file=terms_file, column="term")
    if "axis" not in terms.columns:
        terms = terms.assign(axis="identity")
    bad = terms["term"].isna()
    if bad.any():
        raise DataError(
            "empty term",
            file=terms_file,
            column="term",
            row=int(np.flatnonzero(bad.to_numpy())[0]) + 1,
        )
    inputs = [
        {"role": "templates", "path": templates_file, "sha256": file_sha256(templates_file)},
        {"role": "identity_terms", "path": terms_file, "sha256": file_sha256(terms_file)},
    ]
    return IdentityTemplates(texts, terms[["term", "axis"]].astype(str), inputs)


def identity_swap(
    model: ScoreModel,
    suite: IdentityTemplates,
    *,
    text_column: str,
    threshold: float,
    batch_size: int = 1024,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Score every template filled with every identity term and measure the differences.

    For each template and each identity axis, the *spread* is the largest minus the smallest
    score across that axis' terms, and a *flip* is a template whose decision (score >=
    threshold) is not the same for every term. An invariant model has spread 0 and no flips.

    Returns
    -------
    dict
        ``terms`` (mean score and flag rate per term), ``axes`` (mean and max spread, flip rate
        per axis), ``worst_templates`` (largest spreads, with the terms at both ends).
    """
    terms = suite.terms
    grid = pd.DataFrame(
        [
            (ti, ki, tpl.replace(PLACEHOLDER, term))
            for ti, tpl in enumerate(suite.templates)
            for ki, term in enumerate(terms["term"])
        ],
        columns=["_template", "_term", text_column],
    )
    s = score_dataframe(model, grid, batch_size=batch_size, progress=progress)
    scores = s.reshape(len(suite.templates), len(terms))
    flagged = scores >= threshold

    term_rows = [
        {
            "term": terms.at[k, "term"],
            "axis": terms.at[k, "axis"],
            "mean_score": float(scores[:, k].mean()),
            "flag_rate": float(flagged[:, k].mean()),
        }
        for k in range(len(terms))
    ]
    axes, worst = [], []
    for axis, idx in terms.groupby("axis").indices.items():
        sub, fl = scores[:, idx], flagged[:, idx]
        spread = sub.max(axis=1) - sub.min(axis=1)
        flips: np.ndarray = np.asarray(fl.any(axis=1) & ~fl.all(axis=1))
        means = sub.mean(axis=0)
        axes.append(
            {
                "axis": axis,
                "terms": len(idx),
                "mean_spread": float(spread.mean()),
                "max_spread": float(spread.max()),
                "flip_rate": float(flips.mean()),
                "highest_term": terms.at[idx[int(means.argmax())], "term"],
                "lowest_term": terms.at[idx[int(means.argmin())], "term"],
            }
        )
        for t in np.argsort(-spread, kind="stable")[:3]:
            worst.append(
                {
                    "axis": axis,
                    "template": suite.templates[t],
                    "spread": float(spread[t]),
                    "highest_term": terms.at[idx[int(sub[t].argmax())], "term"],
                    "lowest_term": terms.at[idx[int(sub[t].argmin())], "term"],
                    "flip": bool(flips[t]),
                }
            )
    return {
        "templates": len(suite.templates),
        "threshold": threshold,
        "terms": term_rows,
        "axes": axes,
        "worst_templates": sorted(worst, key=lambda w: -w["spread"])[:10],
    }


def moderation_audit(
    data: LabelledSet,
    model: ScoreModel | None = None,
    options: ClassificationOptions | None = None,
    *,
    templates: IdentityTemplates | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Audit a moderation classifier: classification audit + bias AUCs + identity swaps.

    Parameters
    ----------
    data
        Labelled posts; the group columns name the identity each post mentions or targets.
    model
        The platform's model; ``None`` to use the score column. Identity-swap tests need a
        model that scores text.
    options
        As for the classification audit.
    templates
        Identity-swap templates and terms, or ``None`` to skip those tests.
    progress
        Called with ``(rows_done, rows_total)`` while the model runs.
    """
    options = options or ClassificationOptions()
    scored = score(data, model, options, progress)
    doc = classification_audit(data, model, options, kind="moderation", scored=scored)
    section: dict[str, Any] = {}
    if scored.scores is None:
        section["bias_aucs_skipped"] = "bias AUCs need scores, and only decisions were given"
    else:
        rng = np.random.default_rng([options.engine.bootstrap.seed, 1])
        engine = options.engine
        y = np.asarray(data.y_true, dtype=np.float64)
        partition = Partition(data.frame[list(data.group_columns)])
        section["bias_aucs"] = []
        for col in data.group_columns:
            sl = partition.slice((col,))
            codes = partition.row_groups(sl)
            n = np.bincount(codes, minlength=len(sl.groups)).astype(np.float64)
            pos = np.bincount(codes, weights=y, minlength=len(sl.groups))
            evidence = assess(
                sl,
                n,
                min_group_size=engine.min_group_size,
                unit="rows",
                rules=label_rules(engine, pos, n - pos),
            )
            res = bias_aucs(data.y_true, scored.scores, codes, evidence, engine.bootstrap, rng)
            section["bias_aucs"].append({"attribute": col, **res})
    if data.language_column:
        section["language_column"] = data.language_column
    if templates is not None:
        if model is None or data.text_column is None:
            raise ConfigError(
                "identity-swap templates need a model that scores text: give --model and --text"
            )
        section["identity_swap"] = identity_swap(
            model,
            templates,
            text_column=data.text_column,
            threshold=options.threshold,
            batch_size=options.batch_size,
        )
        doc["provenance"]["inputs"] += templates.inputs
    doc["moderation"] = section
    return doc
