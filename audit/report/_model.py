"""The report model: everything a report shows, built from result documents, as plain JSON data.

The templates only format what is here; the JSON export is this model. Groups a result
document suppressed (fewer rows than its minimum group size) appear only in ``suppressed`` lists,
by name and reason, and never with a number.
"""

from __future__ import annotations

import platform
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from audit.kinds import report_titles
from audit.report._findings import HEADLINE_METRICS, dedupe_key, findings_for, rank_key
from audit.report._inputs import ReportInput, load_inputs
from audit.report._methods import definition, methods
from audit.report._tables import chart, est, metric_fmt, table
from audit.report._text import (
    EU_LANGUAGES,
    GAP_LABELS,
    GAP_MEANING,
    attr_name,
    gap_class,
    group_name,
    short_name,
)

if TYPE_CHECKING:
    from audit.report._meta import ReportMeta

__all__ = ["APPENDIX_START", "REPORT_VERSION", "AuditContext", "build_report"]

#: Version of the report model (the JSON export); bump the major on breaking changes.
REPORT_VERSION = "1.1.0"

#: Top-level keys of a result document this version of the report knows how to show.
_KNOWN_SECTIONS = frozenset(
    {
        "schema_version",
        "kind",
        "settings",
        "overall",
        "groups",
        "suppressed_groups",
        "disparities",
        "summary",
        "provenance",
        "metric_definitions",
        "explanations",
        "threshold_sweep",
    }
)

#: The sections of a report, in order; everything from :data:`APPENDIX_START` on is an annex.
APPENDIX_START = "annexes"

_TOOLING = ("socialaudit", "jinja2", "matplotlib", "weasyprint")

#: Each kind's title: its report profile in the registry.
_KIND_TITLES = report_titles()


@dataclass
class AuditContext:
    """What the section builders of one result document share."""

    ri: ReportInput
    describe: Mapping[str, str] | None = None
    n_charts: int = 0
    suppressed: set[tuple[str, str]] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.suppressed = {
            (attr_name(s["attribute"]), group_name(s["group"]))
            for s in self.ri.doc.get("suppressed_groups", [])
        }

    @property
    def doc(self) -> dict[str, Any]:
        return self.ri.doc

    @property
    def kind(self) -> str:
        return self.ri.kind

    @property
    def settings(self) -> dict[str, Any]:
        return self.doc.get("settings") or {}

    @property
    def level(self) -> float:
        return float((self.settings.get("ci") or {}).get("level", 0.95))

    @property
    def band(self) -> tuple[float, float]:
        b = self.settings.get("band") or (0.8, 1.25)
        return float(b[0]), float(b[1])

    def chart_id(self) -> str:
        """A chart id unique in the report: ``<label>-chart-<n>``."""
        self.n_charts += 1
        return f"{slug(self.ri.label)}-chart-{self.n_charts}"

    def block_id(self, name: str) -> str:
        """An HTML id for a kind-specific block: ``<label>-<name>``."""
        return f"{slug(self.ri.label)}-{slug(name)}"

    def is_suppressed(self, attribute: Any, group: Any) -> bool:
        """Whether a group was suppressed by the audit (never shown with numbers)."""
        if group is None:
            return False
        return (attr_name(attribute), group_name(group)) in self.suppressed


#: Metric columns of one appendix table of a slice's groups (more continue in another table):
#: seven estimates with their intervals is what fits a card at 1024 px and an A4 page.
FULL_TABLE_METRICS = 7


def slug(text: str) -> str:
    """An HTML id fragment: lower case, letters, digits and dashes."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "x"


def _title(name: str, docs: Sequence[dict[str, Any]]) -> str:
    return definition(name, docs)[0]


def _cap(s: str) -> str:
    return s[:1].upper() + s[1:]


def _and(words: Sequence[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    return " and ".join(words) if len(words) < 3 else ", ".join(words[:-1]) + " and " + words[-1]


def _evidence(g: dict[str, Any]) -> str:
    v = g.get("verdicts") or {}
    if v.get("evidence") == "insufficient_evidence":
        return "insufficient evidence"
    ff = v.get("four_fifths")
    return f"four-fifths {ff}" if ff in ("pass", "fail") else (v.get("evidence") or "")


def _insufficient(g: dict[str, Any]) -> bool:
    return (g.get("verdicts") or {}).get("evidence") == "insufficient_evidence"


def _slices(ctx: AuditContext, groups: list[dict[str, Any]]) -> list[Any]:
    order: dict[str, Any] = {}
    for a in ctx.settings.get("slices") or []:
        attr = a[0] if isinstance(a, list) and len(a) == 1 else a
        order[attr_name(attr)] = attr
    for g in groups:
        order.setdefault(attr_name(g["attribute"]), g["attribute"])
    return list(order.values())


def _headline(ctx: AuditContext, groups: list[dict[str, Any]]) -> list[str]:
    present: dict[str, None] = {}
    for g in groups:
        present.update(dict.fromkeys(g.get("metrics", {})))
    wanted = HEADLINE_METRICS.get(ctx.kind)
    if wanted:
        chosen = [m for m in wanted if m in present]
        if chosen:
            return chosen
    return list(present)[:3]


def _slice_section(
    ctx: AuditContext, attribute: Any, rows: list[dict[str, Any]], headline: list[str]
) -> dict[str, Any]:
    doc, docs = ctx.doc, [ctx.doc]
    key = attr_name(attribute)
    language = ctx.settings.get("language")
    is_language = language is not None and attribute == language
    names = [group_name(g["group"]) for g in rows]
    if is_language:
        names = [
            f"{n} ({EU_LANGUAGES[n.lower()]})" if n.lower() in EU_LANGUAGES else n for n in names
        ]
    titles = [_title(m, docs) for m in headline]
    muted = [_insufficient(g) for g in rows]
    level = f"{ctx.level:.0%}"
    # One metric: its two charts sit side by side; several: each chart a panel per metric.
    layout: Literal["half", "full"] = "half" if len(headline) == 1 else "full"

    # 1. per-group rates with interval whiskers
    series = [
        {"label": t, "values": [est(g["metrics"].get(m)) for g in rows]}
        for m, t in zip(headline, titles, strict=True)
    ]
    extremes = []
    for m, t in zip(headline, titles, strict=True):
        vals = [
            (g["metrics"][m]["value"], n)
            for g, n in zip(rows, names, strict=True)
            if (g["metrics"].get(m) or {}).get("value") is not None
        ]
        if vals:
            hi, lo = max(vals), min(vals)
            extremes.append(f"highest {t}: {hi[1]} ({hi[0]:.1%}), lowest: {lo[1]} ({lo[0]:.1%})")
    rates_alt = (
        f"Dot plot of {_and(titles)} for {len(rows)} groups of {key}, each with a {level} "
        f"confidence-interval whisker. " + _cap("; ".join(extremes)) + "."
    )
    cols: list[tuple[str, Any]] = [("group", "text"), ("n", "int")]
    cols += [(t, metric_fmt(m)) for m, t in zip(headline, titles, strict=True)]
    cols += [("evidence", "text")]
    rates_table = table(
        cols,
        (
            [n, g.get("n"), *(est(g["metrics"].get(m)) for m in headline), _evidence(g)]
            for g, n in zip(rows, names, strict=True)
        ),
        muted,
    )
    charts = [
        chart(
            ctx.chart_id(),
            "dots",
            f"{_cap(_and(titles))} by {key}",
            rates_alt,
            {
                "groups": names,
                "series": series,
                "muted": muted,
                "fmt": "rate",
                "facet": True,
                "xlabel": f"rate ({level} interval)",
            },
            rates_table,
            layout=layout,
        )
    ]

    # An intersection's rates are detail: its ratios stay in the body, its rates go to Annex B.
    charts[0]["annex"] = isinstance(attribute, list) and len(attribute) > 1

    # 2. ratios to the reference group against the fairness band
    disp = [
        d
        for d in doc.get("disparities", [])
        if attr_name(d["attribute"]) == key
        and d.get("metric") in headline
        and not ctx.is_suppressed(attribute, d["group"])
        and (d.get("ratio") or {}).get("value") is not None
    ]
    reference = group_name(disp[0]["reference"]) if disp else None
    disparity_table = None
    if disp:
        band_lo, band_hi = ctx.band
        labels = [f"{group_name(d['group'])} · {short_name(d['metric'])}" for d in disp]
        classes = [gap_class(d.get("verdict"), d.get("ratio"), ctx.band) for d in disp]
        counted = [
            f"{sum(c == k for c in classes)} {GAP_LABELS[k]}"
            for k in GAP_LABELS
            if any(c == k for c in classes)
        ]
        clear = [lab for lab, c in zip(labels, classes, strict=True) if c in ("strong", "likely")]
        alt = (
            f"Ratios of each group's rate to the reference group ({reference}) on a log scale, "
            f"with {level} interval whiskers and the fairness band [{band_lo:g}, {band_hi:g}] "
            f"shaded. Of {len(disp)} ratios: {', '.join(counted)}"
            + (
                " (strong or likely: "
                + "; ".join(clear[:4])
                + ("; …" if len(clear) > 4 else "")
                + ")"
                if clear
                else ""
            )
            + "."
        )
        disparity_table = table(
            [
                ("group", "text"),
                ("metric", "text"),
                ("ratio", "ratio"),
                ("difference", "num"),
                ("verdict", "text"),
            ],
            (
                [
                    group_name(d["group"]),
                    short_name(d["metric"]),
                    est(d["ratio"]),
                    est(d.get("difference")),
                    GAP_LABELS[c],
                ]
                for d, c in zip(disp, classes, strict=True)
            ),
            (c == "insufficient" for c in classes),
        )
        groups_in = list(dict.fromkeys(group_name(d["group"]) for d in disp))
        metrics_in = [m for m in headline if any(d["metric"] == m for d in disp)]
        cell = {
            (group_name(d["group"]), d["metric"]): (est(d["ratio"]), c)
            for d, c in zip(disp, classes, strict=True)
        }
        charts.append(
            chart(
                ctx.chart_id(),
                "ratios",
                f"Ratio to the reference group ({reference}), {key}",
                alt,
                {
                    "labels": groups_in,
                    "panels": [
                        {
                            "metric": m,
                            "title": short_name(m),
                            "values": [cell.get((g, m), (None, None))[0] for g in groups_in],
                            "verdicts": [cell.get((g, m), (None, None))[1] for g in groups_in],
                        }
                        for m in metrics_in
                    ],
                    "labels_of": dict(GAP_LABELS),
                    "band": list(ctx.band),
                    "reference": reference,
                },
                disparity_table,
                layout=layout,
            )
        )

    # 3. summaries across the slice
    summ = [s for s in doc.get("summary", []) if attr_name(s["attribute"]) == key]
    summary_table = table(
        [
            ("measure", "text"),
            ("value", "num"),
            ("groups compared", "int"),
            ("left out: insufficient evidence", "text"),
        ],
        (
            [
                s["metric"].replace("_", " "),
                est(s),
                len(s.get("groups_included") or []),
                ", ".join(group_name(x) for x in s.get("groups_excluded_insufficient") or [])
                or "—",
            ]
            for s in summ
        ),
        (s.get("value") is None for s in summ),
    )

    # 4. the full table (appendix); metrics beyond the first FULL_TABLE_METRICS continue in
    # further tables of the same groups, so that no table is wider than its card
    every_metric: dict[str, None] = {}
    for g in rows:
        every_metric.update(dict.fromkeys(g.get("metrics", {})))
    metric_names = list(every_metric)
    all_metrics = metric_names[:FULL_TABLE_METRICS]
    more_metrics = [
        metric_names[i : i + FULL_TABLE_METRICS]
        for i in range(FULL_TABLE_METRICS, len(metric_names), FULL_TABLE_METRICS)
    ]
    has_labels = any("positives" in g for g in rows)
    has_ir = any(g.get("impact_ratio") is not None for g in rows)
    full_cols: list[tuple[str, Any]] = [("group", "text"), ("n", "int")]
    if has_labels:
        full_cols += [("label +", "int"), ("label −", "int")]
    full_cols += [(_title(m, docs), metric_fmt(m)) for m in all_metrics]
    if has_ir:
        full_cols += [("impact ratio", "num")]
    full_cols += [("verdict", "text")]
    full_rows = []
    for g, n in zip(rows, names, strict=True):
        r: list[Any] = [n, g.get("n")]
        if has_labels:
            r += [g.get("positives"), g.get("negatives")]
        r += [est(g["metrics"].get(m)) for m in all_metrics]
        if has_ir:
            r += [est(g.get("impact_ratio"))]
        r += [_evidence(g)]
        full_rows.append(r)

    suppressed = [
        {"group": group_name(s["group"]), "reason": s.get("reason", "suppressed")}
        for s in doc.get("suppressed_groups", [])
        if attr_name(s["attribute"]) == key
    ]
    return {
        "attribute": key,
        "id": f"{slug(ctx.ri.label)}-{slug(key)}",
        "is_language": is_language,
        "is_intersection": isinstance(attribute, list),
        "reference": reference,
        "charts": charts,
        "summary": summary_table if any(s.get("value") is not None for s in summ) else None,
        "full_table": table(full_cols, full_rows, muted),
        "full_table_more": [
            table(
                [("group", "text"), ("n", "int"), *((_title(m, docs), metric_fmt(m)) for m in ms)],
                (
                    [n, g.get("n"), *(est(g["metrics"].get(m)) for m in ms)]
                    for g, n in zip(rows, names, strict=True)
                ),
                muted,
            )
            for ms in more_metrics
        ],
        "disparity_table": disparity_table,
        "suppressed": suppressed,
        "all_insufficient": all(muted),
        "any_insufficient": any(muted),
    }


def _threshold_sweep(ctx: AuditContext) -> list[dict[str, Any]]:
    sweep = ctx.doc.get("threshold_sweep") or {}
    thresholds = sweep.get("thresholds") or []
    out = []
    by_attr: dict[str, list[dict[str, Any]]] = {}
    for s in sweep.get("series") or []:
        if isinstance(s.get("attribute"), list) or ctx.is_suppressed(s["attribute"], s["group"]):
            continue
        if not s.get("fpr"):
            continue
        by_attr.setdefault(attr_name(s["attribute"]), []).append(s)
    for attr, series in by_attr.items():
        if len(series) > 8 or not thresholds:
            continue
        threshold = ctx.settings.get("threshold")
        tbl = table(
            [("threshold", "num"), *((group_name(s["group"]), "rate") for s in series)],
            ([t, *(s["fpr"][i] for s in series)] for i, t in enumerate(thresholds)),
        )
        out.append(
            chart(
                ctx.chart_id(),
                "lines",
                f"False positive rate by decision threshold, {attr}",
                f"Line chart of the false positive rate of each group of {attr} as the decision "
                f"threshold moves from {thresholds[0]:g} to {thresholds[-1]:g}"
                + (f"; the audited threshold {threshold:g} is marked." if threshold else "."),
                {
                    "series": [
                        {"label": group_name(s["group"]), "x": thresholds, "y": s["fpr"]}
                        for s in series
                    ],
                    "xlabel": "decision threshold",
                    "ylabel": "false positive rate",
                    "vline": threshold,
                    "yfmt": "rate",
                },
                tbl,
                layout="half",
            )
        )
    return out


def _explanations(ctx: AuditContext) -> dict[str, Any] | None:
    idx = (ctx.doc.get("explanations") or {}).get("indices")
    if not isinstance(idx, dict):
        return None
    rows: list[list[Any]] = []
    for k, v in idx.items():
        if isinstance(v, int | float):
            rows.append([k.replace("_", " "), v])
        elif isinstance(v, dict):
            rows += [
                [f"{k.replace('_', ' ')} ({a})", x]
                for a, x in v.items()
                if isinstance(x, int | float)
            ]
    if not rows:
        return None
    return {
        "table": table([("index", "text"), ("value", "num")], rows),
        "source": idx.get("source"),
    }


def _overall(ctx: AuditContext) -> dict[str, Any]:
    o = ctx.doc.get("overall") or {}
    metrics = o.get("metrics") or {}
    docs = [ctx.doc]
    return {
        "n": o.get("n"),
        "positives": o.get("positives"),
        "negatives": o.get("negatives"),
        "table": table(
            [("metric", "text"), ("value", "text")],
            ([_title(m, docs), _fmt(est(v), metric_fmt(m))] for m, v in metrics.items()),
        ),
    }


def _model_identity(doc: dict[str, Any]) -> str:
    m = (doc.get("provenance") or {}).get("model") or {}
    kind = m.get("kind", "unknown")
    detail = m.get("name") or m.get("column") or m.get("path") or m.get("url") or ""
    return f"{kind}: {detail}" if detail else str(kind)


def _fmt(x: Any, fmt: str) -> Any:
    """A cell already formatted for a table whose rows mix units (a string in every format)."""
    from audit.report._render import fmt_cell

    return fmt_cell(x, fmt) if x is not None else None


def evidence_rule(settings: Mapping[str, Any]) -> str:
    """What a group needs for a verdict, in the audit's own words where it gives them."""
    if settings.get("evidence_rule"):
        return str(settings["evidence_rule"])
    pos = str(settings.get("positives") or "label positives").split(":")[0]
    neg = str(settings.get("negatives") or "label negatives").split(":")[0]
    need = [
        f"{n} {what}"
        for n, what in ((settings.get("min_positives"), pos), (settings.get("min_negatives"), neg))
        if n
    ]
    return "a group needs at least " + " and ".join(need) if need else "no minimum evidence"


def _not_judged(ctx: AuditContext, groups: list[dict[str, Any]]) -> dict[str, Any]:
    """What this audit could not judge and why: groups short of evidence, undefined summaries."""
    s = ctx.settings
    pos = str(s.get("positives") or "label positives").split(":")[0]
    neg = str(s.get("negatives") or "label negatives").split(":")[0]
    rows = []
    for g in groups:
        if not _insufficient(g):
            continue
        had = [f"{g.get('n')} rows"] if g.get("n") is not None else []
        if g.get("positives") is not None:
            had.append(f"{g['positives']} {pos}")
        if g.get("negatives") is not None and (s.get("min_negatives") or 0) > 0:
            had.append(f"{g['negatives']} {neg}")
        rows.append([attr_name(g["attribute"]), group_name(g["group"]), ", ".join(had)])
    undefined = [
        [
            attr_name(x["attribute"]),
            str(x["metric"]).replace("_", " "),
            x.get("note") or "fewer than two groups with enough evidence",
        ]
        for x in ctx.doc.get("summary", [])
        if x.get("value") is None and (x.get("groups_excluded_insufficient") or x.get("note"))
    ]
    return {
        "rule": evidence_rule(s),
        "groups": [{"attribute": r[0], "group": r[1]} for r in rows],
        "table": table([("slice", "text"), ("group", "text"), ("had", "text")], rows)
        if rows
        else None,
        "undefined": table([("slice", "text"), ("measure", "text"), ("why", "text")], undefined)
        if undefined
        else None,
        "n_groups": len(rows),
        "n_judged": sum(not _insufficient(g) for g in groups),
        "n_undefined": len(undefined),
    }


def _audit_section(ctx: AuditContext) -> dict[str, Any]:
    from audit.report._modelcard import model_card
    from audit.report._sections import kind_sections

    doc = ctx.doc
    groups = [g for g in doc.get("groups", []) if not ctx.is_suppressed(g["attribute"], g["group"])]
    by_key = {(attr_name(g["attribute"]), group_name(g["group"])): g for g in groups}
    extra, known, replaced = kind_sections(ctx)
    shown_groups = [g for g in groups if attr_name(g["attribute"]) not in replaced]
    headline = _headline(ctx, shown_groups)
    slices = []
    for attribute in _slices(ctx, shown_groups):
        if attr_name(attribute) in replaced:
            continue
        rows = [g for g in shown_groups if attr_name(g["attribute"]) == attr_name(attribute)]
        if rows:
            slices.append(_slice_section(ctx, attribute, rows, headline))
    unrendered = sorted(k for k in doc if k not in _KNOWN_SECTIONS and k not in known)
    findings = findings_for(ctx.kind, doc, by_key, ctx.is_suppressed, ctx.describe, headline)
    section = {
        "label": ctx.ri.label,
        "id": slug(ctx.ri.label),
        "kind": ctx.kind,
        "kind_title": _KIND_TITLES.get(ctx.kind, _cap(ctx.kind)),
        "title": f"{_KIND_TITLES.get(ctx.kind, _cap(ctx.kind))} audit: {ctx.ri.label}",
        "is_pii_scan": isinstance(doc.get("pii"), dict),
        "is_pii_eval": isinstance(doc.get("pii_eval"), dict),
        "model": _model_identity(doc),
        "data": [
            {"role": i.get("role"), "path": i.get("path"), "sha256": i.get("sha256")}
            for i in (doc.get("provenance") or {}).get("inputs", [])
        ],
        "decision_rule": ctx.settings.get("decision_rule"),
        "positive_outcome": ctx.settings.get("positive_outcome"),
        "level": ctx.level,
        "band": list(ctx.band),
        "overall": _overall(ctx),
        "headline_metrics": headline,
        "findings": findings,
        "slices": slices,
        "threshold_sweep": _threshold_sweep(ctx),
        "explanations": _explanations(ctx),
        "sections": extra,
        "unrendered_sections": unrendered,
        "suppressed": [
            {
                "attribute": attr_name(s["attribute"]),
                "group": group_name(s["group"]),
                "reason": s.get("reason", "suppressed"),
            }
            for s in doc.get("suppressed_groups", [])
        ],
        "min_group_size": ctx.settings.get("min_group_size"),
        "any_insufficient": any(sl["any_insufficient"] for sl in slices),
        "not_judged": _not_judged(ctx, groups),
    }
    section["model_card"] = model_card(ctx, section)
    return section


def _mark_repeats(audits: list[dict[str, Any]]) -> None:
    """Findings an earlier audit already made (same gap, same estimate) are listed once.

    Each finding gets ``repeat_of`` (the label of the audit that made it first, or ``None``)
    and ``also_in`` (the later audits that repeat it); each audit gets its shown, uncertain and
    repeated findings.
    """
    first: dict[tuple[Any, ...], dict[str, Any]] = {}
    for a in audits:
        for f in a["findings"]:
            key = dedupe_key(a["kind"], f)
            f.setdefault("also_in", [])
            if key in first:
                f["repeat_of"] = first[key]["audit"]
                first[key]["finding"]["also_in"].append(a["label"])
            else:
                f["repeat_of"] = None
                first[key] = {"audit": a["label"], "finding": f}
    for a in audits:
        fs = a["findings"]
        repeats = [f for f in fs if f["repeat_of"]]
        a["findings_shown"] = [
            f for f in fs if not f["repeat_of"] and f["strength"] in ("strong", "likely")
        ]
        a["findings_uncertain"] = [
            f for f in fs if not f["repeat_of"] and f["strength"] not in ("strong", "likely")
        ]
        a["repeats"] = (
            {"of": sorted({f["repeat_of"] for f in repeats}), "count": len(repeats)}
            if repeats
            else None
        )


def _uncertain_table(audits: list[dict[str, Any]]) -> dict[str, Any]:
    """Every uncertain finding of the report in one table (they are not sentences)."""
    rows = []
    for a in audits:
        for f in a["findings_uncertain"]:
            rows.append(
                [
                    a["label"],
                    f["attribute"],
                    f["group"] or "—",
                    short_name(f["metric"]),
                    est(f.get("ratio")),
                    f["reference"] or "—",
                ]
            )
    return table(
        [
            ("audit", "text"),
            ("slice", "text"),
            ("group", "text"),
            ("measure", "text"),
            ("ratio", "ratio"),
            ("reference", "text"),
        ],
        rows,
    )


def _gate_section(ri: ReportInput, suppressed: set[tuple[str, str]]) -> dict[str, Any]:
    from audit.report._sections import gate_section

    return gate_section(ri, suppressed)


def _versions() -> dict[str, str]:
    out = {}
    for name in _TOOLING:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def _provenance(inputs: list[ReportInput]) -> list[dict[str, Any]]:
    out = []
    for ri in inputs:
        p = (ri.doc.get("provenance") or {}) if ri.type == "result" else {}
        out.append(
            {
                "label": ri.label,
                "type": ri.type,
                "kind": ri.kind,
                "file": ri.path,
                "file_sha256": ri.sha256,
                "inputs": p.get("inputs", []),
                "model": p.get("model"),
                "seed": p.get("seed"),
                "policy_sha256": p.get("policy_sha256"),
                "packages": p.get("packages", {}),
                "python": p.get("python"),
                "generated_at": p.get("generated_at") or ri.doc.get("generated_at"),
                "schema_version": ri.doc.get("schema_version") or ri.doc.get("blessing_version"),
            }
        )
    return out


def build_report(
    items: Sequence[str | Path | Mapping[str, Any] | ReportInput],
    *,
    title: str | None = None,
    describe: Mapping[str, str] | None = None,
    generated_at: str | None = None,
    meta: ReportMeta | Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Build the report model from result documents and gate decisions.

    Parameters
    ----------
    items
        Result files (``socialaudit <audit> --out``), gate blessings (``socialaudit gate
        --blessing``), parsed documents, or :class:`ReportInput`; any mix and order.
    title
        The report's title (default: the meta file's ``title``, else "Transparency report").
    describe
        How to name groups in findings, per attribute: ``{"target": "comments about {group}"}``.
    generated_at
        Timestamp to record (default: now, UTC); fixed in tests for reproducible output.
    meta
        Who and what the report is about (:class:`audit.report.ReportMeta`, or a mapping of
        its fields; ``socialaudit report --meta report.yaml``). Without it the cover says that
        these facts were not given.

    Returns
    -------
    dict
        The report model (JSON-serialisable). Top-level keys: ``report_version``, ``title``,
        ``generated_at``, ``tooling``, ``meta``, ``executive``, ``inputs``, ``summary``,
        ``gates``, ``audits``, ``findings``, ``key_findings``, ``uncertain``, ``methods``,
        ``dsa``, ``provenance``, ``privacy``.

    Raises
    ------
    audit.exceptions.DataError
        A file is missing or is not a result document or gate decision.
    audit.exceptions.ConfigError
        ``meta`` is a mapping that is not a valid report meta.

    Examples
    --------
    >>> from audit.report import build_report
    >>> model = build_report(["out/moderation.json"])  # doctest: +SKIP
    >>> model["findings"][0]["text"]  # doctest: +SKIP
    'Posts mentioning muslim that break no rule are wrongly flagged 6.5× as often as ...'
    """
    from audit.report._dsa import dsa_export
    from audit.report._meta import cover, meta_model
    from audit.report._summary import executive_summary

    meta_obj = meta_model(meta)
    inputs = load_inputs(items)
    contexts = [AuditContext(ri, describe) for ri in inputs if ri.type == "result"]
    audits = [_audit_section(c) for c in contexts]
    _mark_repeats(audits)
    all_suppressed = set().union(*(c.suppressed for c in contexts)) if contexts else set()
    gates = [_gate_section(ri, all_suppressed) for ri in inputs if ri.type == "gate"]
    findings = [
        {**f, "audit": a["label"], "audit_id": a["id"]}
        for a in audits
        for f in a["findings"]
        if not f["repeat_of"]
    ]
    findings.sort(key=rank_key)
    n_groups = sum(len(s["full_table"]["rows"]) for a in audits for s in a["slices"])
    executive = executive_summary(audits, gates, {c.ri.label: c.doc for c in contexts})
    report_title = title or (meta_obj.title if meta_obj and meta_obj.title else None)
    return {
        "report_version": REPORT_VERSION,
        "title": report_title or "Transparency report",
        "generated_at": generated_at or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "tooling": {**_versions(), "python": platform.python_version()},
        "meta": cover(meta_obj),
        "executive": executive,
        "appendix_start": APPENDIX_START,
        "vocabulary": {"labels": dict(GAP_LABELS), "meaning": dict(GAP_MEANING)},
        "inputs": [
            {
                "label": ri.label,
                "type": ri.type,
                "kind": ri.kind,
                "path": ri.path,
                "sha256": ri.sha256,
            }
            for ri in inputs
        ],
        "summary": {
            "audits": len(audits),
            "kinds": sorted({a["kind"] for a in audits}),
            "groups_reported": n_groups,
            "groups_suppressed": sum(len(a["suppressed"]) for a in audits),
            "findings": len(findings),
            "strong_findings": sum(f["strength"] == "strong" for f in findings),
            "gate_decisions": [
                {"label": g["label"], "decision": g["decision"], "policy": g["policy"]}
                for g in gates
            ],
        },
        "gates": gates,
        "audits": audits,
        "findings": findings,
        # What a one-screen summary leads with (the CLI, the Markdown): the executive lines.
        "key_findings": [line for a in executive["audits"] for line in a["lines"]],
        "uncertain": _uncertain_table(audits),
        "methods": methods(inputs),
        "dsa": dsa_export(contexts),
        "provenance": _provenance(inputs),
        "privacy": {
            "suppressed_groups": [
                {"audit": a["label"], **s} for a in audits for s in a["suppressed"]
            ],
            "statement": (
                "Groups smaller than an audit's minimum group size are named here and never "
                "reported with numbers. The report holds no raw personal data: result documents "
                "carry counts and rates, and PII audits only masked samples."
            ),
        },
    }
