"""Plain-language findings: one sentence per notable disparity, four-fifths failure or bias test.

Every number in a sentence is read from the result document; nothing is recomputed. A disparity
becomes a finding when its verdict is ``outside_band`` (the group-to-reference ratio lies outside
the document's fairness band); how sure the finding is comes from the ratio's interval
(:func:`audit.report._text.strength`).

A disparity sentence always has the group as its subject and names the reference group of its
disparity record as "the reference group (...)", whichever way the ratio goes: "Cases with race
= Caucasian with a negative label are wrongly flagged 1.9× less often than the reference group
(cases with race = African-American)".

Findings are ranked by effect and evidence (:func:`rank_key`): strong before likely before
uncertain; single attributes before their intersections; then by how many half-widths of its
interval the estimate lies from parity on a log scale, so a large gap measured on few cases and
a small gap measured on many both give way to a clear gap measured well.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
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

__all__ = [
    "HEADLINE_METRICS",
    "Finding",
    "dedupe_key",
    "findings_for",
    "rank_key",
    "rate_text",
]

Finding = dict[str, Any]

#: The metrics a kind's findings and first charts are about (others stay in the tables), in the
#: order a summary line lists them: each kind's report profile in the registry.
HEADLINE_METRICS: dict[str, tuple[str, ...]] = headline_metrics()

#: Stands in for an unbounded rank or size (a ratio of 0 with a zero-width interval), in JSON.
_HUGE = 1e6

_STRENGTH_ORDER: dict[str, int] = {"strong": 3, "likely": 2, "uncertain": 1, "info": 0}


def _capital(s: str) -> str:
    return s[:1].upper() + s[1:]


def _squash(s: str) -> str:
    return " ".join(s.split())


# What happens to a group, per rate: "{S} ... are wrongly flagged" — S is the subject phrase.
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
    "ftd": lambda v: "Faces among {S} go undetected",
    "failure_to_detect": lambda v: "Faces among {S} go undetected",
}

#: Ranking-quality metrics of a recommendation audit: higher is better, ``{k}`` is the list length.
_QUALITY: dict[str, tuple[str, str]] = {
    "ndcg": ("ranking quality (NDCG@{k})", "num"),
    "recall": ("recall@{k}", "rate"),
    "hit_rate": ("hit rate@{k}", "rate"),
    "precision": ("precision@{k}", "rate"),
}


def rate_text(value: float | None) -> str:
    """A rate for a sentence: ``31.2%``; tiny rates (FMR) in scientific notation."""
    if value is None:
        return "n/a"
    if 0 < abs(value) < 0.001:
        return f"{value:.1e}"
    return f"{value:.1%}"


def _value_text(value: float | None, fmt: str) -> str:
    if value is None:
        return "n/a"
    return f"{value:.3f}" if fmt == "num" else rate_text(value)


def _ci_text(est: Mapping[str, Any], level: float, fmt: Callable[[float], str]) -> str:
    lo, hi = est.get("ci_low"), est.get("ci_high")
    if lo is None or hi is None:
        return ""
    return f", {level:.0%} CI {fmt(lo)}–{fmt(hi)}"


def _compare(r: float) -> str:
    """``3.2× higher``, ``2.1× lower``, ``none at all`` (for a ratio of 0)."""
    if r == 0:
        return "none at all"
    return f"{r:.1f}× higher" if r >= 1 else f"{1 / r:.1f}× lower"


def _metric_value(
    groups: Mapping[tuple[str, str], dict[str, Any]], attr: Any, group: Any, metric: str
) -> float | None:
    g = groups.get((attr_name(attr), group_name(group)))
    if not g:
        return None
    m = g.get("metrics", {}).get(metric)
    return m.get("value") if isinstance(m, dict) else None


def _log_rank(est: Mapping[str, Any] | None) -> float:
    """Half-widths of the interval between the estimate and parity (1), on a log scale."""
    if not est or est.get("value") is None:
        return 0.0
    lo, hi = est.get("ci_low"), est.get("ci_high")
    if lo is None or hi is None:
        return 0.0

    def ln(x: float) -> float:
        return math.log(max(float(x), 1e-6))

    x, half = ln(est["value"]), (ln(hi) - ln(lo)) / 2
    if half <= 0:
        return _HUGE if abs(x) > 0 else 0.0
    return abs(x) / half


def rank_key(f: Finding) -> tuple[int, int, float]:
    """Sort key of a finding, best first: strength, single before intersection, evidence."""
    return (-_STRENGTH_ORDER.get(f["strength"], 0), int(" × " in str(f["attribute"])), -f["rank"])


def dedupe_key(kind: str, f: Finding) -> tuple[Any, ...]:
    """Two audits that find the same gap (same group, reference, metric, estimate) share it."""
    est = f.get("ratio") or {}
    value = est.get("value") if isinstance(est, dict) else None
    return (
        kind,
        f["type"],
        f["metric"],
        f["attribute"],
        f["group"],
        f["reference"],
        None if value is None else round(float(value), 6),
    )


def _disparity_findings(
    kind: str,
    doc: dict[str, Any],
    groups: Mapping[tuple[str, str], dict[str, Any]],
    is_suppressed: Callable[[Any, Any], bool],
    describe: Mapping[str, str] | None,
    headline: Sequence[str] | None,
) -> list[Finding]:
    s = doc.get("settings", {})
    band = tuple(s.get("band") or (0.8, 1.25))
    level = (s.get("ci") or {}).get("level", 0.95)
    language = s.get("language")
    v = vocabulary(kind, s.get("positive_outcome"))
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
        if r is None or r < 0 or not math.isfinite(r):
            continue
        who = subject(kind, d["attribute"], d["group"], language, describe)
        ref = subject(kind, d["attribute"], d["reference"], language, describe)
        gv = _metric_value(groups, d["attribute"], d["group"], metric)
        rv = _metric_value(groups, d["attribute"], d["reference"], metric)
        ci = _ci_text(ratio, level, lambda x: f"{x:.2f}")
        pred = _PREDICATES.get(metric)
        quality = _QUALITY.get(metric) if kind == "recommendation" else None
        if quality is not None:
            title = quality[0].format(k=s.get("k", "k"))
            gt, rt = _value_text(gv, quality[1]), _value_text(rv, quality[1])
            text = (
                f"{_capital(who)} get a {title} of {gt}, against {rt} for the reference group "
                f"({ref}): {_compare(r)} (ratio {r:.2f}{ci})."
            )
            short = f"{title} {gt} against {rt} ({_compare(r)})"
            clause = f"{title} {gt} against {rt} ({_compare(r)}; ratio {r:.2f}{ci})"
        elif pred is not None:
            from audit.report._methods import definition

            title = definition(metric, [doc])[0]
            gt, rt = rate_text(gv), rate_text(rv)
            values = f"{gt} against {rt}; " if gv is not None and rv is not None else ""
            head = _squash(pred(v).replace("{S}", who))
            if r == 0:
                how = f"in {gt} of cases, against {rt} in"
                text = f"{_capital(head)} {how} the reference group ({ref}) (ratio 0.00{ci})."
            else:
                text = (
                    f"{_capital(head)} {how_often(r)} the reference group ({ref}) "
                    f"({values}ratio {r:.2f}{ci})."
                )
            short = f"{title} {gt} against {rt} ({_compare(r)})"
            clause = f"{title} {gt} against {rt} ({_compare(r)}; ratio {r:.2f}{ci})"
        else:
            title = metric.replace("_", " ")
            text = (
                f"The {title} of {who} is {r:.2f} times that of the reference group "
                f"({ref}){ci and ' (' + ci.lstrip(', ') + ')'}."
            )
            short = f"{title} {r:.2f}× the reference"
            clause = f"{title} {r:.2f}× the reference{ci}"
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
                "subject": who,
                "reference_subject": ref,
                "clause": clause,
                "clause_short": short,
                "ratio": ratio,
                "size": log_size(r) if r > 0 else _HUGE,
                "rank": _log_rank(ratio),
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
                "subject": who,
                "ratio": ir,
                "size": log_size(val),
                "rank": _log_rank(ir),
            }
        )
    return out


def _exposure_findings(
    doc: dict[str, Any], is_suppressed: Callable[[Any, Any], bool]
) -> list[Finding]:
    """Provider groups of a recommendation audit whose exposure is out of line with relevance."""
    s = doc.get("settings", {})
    band = tuple(s.get("band") or (0.8, 1.25))
    level = (s.get("ci") or {}).get("level", 0.95)
    out: list[Finding] = []
    for g in doc.get("groups", []):
        if g.get("side") != "provider" or is_suppressed(g["attribute"], g["group"]):
            continue
        if (g.get("verdicts") or {}).get("exposure_vs_relevance") != "outside_band":
            continue
        m = g.get("metrics") or {}
        ratio = m.get("exposure_to_relevance_ratio") or {}
        r = ratio.get("value")
        if r is None or r < 0:
            continue
        who = f"items with {attr_name(g['attribute'])} = {group_name(g['group'])}"
        es = rate_text((m.get("exposure_share") or {}).get("value"))
        rs = rate_text((m.get("relevance_share") or {}).get("value"))
        if r == 0:
            how = "no exposure at all"
        elif r >= 1:
            how = f"{r:.1f}× their share"
        else:
            how = f"{1 / r:.1f}× less than their share"
        ci = _ci_text(ratio, level, lambda x: f"{x:.2f}")
        text = (
            f"{_capital(who)} get {es} of the exposure for {rs} of the relevant items: {how} "
            f"(exposure-to-relevance ratio {r:.2f}{ci})."
        )
        st, hedge = strength(ratio, band)  # type: ignore[arg-type]
        out.append(
            {
                "type": "exposure",
                "strength": st,
                "text": text,
                "caveat": hedge,
                "metric": "exposure_to_relevance_ratio",
                "attribute": attr_name(g["attribute"]),
                "group": group_name(g["group"]),
                "reference": None,
                "subject": who,
                "ratio": ratio,
                "size": log_size(r) if r > 0 else _HUGE,
                "rank": _log_rank(ratio),
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
            half = (est["ci_high"] - est["ci_low"]) / 2 if est.get("ci_low") is not None else 0
            gap = max(0.0, overall["value"] - est["value"])
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
                    "subject": who,
                    "ratio": None,
                    "size": gap * 10,
                    "rank": gap / half if half > 0 else _HUGE,
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
                "clause": f"{a['flip_rate']:.0%} of them on the {a['axis'].replace('_', ' ')} "
                f"axis ('{a.get('highest_term')}' scored highest, '{a.get('lowest_term')}' lowest)",
                "templates": swap.get("templates"),
                "caveat": "Template tests are not a sample of real posts; they show sensitivity "
                "to the identity term alone.",
                "metric": "flip_rate",
                "attribute": a["axis"],
                "group": None,
                "reference": None,
                "subject": None,
                "ratio": None,
                "size": float(a["flip_rate"]),
                "rank": float(a["flip_rate"]) * 10,
            }
        )
    return out


def findings_for(
    kind: str,
    doc: dict[str, Any],
    groups: Mapping[tuple[str, str], dict[str, Any]],
    is_suppressed: Callable[[Any, Any], bool],
    describe: Mapping[str, str] | None = None,
    headline: Sequence[str] | None = None,
) -> list[Finding]:
    """All findings of one result document, best first (:func:`rank_key`).

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
    headline
        The metrics disparities are reported for (the ones the report charts); default
        :data:`HEADLINE_METRICS` of the kind, every metric for a kind not listed there.
    """
    if headline is None:
        headline = HEADLINE_METRICS.get(kind)
    out = _disparity_findings(kind, doc, groups, is_suppressed, describe, headline)
    out += _four_fifths_findings(kind, doc, groups, describe)
    if kind == "moderation":
        out += _moderation_findings(doc, is_suppressed, describe)
    if kind == "recommendation":
        out += _exposure_findings(doc, is_suppressed)
    out.sort(key=rank_key)
    return out
