"""The methods section: every definition comes from where the metric is defined.

Confusion rates from :data:`audit.metrics.RATES`, disparities from :data:`audit.metrics.SUMMARIES`,
the bias AUCs from the docstring of :mod:`audit.metrics._auc`, the four-fifths and band verdicts
from the docstrings of their functions. Metrics that other audits define (FMR, NDCG, ...) come
from the result document's own ``metric_definitions``. Nothing here restates a definition.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterable
from functools import cache
from typing import Any

from audit.report._inputs import ReportInput
from audit.report._text import attr_name, group_name

__all__ = ["auc_definitions", "definition", "methods", "settings_rows"]

_AUC_NAMES = {"subgroup AUC": "subgroup_auc", "BPSN AUC": "bpsn_auc", "BNSP AUC": "bnsp_auc"}


def _plain_rst(text: str) -> str:
    text = re.sub(r":\w+:`([^`]+)`", r"\1", text)
    text = text.replace("``", "").replace("**", "")
    text = re.sub(r"\*(\w+)\*", r"\1", text)
    return " ".join(text.split())


@cache
def auc_definitions() -> dict[str, str]:
    """Definitions of the bias AUCs and their summary, parsed from :mod:`audit.metrics._auc`.

    Keys are ``subgroup_auc``, ``bpsn_auc``, ``bnsp_auc``, ``generalized_mean`` and ``source``;
    if the docstring changes shape, the whole docstring is returned under ``source``.
    """
    from audit.metrics import _auc

    doc = inspect.getdoc(_auc) or ""
    paragraphs = [p.strip() for p in doc.split("\n\n") if p.strip()]
    out: dict[str, str] = {}
    for p in paragraphs:
        for item in re.split(r"\n(?=\* )", p):
            m = re.match(r"\* \*\*(.+?)\*\*\s*(.*)", item, flags=re.S)
            if m and m.group(1) in _AUC_NAMES:
                out[_AUC_NAMES[m.group(1)]] = _plain_rst(m.group(1) + " " + m.group(2))
    summary = [p for p in paragraphs if "generalized mean" in p]
    if summary:
        out["generalized_mean"] = _plain_rst(summary[0])
    cite = [p for p in paragraphs if "Borkan" in p]
    out["source"] = _plain_rst(cite[0] if cite else doc)
    return out


def definition(name: str, documents: Iterable[dict[str, Any]] = ()) -> tuple[str, str]:
    """Title and definition of a metric, from its single source.

    Parameters
    ----------
    name
        A rate (``fpr``), a share (``ppr``), a disparity summary
        (``equalized_odds_difference``), a bias AUC, the per-group ``impact_ratio``, or a metric
        an audit defines in ``metric_definitions``.
    documents
        Result documents consulted, in order, for metrics the engine does not define.
    """
    from audit.metrics import RATES, SUMMARIES
    from audit.metrics._disparity import four_fifths_verdict
    from audit.metrics._rates import SHARES

    if name in RATES:
        return RATES[name].title, RATES[name].definition
    if name in SHARES:
        return SHARES[name].title, SHARES[name].definition
    if name in SUMMARIES:
        return name.replace("_", " "), SUMMARIES[name].definition
    if name in _AUC_NAMES.values():
        title = next(k for k, v in _AUC_NAMES.items() if v == name)
        return title, auc_definitions().get(name, auc_definitions()["source"])
    if name == "impact_ratio":
        return "impact ratio", _plain_rst(inspect.getdoc(four_fifths_verdict) or "")
    for doc in documents:
        text = (doc.get("metric_definitions") or {}).get(name)
        if isinstance(text, str) and text:
            return name.replace("_", " "), text
    return name.replace("_", " "), "Defined by the audit that produced it (no definition given)."


def _metric_names(doc: dict[str, Any]) -> list[str]:
    names: dict[str, None] = {}
    for g in doc.get("groups", []):
        names.update(dict.fromkeys(g.get("metrics", {})))
        if g.get("impact_ratio") is not None:
            names["impact_ratio"] = None
    for s in doc.get("summary", []):
        names[s["metric"]] = None
    if (doc.get("moderation") or {}).get("bias_aucs"):
        names.update(dict.fromkeys(_AUC_NAMES.values()))
    return list(names)


def settings_rows(ri: ReportInput) -> list[tuple[str, str]]:
    """The rules one audit ran under, as (what, value) pairs for the methods table."""
    s = ri.doc.get("settings", {})
    ci = s.get("ci", {})
    rows = []
    if s.get("decision_rule"):
        rows.append(("decision rule", str(s["decision_rule"])))
    if ci:
        rows.append(
            (
                "confidence intervals",
                f"{ci.get('level', 0):.0%} {ci.get('method', '')}; "
                f"{ci.get('resamples')} resamples, seed {ci.get('seed')}",
            )
        )
    ref = s.get("reference")
    if ref is not None:
        ref_text = (
            ", ".join(f"{k} = {v}" for k, v in ref.items()) if isinstance(ref, dict) else str(ref)
        )
        rows.append(("reference group", ref_text))
    if s.get("positive_outcome"):
        rows.append(("a positive decision is", str(s["positive_outcome"]) + " for the person"))
    if s.get("band"):
        lo, hi = s["band"]
        rows.append(("fairness band for ratios", f"[{lo:g}, {hi:g}]"))
    if "min_positives" in s or "min_negatives" in s:
        rows.append(
            (
                "minimum evidence",
                f"{s.get('min_positives')} label positives and {s.get('min_negatives')} label "
                "negatives per group; below that a group is reported as insufficient evidence "
                "and left out of disparity summaries",
            )
        )
    if "min_group_size" in s:
        rows.append(
            (
                "minimum group size",
                f"groups with fewer than {s['min_group_size']} rows are suppressed: named, "
                "never reported with numbers",
            )
        )
    if s.get("slices"):
        rows.append(
            ("slices", "; ".join(attr_name(a if len(a) > 1 else a[0]) for a in s["slices"]))
        )
    if s.get("language"):
        rows.append(("language column", str(s["language"])))
    return rows


def methods(inputs: list[ReportInput]) -> dict[str, Any]:
    """The methods section of the report model.

    Returns
    -------
    dict
        ``metrics``: one ``{name, title, definition}`` per metric any input reports;
        ``auc``: the bias-AUC summary and source when a moderation audit is present;
        ``band``: the band verdict's definition; ``audits``: per audit, its rules and its
        suppressed groups (names only).
    """
    from audit.metrics._disparity import ratio_band_verdict

    results = [ri for ri in inputs if ri.type == "result"]
    docs = [ri.doc for ri in results]
    names: dict[str, None] = {}
    for d in docs:
        names.update(dict.fromkeys(_metric_names(d)))
    metrics = []
    for n in names:
        title, text = definition(n, docs)
        metrics.append({"name": n, "title": title, "definition": text})
    auc = None
    if any(n in _AUC_NAMES.values() for n in names):
        d = auc_definitions()
        auc = {"summary": d.get("generalized_mean", ""), "source": d["source"]}
    audits = [
        {
            "label": ri.label,
            "kind": ri.kind,
            "rules": [{"what": a, "value": b} for a, b in settings_rows(ri)],
            "suppressed": [
                {
                    "attribute": attr_name(s["attribute"]),
                    "group": group_name(s["group"]),
                    "reason": s.get("reason", "suppressed"),
                }
                for s in ri.doc.get("suppressed_groups", [])
            ],
        }
        for ri in results
    ]
    return {
        "metrics": metrics,
        "auc": auc,
        "band": _plain_rst(inspect.getdoc(ratio_band_verdict) or ""),
        "audits": audits,
    }
