"""Sections specific to one audit kind, and the gate decision.

Each reader takes the audit's own section of the result document (``moderation``, ``face``,
``recommendation``, ``pii``) and turns what it recognises into charts and tables. Readers are
tolerant: a field they do not find is left out, and a section they cannot read at all is listed
as "not shown" rather than failing the report. The shapes each reader understands are listed in
``docs/reports.md``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from audit.report._tables import chart, est, table
from audit.report._text import attr_name, group_name

if TYPE_CHECKING:
    from audit.report._inputs import ReportInput
    from audit.report._model import AuditContext

__all__ = ["MASK_CHARACTERS", "gate_section", "kind_sections"]

Block = dict[str, Any]

#: A PII sample is shown only if it contains one of these (it was masked by the PII audit).
MASK_CHARACTERS = ("*", "█", "•", "<", "[")


def _block(title: str, id_: str, **kw: Any) -> Block:
    return {
        "title": title,
        "id": id_,
        "intro": kw.get("intro"),
        "charts": kw.get("charts", []),
        "tables": kw.get("tables", []),
        "notes": kw.get("notes", []),
    }


def _num(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def _walk(d: Any, depth: int = 2) -> Iterator[tuple[str, Any]]:
    """(key, value) pairs of nested dicts, breadth first, to ``depth`` levels."""
    if not isinstance(d, dict):
        return
    level = [d]
    for _ in range(depth):
        nxt = []
        for node in level:
            for k, v in node.items():
                yield k, v
                if isinstance(v, dict):
                    nxt.append(v)
        level = nxt


def _scalars(d: dict[str, Any]) -> dict[str, Any]:
    return {
        k: v
        for k, v in d.items()
        if (_num(v) or (isinstance(v, str) and len(v) < 120) or est(v) is not None)
        and not isinstance(v, bool)
    }


def _scalar_table(d: dict[str, Any]) -> dict[str, Any] | None:
    sc = _scalars(d)
    if not sc:
        return None
    return table(
        [("measure", "text"), ("value", "num")],
        ([k.replace("_", " "), est(v) if not isinstance(v, str) else v] for k, v in sc.items()),
    )


# --- moderation ---------------------------------------------------------------------------


def _moderation(ctx: AuditContext) -> list[Block]:
    mod = ctx.doc.get("moderation") or {}
    blocks = []
    level = f"{ctx.level:.0%}"
    for block in mod.get("bias_aucs", []):
        attr = block["attribute"]
        rows = [g for g in block.get("groups", []) if not ctx.is_suppressed(attr, g["group"])]
        if not rows:
            continue
        names = [group_name(g["group"]) for g in rows]
        kinds = [
            ("subgroup_auc", "subgroup AUC"),
            ("bpsn_auc", "BPSN AUC"),
            ("bnsp_auc", "BNSP AUC"),
        ]
        worst = min(rows, key=lambda g: (g.get("bpsn_auc") or {}).get("value") or 1.0)
        overall = block.get("overall_auc") or {}
        tbl = table(
            [("group", "text"), ("n", "int"), *((t, "num") for _, t in kinds)],
            (
                [n, g.get("n"), *(est(g.get(k)) for k, _ in kinds)]
                for g, n in zip(rows, names, strict=True)
            ),
        )
        c = chart(
            ctx.chart_id(),
            "dots",
            f"Bias AUCs by {attr_name(attr)}",
            f"Dot plot of subgroup, BPSN and BNSP AUCs for {len(rows)} groups of "
            f"{attr_name(attr)} with {level} intervals; the overall AUC "
            f"{(overall.get('value') or 0):.2f} is marked. Lowest BPSN AUC: "
            f"{group_name(worst['group'])} ({(worst.get('bpsn_auc') or {}).get('value', 0):.2f}).",
            {
                "groups": names,
                "series": [{"label": t, "values": [est(g.get(k)) for g in rows]} for k, t in kinds],
                "muted": [False] * len(rows),
                "fmt": "num",
                "xlabel": f"AUC ({level} interval); 1 = perfect, 0.5 = chance",
                "vline": overall.get("value"),
            },
            tbl,
        )
        summary = table(
            [("measure", "text"), ("value", "num")],
            [
                ["overall AUC", est(overall)],
                *(
                    [f"generalized mean (p = {block.get('power', -5):g}) of {t}", est(v)]
                    for k, t in kinds
                    if (v := (block.get("generalized_means") or {}).get(k)) is not None
                ),
                ["final bias score", est(block.get("final_score"))],
            ],
        )
        blocks.append(
            _block(
                f"Threshold-free bias AUCs by {attr_name(attr)}",
                ctx.block_id(f"auc-{attr_name(attr)}"),
                intro="Subgroup, BPSN and BNSP AUCs (Borkan et al. 2019): low values mean the "
                "model's scores treat posts mentioning the group differently from the rest.",
                charts=[c],
                tables=[{"title": "Summary", "table": summary}],
            )
        )
    swap = mod.get("identity_swap")
    if isinstance(swap, dict) and swap.get("axes"):
        axes = swap["axes"]
        tbl = table(
            [
                ("axis", "text"),
                ("terms", "int"),
                ("flip rate", "rate"),
                ("mean spread", "num"),
                ("max spread", "num"),
                ("highest", "text"),
                ("lowest", "text"),
            ],
            (
                [
                    a["axis"].replace("_", " "),
                    a.get("terms"),
                    a.get("flip_rate"),
                    a.get("mean_spread"),
                    a.get("max_spread"),
                    a.get("highest_term"),
                    a.get("lowest_term"),
                ]
                for a in axes
            ),
        )
        c = chart(
            ctx.chart_id(),
            "bars",
            "Identity swaps: share of templates whose decision flips",
            f"Bar chart of the share of {swap.get('templates')} template sentences whose "
            "decision changes when only the identity term changes, per identity axis: "
            + "; ".join(f"{a['axis'].replace('_', ' ')} {a.get('flip_rate', 0):.0%}" for a in axes)
            + ".",
            {
                "categories": [a["axis"].replace("_", " ") for a in axes],
                "series": [{"label": "flip rate", "values": [a.get("flip_rate") for a in axes]}],
                "fmt": "rate",
                "xlabel": "share of templates whose decision flips",
            },
            tbl,
        )
        terms = swap.get("terms") or []
        term_table = table(
            [("axis", "text"), ("term", "text"), ("mean score", "num"), ("flag rate", "rate")],
            (
                [
                    t.get("axis", "").replace("_", " "),
                    t.get("term"),
                    t.get("mean_score"),
                    t.get("flag_rate"),
                ]
                for t in terms
            ),
        )
        blocks.append(
            _block(
                "Identity-swap template tests",
                ctx.block_id("identity-swap"),
                intro=f"{swap.get('templates')} template sentences filled with each identity "
                "term; a fair model scores them alike. Spread is the gap between the highest- "
                "and lowest-scored term in a template.",
                charts=[c],
                tables=[{"title": "Scores per term", "table": term_table}] if terms else [],
            )
        )
    return blocks


# --- face ---------------------------------------------------------------------------------


def _find_matrix(face: dict[str, Any]) -> tuple[str, list[str], list[str], list[list[Any]]] | None:
    for key, v in _walk(face):
        if not isinstance(v, dict):
            continue
        labels = v.get("groups") or v.get("labels")
        rows_l = v.get("rows") or labels
        cols_l = v.get("columns") or labels
        for mk in ("log10_fmr", "fmr", "matrix", "values"):
            m = v.get(mk)
            if (
                isinstance(m, list)
                and m
                and all(isinstance(r, list) for r in m)
                and rows_l
                and cols_l
                and len(m) == len(rows_l)
            ):
                return (
                    f"{key}.{mk}",
                    [group_name(x) for x in rows_l],
                    [group_name(x) for x in cols_l],
                    m,
                )
    return None


def _find_curves(face: dict[str, Any]) -> list[dict[str, Any]]:
    for key, v in _walk(face):
        if "det" not in key.lower() and "curve" not in key.lower():
            continue
        items = []
        if isinstance(v, list):
            items = [
                (group_name(c.get("group", c.get("label", "?"))), c)
                for c in v
                if isinstance(c, dict)
            ]
        elif isinstance(v, dict):
            items = [(str(k), c) for k, c in v.items() if isinstance(c, dict)]
        curves = [
            {"label": name, "x": c["fmr"], "y": c["fnmr"]}
            for name, c in items
            if isinstance(c.get("fmr"), list) and isinstance(c.get("fnmr"), list)
        ]
        if curves:
            return curves
    return []


def _face(ctx: AuditContext) -> list[Block]:
    face = ctx.doc.get("face")
    if not isinstance(face, dict):
        return []
    charts = []
    tables = []
    found = _find_matrix(face)
    attr = (ctx.settings.get("attributes") or ["group"])[0]
    if found:
        key, rows, cols, m = found
        keep_r = [i for i, r in enumerate(rows) if not ctx.is_suppressed(attr, r)]
        keep_c = [j for j, c in enumerate(cols) if not ctx.is_suppressed(attr, c)]
        rows = [rows[i] for i in keep_r]
        cols = [cols[j] for j in keep_c]
        m = [[m[i][j] for j in keep_c] for i in keep_r]
        is_log = "log10" in key
        flat = [x for r in m for x in r if _num(x)]
        hi = max(flat) if flat else None
        charts.append(
            chart(
                ctx.chart_id(),
                "heatmap",
                "Cross-group false-match rate (impostor pairs)",
                f"Heat map of the false-match rate between the {len(rows)} groups "
                f"({'log10 values' if is_log else 'log colour scale'}), as in NIST FRVT report "
                f"cards; highest cell {hi if hi is None else format(hi, '.3g')}.",
                {
                    "rows": rows,
                    "columns": cols,
                    "matrix": m,
                    "is_log10": is_log,
                    "colorbar": "log10 FMR" if is_log else "FMR",
                },
                table(
                    [("group", "text"), *((c, "num" if is_log else "sci") for c in cols)],
                    ([r, *row] for r, row in zip(rows, m, strict=True)),
                ),
            )
        )
    curves = [c for c in _find_curves(face) if not ctx.is_suppressed(attr, c["label"])]
    if curves:
        rows_t = []
        for c in curves:
            step = max(1, len(c["x"]) // 10)
            rows_t += [
                [c["label"], x, y] for x, y in list(zip(c["x"], c["y"], strict=False))[::step]
            ]
        charts.append(
            chart(
                ctx.chart_id(),
                "lines",
                "Detection error trade-off (DET) per group",
                f"DET curves of {len(curves)} groups: false non-match rate against false-match "
                "rate on log axes; a curve further down and left is better.",
                {
                    "series": curves,
                    "xlabel": "false-match rate (FMR)",
                    "ylabel": "false non-match rate (FNMR)",
                    "xlog": True,
                    "ylog": True,
                    "yfmt": "sci",
                },
                table([("group", "text"), ("FMR", "sci"), ("FNMR", "sci")], rows_t),
            )
        )
    sc = _scalar_table(face)
    if sc:
        tables.append({"title": "Operating point", "table": sc})
    if not charts and not tables:
        return []
    return [
        _block(
            "Face verification (NIST FRVT style)",
            ctx.block_id("face"),
            intro="One global threshold; false-match rates over impostor pairs and "
            "false non-match rates over genuine pairs per group.",
            charts=charts,
            tables=tables,
        )
    ]


# --- recommendation -----------------------------------------------------------------------

_SHARES = (
    "exposure_share",
    "catalogue_share",
    "relevance_share",
    "eligible_share",
    "delivery_share",
)


def _share_rows(section: dict[str, Any]) -> tuple[str, list[dict[str, Any]]] | None:
    for key, v in _walk(section):
        if (
            isinstance(v, list)
            and v
            and all(isinstance(r, dict) for r in v)
            and any(any(s in r for s in _SHARES) for r in v)
        ):
            return key, v
    return None


def _shares(ctx: AuditContext, key: str) -> list[Block]:
    section = ctx.doc.get(key)
    if not isinstance(section, dict):
        return []
    found = _share_rows(section)
    charts, tables = [], []
    if found:
        _, rows = found
        rows = [r for r in rows if not ctx.is_suppressed(r.get("attribute", ""), r.get("group"))]
        cats = [group_name(r.get("group", r.get("label", "?"))) for r in rows]
        present = [s for s in _SHARES if any(s in r for r in rows)]
        series = [
            {
                "label": s.replace("_", " "),
                "values": [(est(r.get(s)) or {}).get("value") for r in rows],
            }
            for s in present
        ]
        tbl = table(
            [("group", "text"), *((s.replace("_", " "), "rate") for s in present)],
            ([c, *(est(r.get(s)) for s in present)] for c, r in zip(cats, rows, strict=True)),
        )
        charts.append(
            chart(
                ctx.chart_id(),
                "bars",
                f"{present[0].replace('_', ' ').capitalize()} per group",
                f"Grouped bar chart of {', '.join(s.replace('_', ' ') for s in present)} for "
                f"{len(rows)} groups; "
                + "; ".join(
                    f"{c} {(est(r.get(present[0])) or {}).get('value') or 0:.1%}"
                    for c, r in zip(cats, rows, strict=True)
                )
                + ".",
                {
                    "categories": cats,
                    "series": series,
                    "fmt": "rate",
                    "xlabel": "share (position-weighted exposure: 1/log2(1 + rank))",
                },
                tbl,
            )
        )
    sc = _scalar_table(section)
    if sc:
        tables.append({"title": "Catalogue-level measures", "table": sc})
    if not charts and not tables:
        return []
    title = "Exposure per provider group" if key == "recommendation" else "Delivery per group"
    return [_block(title, ctx.block_id(key), charts=charts, tables=tables)]


# --- pii ----------------------------------------------------------------------------------


def _counts(v: Any, label_keys: tuple[str, ...]) -> dict[str, Any] | None:
    if isinstance(v, dict) and v and all(_num(x) for x in v.values()):
        return dict(v)
    if isinstance(v, dict) and v and all(isinstance(x, dict) for x in v.values()):
        return {str(k): x for k, x in v.items()}
    if isinstance(v, list) and v and all(isinstance(r, dict) for r in v):
        out = {}
        for r in v:
            label = next((r[k] for k in label_keys if k in r), None)
            if label is not None:
                out[str(label)] = r.get("count", r.get("findings", r))
        return out or None
    return None


def _masked(value: Any) -> bool:
    return isinstance(value, str) and any(c in value for c in MASK_CHARACTERS)


def _pii(ctx: AuditContext) -> list[Block]:
    pii = ctx.doc.get("pii")
    if not isinstance(pii, dict):
        return []
    charts, tables, notes = [], [], []
    by_type = by_sev = None
    for key, v in _walk(pii):
        k = key.lower()
        if by_type is None and ("type" in k or "entit" in k) and k != "entity_type":
            by_type = _counts(v, ("entity_type", "type"))
        if by_sev is None and "severit" in k:
            by_sev = _counts(v, ("severity",))
    if by_type:
        # {type: count} or {type: {severity: count}} (stacked by severity)
        nested = all(isinstance(x, dict) for x in by_type.values())
        types = list(by_type)
        if nested:
            sevs = [s for s in ("HIGH", "MEDIUM", "LOW") if any(s in by_type[t] for t in types)]
            sevs += sorted(
                {s for t in types for s in by_type[t] if s not in sevs and _num(by_type[t][s])}
            )
            series = [{"label": s, "values": [by_type[t].get(s, 0) for t in types]} for s in sevs]
        else:
            series = [{"label": "findings", "values": [by_type[t] for t in types]}]
        tbl = table(
            [("entity type", "text"), *((str(s["label"]), "int") for s in series)],
            ([t, *(s["values"][i] for s in series)] for i, t in enumerate(types)),
        )
        charts.append(
            chart(
                ctx.chart_id(),
                "bars",
                "PII findings by entity type" + (" and severity" if nested else ""),
                f"Bar chart of PII findings for {len(types)} entity types"
                + (", stacked by severity" if nested else "")
                + ": "
                + "; ".join(
                    f"{t} {sum(s['values'][i] for s in series if _num(s['values'][i]))}"
                    for i, t in enumerate(types)
                )
                + ".",
                {
                    "categories": types,
                    "series": series,
                    "fmt": "int",
                    "stacked": nested,
                    "xlabel": "findings",
                },
                tbl,
            )
        )
    if by_sev and all(_num(x) for x in by_sev.values()):
        sevs = list(by_sev)
        charts.append(
            chart(
                ctx.chart_id(),
                "bars",
                "PII findings by severity",
                "Bar chart of PII findings by severity: "
                + "; ".join(f"{s} {by_sev[s]}" for s in sevs)
                + ".",
                {
                    "categories": sevs,
                    "series": [{"label": "findings", "values": [by_sev[s] for s in sevs]}],
                    "fmt": "int",
                    "xlabel": "findings",
                },
                table([("severity", "text"), ("findings", "int")], ([s, by_sev[s]] for s in sevs)),
            )
        )
    samples = None
    for key, v in _walk(pii):
        if "sample" in key.lower() and isinstance(v, list):
            samples = v
            break
    if samples:
        rows, hidden = [], 0
        for s in samples:
            if isinstance(s, dict):
                text = next(
                    (s[k] for k in s if "mask" in k.lower() or k.lower() in ("sample", "text")),
                    None,
                )
                kind = s.get("entity_type") or s.get("type") or ""
            else:
                text, kind = s, ""
            if _masked(text):
                rows.append([kind, text])
            else:
                hidden += 1
        if rows:
            tables.append(
                {
                    "title": "Masked samples",
                    "table": table([("entity type", "text"), ("masked sample", "text")], rows),
                }
            )
        if hidden:
            notes.append(f"{hidden} samples were not shown because they did not look masked.")
    sc = _scalar_table(pii)
    if sc:
        tables.append({"title": "Totals", "table": sc})
    if not (charts or tables or notes):
        return []
    return [
        _block(
            "Personal data found",
            ctx.block_id("pii"),
            intro="Counts by entity type and severity; samples are masked by the PII "
            "audit and a raw value never appears in this report.",
            charts=charts,
            tables=tables,
            notes=notes,
        )
    ]


def kind_sections(ctx: AuditContext) -> tuple[list[Block], set[str]]:
    """The kind-specific blocks of one audit and the document keys they consumed."""
    blocks: list[Block] = []
    known: set[str] = set()
    readers = (("moderation", _moderation), ("face", _face), ("pii", _pii))
    for key, reader in readers:
        if key in ctx.doc:
            got = reader(ctx)
            if got or key == "moderation":
                known.add(key)
            blocks += got
    for key in ("recommendation", "exposure", "ads", "delivery"):
        if key in ctx.doc:
            got = _shares(ctx, key)
            if got:
                known.add(key)
            blocks += got
    return blocks, known


# --- gate ---------------------------------------------------------------------------------

_STATUS_ORDER = {"FAIL": 0, "WARN": 1, "INSUFFICIENT": 2, "PASS": 3}


def gate_section(ri: ReportInput, suppressed: set[tuple[str, str]]) -> dict[str, Any]:
    """A gate decision (blessing) as shown in the report: decision, counts, non-passing checks.

    Observations about a group any audit of the report suppressed are dropped.
    """
    doc = ri.doc
    policy = doc.get("policy")
    if isinstance(policy, dict):
        policy_ref = f"{policy.get('id', '?')}@{policy.get('version', '?')}"
    else:
        policy_ref = str(policy) if policy else "unknown policy"
    every = [o for o in doc.get("observations") or [] if isinstance(o, dict)]
    obs = [
        o
        for o in every
        if (attr_name(o.get("attribute")), group_name(o.get("group"))) not in suppressed
    ]

    def where(o: dict[str, Any]) -> str:
        parts = [
            attr_name(o["attribute"]) if o.get("attribute") else "",
            group_name(o["group"]) if o.get("group") else "",
        ]
        return " ".join(x for x in parts if x) or "overall"

    def rows(status: tuple[str, ...]) -> dict[str, Any]:
        chosen = sorted(
            (o for o in obs if o.get("status") in status),
            key=lambda o: _STATUS_ORDER.get(str(o.get("status")), 9),
        )
        return table(
            [
                ("status", "text"),
                ("check", "text"),
                ("result", "text"),
                ("metric", "text"),
                ("where", "text"),
                ("value", "num"),
                ("threshold", "text"),
                ("reason", "text"),
            ],
            (
                [
                    o.get("status"),
                    o.get("check"),
                    o.get("result"),
                    o.get("metric"),
                    where(o),
                    est(o) if "value" in o else None,
                    o.get("threshold"),
                    o.get("reason"),
                ]
                for o in chosen
            ),
            (o.get("status") == "INSUFFICIENT" for o in chosen),
        )

    known = {"PASS", "FAIL", "WARN", "INSUFFICIENT"}
    other = tuple(sorted({str(o.get("status")) for o in obs} - known))
    counts = doc.get("counts") if isinstance(doc.get("counts"), dict) else {}
    return {
        "label": ri.label,
        "decision": str(doc.get("decision")),
        "policy": policy_ref,
        "generated_at": doc.get("generated_at"),
        "counts": counts,
        "results": [r.get("label") for r in doc.get("results") or [] if isinstance(r, dict)],
        "table": rows(("FAIL", "WARN", *other)),
        "insufficient": rows(("INSUFFICIENT",)),
        "passed": sum(o.get("status") == "PASS" for o in obs),
        "about_suppressed": len(every) - len(obs),
        "skipped": [
            {"check": s.get("check"), "reason": s.get("reason")}
            for s in doc.get("skipped") or []
            if isinstance(s, dict)
        ],
    }
