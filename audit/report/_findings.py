"""Plain-language findings: one sentence per notable disparity, four-fifths failure or bias test.

Every number in a sentence is read from the result document; nothing is recomputed. A disparity
becomes a finding when its verdict is ``outside_band`` (the group-to-reference ratio lies outside
the document's fairness band); how sure the finding is comes from the ratio's interval
(:func:`audit.report._text.strength`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from audit.kinds import headline_metrics
from audit.report._text import (
    Strength,
    Vocabulary,
    attr_name,
    group_name,
    how_often,
    log_size,
    strength,
    subject,
    vocabulary,
)

__all__ = ["HEADLINE_METRICS", "Finding", "findings_for", "rate_text"]

Finding = dict[str, Any]

#: The metrics a kind's findings and first charts are about (others stay in the tables): each
#: kind's report profile in the registry.
HEADLINE_METRICS: dict[str, tuple[str, ...]] = headline_metrics()

_STRENGTH_ORDER: dict[Strength, int] = {"strong": 3, "likely": 2, "uncertain": 1, "info": 0}


def _capital(s: str) -> str:
    return s[:1].upper() + s[1:]


# What happens to a group, per metric: "{S} ... are wrongly flagged" — S is the subject phrase.
_PREDICATES: dict[str, Callable[[Vocabulary], str]] = {
    "fpr": lambda v: f"{{S}} {v.negative} are wrongly {v.flagged}",
    "fnr": lambda v: f"{{S}} {v.positive} are missed (not {v.flagged})",
    "selection_rate": lambda v: f"{{S}} are {v.flagged}",
    "tpr": lambda v: f"{{S}} {v.positive} are correctly {v.flagged}",
    "tnr": lambda v: f"{{S}} {v.negative} are correctly left alone",
    "precision": lambda v: f"{{S}} that are {v.flagged} are rightly {v.flagged}",
    "accuracy": lambda v: "{S} are classified correctly",
    "fmr": lambda v: "Impostor pairs among {S} are falsely matched",
    "fnmr": lambda v: "Genuine pairs among {S} are falsely rejected",
    "failure_to_detect": lambda v: "Faces among {S} go undetected",
}


def rate_text(value: float | None) -> str:
    """A rate for a sentence: ``31.2%``; tiny rates (FMR) in scientific notation."""
    if value is None:
        return "n/a"
    if 0 < abs(value) < 0.001:
        return f"{value:.1e}"
    return f"{value:.1%}"


def _ci_text(est: Mapping[str, Any], level: float, fmt: Callable[[float], str]) -> str:
    lo, hi = est.get("ci_low"), est.get("ci_high")
    if lo is None or hi is None:
        return ""
    return f", {level:.0%} CI {fmt(lo)}–{fmt(hi)}"


def _metric_value(
    groups: Mapping[tuple[str, str], dict[str, Any]], attr: Any, group: Any, metric: str
) -> float | None:
    g = groups.get((attr_name(attr), group_name(group)))
    if not g:
        return None
    m = g.get("metrics", {}).get(metric)
    return m.get("value") if isinstance(m, dict) else None


def _disparity_findings(
    ri_kind: str,
    doc: dict[str, Any],
    groups: Mapping[tuple[str, str], dict[str, Any]],
    is_suppressed: Callable[[Any, Any], bool],
    describe: Mapping[str, str] | None,
) -> list[Finding]:
    s = doc.get("settings", {})
    band = tuple(s.get("band") or (0.8, 1.25))
    level = (s.get("ci") or {}).get("level", 0.95)
    language = s.get("language")
    v = vocabulary(ri_kind, s.get("positive_outcome"))
    headline = HEADLINE_METRICS.get(ri_kind)
    out = []
    for d in doc.get("disparities", []):
        metric = d.get("metric")
        if headline is not None and metric not in headline:
            continue
        if d.get("verdict") != "outside_band":
            continue
        if is_suppressed(d["attribute"], d["group"]) or is_suppressed(
            d["attribute"], d.get("reference")
        ):
            continue
        ratio = d.get("ratio") or {}
        r = ratio.get("value")
        if r is None or r <= 0:
            continue
        who = subject(ri_kind, d["attribute"], d["group"], language, describe)
        ref = subject(ri_kind, d["attribute"], d["reference"], language, describe)
        pred = _PREDICATES.get(metric)
        gv = _metric_value(groups, d["attribute"], d["group"], metric)
        rv = _metric_value(groups, d["attribute"], d["reference"], metric)
        ci = _ci_text(ratio, level, lambda x: f"{x:.2f}")
        gname = group_name(d["group"])
        if pred is not None and r >= 1:
            values = f"{rate_text(gv)} against {rate_text(rv)}; " if gv is not None else ""
            head = pred(v).replace("{S}", who)
            text = (
                f"{_capital(head)} {how_often(r)} the reference group ({ref}) "
                f"({values}ratio {r:.2f}{ci})."
            )
        elif pred is not None:
            # Said the other way round, so the multiplier reads above one; the ratio quoted is
            # still the document's (group to reference).
            values = f"{rate_text(rv)} against {rate_text(gv)}; " if gv is not None else ""
            head = pred(v).replace("{S}", f"{ref} (the reference group)")
            text = (
                f"{_capital(head)} {how_often(1 / r)} {who} "
                f"({values}ratio of {gname} to the reference {r:.2f}{ci})."
            )
        else:
            text = (
                f"The {metric.replace('_', ' ')} of {who} is {r:.2f} times that of the reference "
                f"group ({ref}){ci and ' (' + ci.lstrip(', ') + ')'}."
            )
        st, hedge = strength(ratio, band)  # type: ignore[arg-type]
        out.append(
            {
                "type": "disparity",
                "strength": st,
                "text": text,
                "caveat": hedge,
                "metric": metric,
                "attribute": attr_name(d["attribute"]),
                "group": group_name(d["group"]),
                "reference": group_name(d["reference"]),
                "ratio": ratio,
                "size": log_size(r),
            }
        )
    return out


def _four_fifths_findings(
    kind: str,
    doc: dict[str, Any],
    groups: Mapping[tuple[str, str], dict[str, Any]],
    describe: Mapping[str, str] | None,
) -> list[Finding]:
    s = doc.get("settings", {})
    level = (s.get("ci") or {}).get("level", 0.95)
    v = vocabulary(kind, s.get("positive_outcome"))
    out = []
    for g in groups.values():
        if (g.get("verdicts") or {}).get("four_fifths") != "fail":
            continue
        ir = g.get("impact_ratio") or {}
        val = ir.get("value")
        if val is None:
            continue
        who = subject(kind, g["attribute"], g["group"], s.get("language"), describe)
        ci = _ci_text(ir, level, lambda x: f"{x:.2f}")
        fav = f" ({v.favourable})" if v.favourable not in ("—", "") else ""
        text = (
            f"{_capital(who)} get the favourable outcome{fav} at {val:.2f} times the rate of the "
            f"most favoured group{ci and ' (' + ci.lstrip(', ') + ')'}: below the four-fifths "
            "threshold of 0.8 (29 CFR 1607.4(D))."
        )
        hi = ir.get("ci_high")
        st: Strength = "strong" if hi is not None and hi < 0.8 else "likely"
        out.append(
            {
                "type": "four_fifths",
                "strength": st,
                "text": text,
                "caveat": "" if st == "strong" else "The interval reaches 0.8.",
                "metric": "impact_ratio",
                "attribute": attr_name(g["attribute"]),
                "group": group_name(g["group"]),
                "reference": None,
                "ratio": ir,
                "size": log_size(val),
            }
        )
    return out


def _moderation_findings(
    doc: dict[str, Any],
    is_suppressed: Callable[[Any, Any], bool],
    describe: Mapping[str, str] | None,
) -> list[Finding]:
    mod = doc.get("moderation") or {}
    s = doc.get("settings", {})
    level = (s.get("ci") or {}).get("level", 0.95)
    out: list[Finding] = []
    for block in mod.get("bias_aucs", []):
        overall = block.get("overall_auc") or {}
        o_lo = overall.get("ci_low")
        if o_lo is None:
            continue
        for which, words in (
            (
                "bpsn_auc",
                "acceptable {S} tend to score higher than violating posts that do not "
                "mention them: a source of false flags",
            ),
            (
                "bnsp_auc",
                "violating {S} tend to score lower than acceptable posts that do not "
                "mention them: a source of missed violations",
            ),
        ):
            rows = [
                g
                for g in block.get("groups", [])
                if not is_suppressed(block["attribute"], g["group"])
                and (g.get(which) or {}).get("ci_high") is not None
            ]
            if not rows:
                continue
            worst = min(rows, key=lambda g: g[which]["value"])
            est = worst[which]
            # A finding only when the whole interval lies below the overall AUC's interval.
            if est["ci_high"] >= o_lo:
                continue
            who = subject(
                "moderation", block["attribute"], worst["group"], s.get("language"), describe
            )
            ci = _ci_text(est, level, lambda x: f"{x:.2f}")
            title = "BPSN" if which == "bpsn_auc" else "BNSP"
            text = (
                f"{_capital(words.replace('{S}', who))} ({title} AUC {est['value']:.2f}{ci}, "
                f"against {overall['value']:.2f} overall)."
            )
            out.append(
                {
                    "type": "bias_auc",
                    "strength": "strong",
                    "text": text,
                    "caveat": "",
                    "metric": which,
                    "attribute": attr_name(block["attribute"]),
                    "group": group_name(worst["group"]),
                    "reference": None,
                    "ratio": None,
                    "size": max(0.0, overall["value"] - est["value"]) * 10,
                }
            )
    swap = mod.get("identity_swap") or {}
    for a in sorted(swap.get("axes", []), key=lambda a: -(a.get("flip_rate") or 0)):
        if not a.get("flip_rate"):
            continue
        text = (
            f"Changing only the identity term in the same sentence changes the decision in "
            f"{a['flip_rate']:.0%} of the {swap.get('templates', '')} templates on the "
            f"{a['axis'].replace('_', ' ')} axis (highest-scored term: '{a.get('highest_term')}', "
            f"lowest: '{a.get('lowest_term')}'; largest score gap {a.get('max_spread', 0):.2f})."
        )
        out.append(
            {
                "type": "identity_swap",
                "strength": "likely",
                "text": text.replace("the  templates", "the templates"),
                "caveat": "Template tests are not a sample of real posts; they show sensitivity "
                "to the identity term alone.",
                "metric": "flip_rate",
                "attribute": a["axis"],
                "group": None,
                "reference": None,
                "ratio": None,
                "size": float(a["flip_rate"]),
            }
        )
    return out


def findings_for(
    kind: str,
    doc: dict[str, Any],
    groups: Mapping[tuple[str, str], dict[str, Any]],
    is_suppressed: Callable[[Any, Any], bool],
    describe: Mapping[str, str] | None = None,
) -> list[Finding]:
    """All findings of one result document, strongest and largest first.

    Parameters
    ----------
    kind
        The audit kind.
    doc
        The result document.
    groups
        Its reportable (not suppressed) group records, keyed by ``(attr_name, group_name)``.
    is_suppressed
        ``f(attribute, group)``: whether the group is suppressed (never named with numbers).
    describe
        Per-attribute subject templates (see :func:`audit.report._text.subject`).
    """
    out = _disparity_findings(kind, doc, groups, is_suppressed, describe)
    out += _four_fifths_findings(kind, doc, groups, describe)
    if kind == "moderation":
        out += _moderation_findings(doc, is_suppressed, describe)
    out.sort(key=lambda f: (-_STRENGTH_ORDER[f["strength"]], -f["size"]))
    return out
