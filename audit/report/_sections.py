"""Sections specific to one audit kind, and the gate decision.

Each reader takes the audit's own section of the result document (``moderation``, ``face``,
``provider`` and the provider-side groups of a recommendation audit, ``pii``, ``pii_eval``,
``data_quality``) in the shape that audit writes, and turns it into charts and tables: what that
kind needs a reader to see (PII: severity by entity type, the scope of the scan, masked samples;
recommendation: exposure shares and the worst-served user groups; face: what was and was not
judged). Readers are tolerant: a field they do not find is left out, and a section they cannot
read at all is listed as "not shown" rather than failing the report. The shapes are listed in
``docs/reports.md``. Numbers are read, never recomputed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from audit.report._tables import chart, est, is_count, table
from audit.report._text import attr_name, group_name

if TYPE_CHECKING:
    from audit.report._inputs import ReportInput
    from audit.report._model import AuditContext

__all__ = [
    "MASK_CHARACTERS",
    "SEVERITIES",
    "gate_section",
    "kind_sections",
    "pii_eval_rows",
    "pii_scan_counts",
    "provider_attributes",
]

Block = dict[str, Any]

#: A PII sample is shown only if it contains one of these (it was masked by the PII audit).
MASK_CHARACTERS = ("*", "█", "•", "<", "[")


def _block(title: str, id_: str, **kw: Any) -> Block:
    return {
        "title": title,
        "id": id_,
        "intro": kw.get("intro"),
        "charts": kw.get("charts", []),
        "tables": [{"annex": False, "id": None, **t} for t in kw.get("tables", [])],
        "notes": kw.get("notes", []),
    }


def _dict(x: Any) -> dict[str, Any]:
    """``x`` if it is a JSON object, else an empty one (a reader never fails on a shape)."""
    return x if isinstance(x, dict) else {}


def _num(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


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
                "facet": True,
                "xlabel": f"AUC ({level} interval; dashed: the overall AUC); 1 = perfect, "
                "0.5 = chance",
                "vline": overall.get("value"),
            },
            tbl,
            layout="full",
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
                tables=[{"title": "Scores per term", "table": term_table, "annex": True}]
                if terms
                else [],
            )
        )
    return blocks


# --- face ---------------------------------------------------------------------------------


def _first_word(text: Any, default: str) -> str:
    """``"genuine pairs"`` from ``"genuine pairs: two images of the same subject"``."""
    return str(text).split(":")[0].strip() if isinstance(text, str) and text else default


def _face(ctx: AuditContext) -> list[Block]:
    face = ctx.doc.get("face")
    if not isinstance(face, dict):
        return []
    s = ctx.settings
    pos = _first_word(s.get("positives"), "genuine pairs")
    neg = _first_word(s.get("negatives"), "impostor pairs")
    charts, tables, notes = [], [], []

    # What was and was not judged, per group: the evidence each verdict needed.
    judged_rows, muted = [], []
    for g in ctx.doc.get("groups", []):
        if ctx.is_suppressed(g["attribute"], g["group"]):
            continue
        v = g.get("verdicts") or {}
        ok = v.get("evidence") != "insufficient_evidence"
        need = []
        if (g.get("positives") or 0) < (s.get("min_positives") or 0):
            need.append(f"{g.get('positives')} {pos}, {s.get('min_positives')} needed")
        if (g.get("negatives") or 0) < (s.get("min_negatives") or 0):
            need.append(f"{g.get('negatives')} {neg}, {s.get('min_negatives')} needed")
        judged_rows.append(
            [
                attr_name(g["attribute"]),
                group_name(g["group"]),
                g.get("subjects"),
                g.get("positives"),
                g.get("negatives"),
                "judged" if ok else "not judged: " + ("; ".join(need) or "too little evidence"),
            ]
        )
        muted.append(not ok)
    if judged_rows:
        tables.append(
            {
                "title": "What was and was not judged",
                "table": table(
                    [
                        ("slice", "text"),
                        ("group", "text"),
                        ("subjects", "int"),
                        (pos, "int"),
                        (neg, "int"),
                        ("verdict", "text"),
                    ],
                    judged_rows,
                    muted,
                ),
            }
        )

    th = _dict(face.get("threshold"))
    counts = _dict(face.get("counts"))
    op: list[list[Any]] = []
    if th:
        op += [
            ["decision rule", th.get("rule")],
            ["threshold mode", str(th.get("mode", "")).replace("_", " ")],
            ["target FMR", th.get("target_fmr") if th.get("target_fmr") is not None else "—"],
            [
                "false matches / impostor pairs",
                f"{th.get('false_matches')} / {th.get('impostor_pairs')}",
            ],
        ]
    for key in (
        "images",
        "subjects",
        "genuine_pairs",
        "impostor_pairs",
        "subjects_with_one_template",
    ):
        if _num(counts.get(key)):
            op.append([key.replace("_", " "), counts[key]])
    for key in ("bad_images_total", "detection_failures_total"):
        if _num(face.get(key)):
            op.append([key.replace("_total", "").replace("_", " "), face[key]])
    if op:
        tables.append(
            {
                "title": "Operating point and counts",
                "table": table([("measure", "text"), ("value", "int")], op),
            }
        )

    for mx in face.get("fmr_matrix") or []:
        if not isinstance(mx, dict):
            continue
        attr = mx.get("attribute")
        labels = [group_name(x) for x in mx.get("groups") or []]
        keep = [i for i, x in enumerate(labels) if not ctx.is_suppressed(attr, x)]
        if len(keep) < 2:
            continue
        is_log = isinstance(mx.get("log10_fmr"), list)
        src = mx.get("log10_fmr") if is_log else mx.get("fmr")
        if not isinstance(src, list):
            continue
        rows = [labels[i] for i in keep]
        m = [[src[i][j] for j in keep] for i in keep]
        flat = [x for r in m for x in r if _num(x)]
        hi = max(flat) if flat else None
        charts.append(
            chart(
                ctx.chart_id(),
                "heatmap",
                f"Cross-group false-match rate, {attr_name(attr)} (impostor pairs)",
                f"Heat map of the false-match rate between the {len(rows)} groups of "
                f"{attr_name(attr)} ({'log10 values' if is_log else 'log colour scale'}), as in "
                f"NIST FRVT report cards; highest cell "
                f"{hi if hi is None else format(hi, '.3g')}.",
                {
                    "rows": rows,
                    "columns": rows,
                    "matrix": m,
                    "is_log10": is_log,
                    "colorbar": "log10 FMR" if is_log else "FMR",
                },
                table(
                    [("group", "text"), *((c, "num" if is_log else "sci") for c in rows)],
                    ([r, *row] for r, row in zip(rows, m, strict=True)),
                ),
            )
        )

    curves = []
    flat_zero = True
    for c in face.get("det") or []:
        if not isinstance(c, dict) or ctx.is_suppressed(c.get("attribute"), c.get("group")):
            continue
        fmr, fnmr = c.get("fmr"), c.get("fnmr")
        if not (isinstance(fmr, list) and isinstance(fnmr, list)):
            continue
        label = group_name(c.get("group"))
        if c.get("attribute"):
            label = f"{attr_name(c['attribute'])} = {label}"
        if any(_num(x) and _num(y) and x > 0 and y > 0 for x, y in zip(fmr, fnmr, strict=False)):
            flat_zero = False
        curves.append({"label": label, "x": fmr, "y": fnmr})
    if curves and not flat_zero:
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
    elif curves:
        notes.append(
            "DET curves are not drawn: at every threshold either the false-match or the false "
            "non-match rate is 0, which a log-log plot cannot show."
        )
    if face.get("intervals_note"):
        notes.append(str(face["intervals_note"]))
    if not (charts or tables or notes):
        return []
    return [
        _block(
            "Face verification (NIST FRVT style)",
            ctx.block_id("face"),
            intro="One global threshold for every group; false-match rates over impostor pairs "
            "and false non-match rates over genuine pairs, per group. A group is judged only "
            f"with at least {s.get('min_positives')} {pos} and {s.get('min_negatives')} {neg}.",
            charts=charts,
            tables=tables,
            notes=notes,
        )
    ]


# --- recommendation -----------------------------------------------------------------------

#: Shares of one provider group, drawn side by side (each a fraction of a whole).
_SHARES = ("exposure_share", "relevance_share", "catalogue_share")


def provider_attributes(doc: dict[str, Any]) -> list[str]:
    """The provider-side (creator, item) attributes of a recommendation result."""
    return [attr_name(g["attribute"]) for g in doc.get("groups", []) if g.get("side") == "provider"]


def _recommendation(ctx: AuditContext) -> list[Block]:
    from audit.report._methods import definition
    from audit.report._text import GAP_LABELS, gap_class

    doc = ctx.doc
    blocks: list[Block] = []
    level = f"{ctx.level:.0%}"
    by_attr: dict[str, list[dict[str, Any]]] = {}
    for g in doc.get("groups", []):
        if g.get("side") == "provider" and not ctx.is_suppressed(g["attribute"], g["group"]):
            by_attr.setdefault(attr_name(g["attribute"]), []).append(g)
    charts, tables = [], []
    for attr, rows in by_attr.items():
        names = [group_name(g["group"]) for g in rows]
        present = [m for m in _SHARES if any(m in (g.get("metrics") or {}) for g in rows)]
        if not present:
            continue
        classes = [
            gap_class(
                (g.get("verdicts") or {}).get("exposure_vs_relevance"),
                (g.get("metrics") or {}).get("exposure_to_relevance_ratio"),
                ctx.band,
            )
            for g in rows
        ]
        tbl = table(
            [
                ("group", "text"),
                ("items", "int"),
                *((m.replace("_", " "), "share") for m in present),
                ("exposure ÷ relevance", "ratio"),
                ("exposure ÷ catalogue", "ratio"),
                ("verdict", "text"),
            ],
            (
                [
                    n,
                    g.get("n"),
                    *(est((g.get("metrics") or {}).get(m)) for m in present),
                    est((g.get("metrics") or {}).get("exposure_to_relevance_ratio")),
                    est((g.get("metrics") or {}).get("exposure_to_catalogue_ratio")),
                    GAP_LABELS[c],
                ]
                for g, n, c in zip(rows, names, classes, strict=True)
            ),
            (c == "insufficient" for c in classes),
        )
        worst = min(
            (
                (g["metrics"]["exposure_to_relevance_ratio"]["value"], n)
                for g, n, c in zip(rows, names, classes, strict=True)
                if c != "insufficient"
                and ((g.get("metrics") or {}).get("exposure_to_relevance_ratio") or {}).get("value")
                is not None
            ),
            default=None,
        )
        charts.append(
            chart(
                ctx.chart_id(),
                "bars",
                f"Exposure against relevance, by {attr}",
                f"Grouped bar chart of {', '.join(m.replace('_', ' ') for m in present)} for "
                f"{len(rows)} groups of {attr}: "
                + "; ".join(
                    f"{n} exposure {_pct((g.get('metrics') or {}).get('exposure_share'))} for "
                    f"relevance {_pct((g.get('metrics') or {}).get('relevance_share'))}"
                    for g, n in zip(rows, names, strict=True)
                )
                + (
                    f". Lowest exposure for its relevance: {worst[1]} (ratio {worst[0]:.2f})."
                    if worst
                    else "."
                ),
                {
                    "categories": names,
                    "series": [
                        {
                            "label": m.replace("_", " "),
                            "values": [
                                (est((g.get("metrics") or {}).get(m)) or {}).get("value")
                                for g in rows
                            ],
                        }
                        for m in present
                    ],
                    "fmt": "rate",
                    "xlabel": "share (exposure weighted by 1/log2(1 + rank))",
                },
                tbl,
            )
        )
    catalogue = [
        s
        for s in doc.get("summary", [])
        if s.get("attribute") == "catalogue" and s.get("value") is not None
    ]
    fmt = {"coverage": "rate", "aplt": "rate", "gini_exposure": "num", "arp": "num"}
    cat_rows = [[definition(s["metric"], [doc])[0], s["metric"], est(s)] for s in catalogue]
    prov = _dict(doc.get("provider"))
    for key in ("catalogue_items", "items_recommended", "short_head_items"):
        if _num(prov.get(key)):
            cat_rows.append([key.replace("_", " "), key, prov[key]])
    if cat_rows:
        tables.append(
            {
                "title": "Catalogue-level measures",
                "table": table(
                    [("measure", "text"), ("value", "num")],
                    ([label, _fmt_cell(v, fmt.get(key, "num"))] for label, key, v in cat_rows),
                ),
            }
        )
    if charts or tables:
        blocks.append(
            _block(
                "Exposure per provider group",
                ctx.block_id("provider-exposure"),
                intro="Each provider group's share of the position-weighted exposure "
                "(1/log2(1 + rank)) against its share of the relevant held-out items and of the "
                "catalogue. Exposure ÷ relevance of 1 is exposure in proportion to relevance; "
                f"the verdict applies the fairness band [{ctx.band[0]:g}, {ctx.band[1]:g}] to "
                f"that ratio, with {level} intervals.",
                charts=charts,
                tables=tables,
            )
        )

    # The worst-served user groups: lowest ranking quality among groups with a verdict.
    headline = next(
        (
            m
            for m in ("ndcg", "recall", "hit_rate")
            if any(
                m in (g.get("metrics") or {})
                for g in doc.get("groups", [])
                if g.get("side") == "user"
            )
        ),
        None,
    )
    if headline:
        users = [
            g
            for g in doc.get("groups", [])
            if g.get("side") == "user"
            and not ctx.is_suppressed(g["attribute"], g["group"])
            and ((g.get("metrics") or {}).get(headline) or {}).get("value") is not None
        ]
        judged = [
            g for g in users if (g.get("verdicts") or {}).get("evidence") != "insufficient_evidence"
        ]
        judged.sort(key=lambda g: g["metrics"][headline]["value"])
        disp = {
            (attr_name(d["attribute"]), group_name(d["group"])): d
            for d in doc.get("disparities", [])
            if d.get("metric") == headline
        }
        k = ctx.settings.get("k", "k")
        rows_w = []
        for g in judged[:6]:
            d = disp.get((attr_name(g["attribute"]), group_name(g["group"])))
            rows_w.append(
                [
                    attr_name(g["attribute"]),
                    group_name(g["group"]),
                    g.get("n"),
                    est(g["metrics"][headline]),
                    est(d.get("ratio")) if d else None,
                    group_name(d["reference"]) if d else "—",
                    GAP_LABELS[gap_class(d.get("verdict"), d.get("ratio"), ctx.band)] if d else "—",
                ]
            )
        if rows_w:
            title = {"ndcg": f"NDCG@{k}", "recall": f"recall@{k}", "hit_rate": f"hit rate@{k}"}[
                headline
            ]
            blocks.append(
                _block(
                    "Worst-served user groups",
                    ctx.block_id("worst-users"),
                    intro=f"The user groups with the lowest {title} among those with enough "
                    "evidence for a verdict, lowest first, with the ratio to their slice's "
                    "reference group.",
                    tables=[
                        {
                            "title": f"Lowest {title}",
                            "table": table(
                                [
                                    ("slice", "text"),
                                    ("group", "text"),
                                    ("users", "int"),
                                    (title, "num" if headline == "ndcg" else "rate"),
                                    ("ratio to reference", "ratio"),
                                    ("reference", "text"),
                                    ("verdict", "text"),
                                ],
                                rows_w,
                            ),
                        }
                    ],
                )
            )
    return blocks


def _pct(e: Any) -> str:
    from audit.report._render import fmt_number

    return fmt_number(e, "share")


def _fmt_cell(v: Any, fmt: str) -> Any:
    """A pre-formatted cell for a mixed-unit table (text stays text in every format)."""
    from audit.report._render import fmt_cell

    return fmt_cell(v, fmt) if v is not None else None


# --- pii ----------------------------------------------------------------------------------

#: Severities in the order a reader checks them.
SEVERITIES = ("HIGH", "MEDIUM", "LOW")


def _masked(value: Any) -> bool:
    return isinstance(value, str) and any(c in value for c in MASK_CHARACTERS)


def pii_scan_counts(pii: dict[str, Any]) -> list[dict[str, Any]]:
    """Per entity type, the counts of a PII scan's ``pii.by_type`` (most severe first)."""
    rows: list[dict[str, Any]] = []
    for t, d in (pii.get("by_type") or {}).items():
        if not isinstance(d, dict):
            continue
        sev = _dict(d.get("severity"))
        rows.append(
            {
                "type": str(t),
                "findings": d.get("findings"),
                "occurrences": d.get("occurrences"),
                "records": d.get("records"),
                "severity": {s: sev.get(s, 0) for s in SEVERITIES},
                "samples": [x for x in d.get("masked_samples") or [] if _masked(x)],
                "hidden": sum(1 for x in d.get("masked_samples") or [] if not _masked(x)),
            }
        )
    rows.sort(key=lambda r: tuple(-(r["severity"][s] or 0) for s in SEVERITIES))
    return rows


def _pii(ctx: AuditContext) -> list[Block]:
    pii = ctx.doc.get("pii")
    if not isinstance(pii, dict) or not isinstance(pii.get("by_type"), dict):
        return []
    charts, tables, notes = [], [], []
    rows = pii_scan_counts(pii)
    sev_tot = _dict(pii.get("severity"))
    records = _dict(pii.get("records"))
    if rows:
        types = [r["type"] for r in rows]
        tbl = table(
            [
                ("entity type", "text"),
                ("findings", "int"),
                *((f"{s}", "int") for s in SEVERITIES),
                ("occurrences", "int"),
                ("records affected", "int"),
            ],
            [
                *(
                    [
                        r["type"],
                        r["findings"],
                        *(r["severity"][s] for s in SEVERITIES),
                        r["occurrences"],
                        r["records"],
                    ]
                    for r in rows
                ),
                [
                    "all types",
                    pii.get("findings_total"),
                    *(sev_tot.get(s) for s in SEVERITIES),
                    pii.get("occurrences_total"),
                    records.get("with_pii"),
                ],
            ],
        )
        tables.append(
            {
                "title": "Findings by severity and entity type",
                "table": tbl,
                "id": ctx.block_id("pii-severity"),
            }
        )
        charts.append(
            chart(
                ctx.chart_id(),
                "bars",
                "PII findings by entity type and severity",
                f"Stacked bar chart of the PII findings of {len(types)} entity types by "
                "severity: "
                + "; ".join(
                    f"{r['type']} "
                    + ", ".join(f"{r['severity'][s]} {s}" for s in SEVERITIES if r["severity"][s])
                    for r in rows
                )
                + ".",
                {
                    "categories": types,
                    "series": [
                        {"label": s, "values": [r["severity"][s] for r in rows]} for s in SEVERITIES
                    ],
                    "colors": ["#B3261E", "#E69F00", "#56B4E9"],
                    "fmt": "int",
                    "stacked": True,
                    "xlabel": "findings (one entity type in one record)",
                },
                table(
                    [("entity type", "text"), *((s, "int") for s in SEVERITIES)],
                    ([r["type"], *(r["severity"][s] for s in SEVERITIES)] for r in rows),
                ),
                layout="full",
            )
        )
    objects = _dict(pii.get("objects"))
    scope = [
        ["records scanned", records.get("scanned")],
        ["records with personal data", records.get("with_pii")],
        ["records skipped", records.get("skipped")],
        ["objects scanned", objects.get("seen")],
        ["objects skipped", objects.get("skipped")],
        ["objects not sampled", objects.get("not_sampled")],
    ]
    tables.append(
        {
            "title": "Scope of the scan",
            "table": table(
                [("measure", "text"), ("count", "int")], [r for r in scope if r[1] is not None]
            ),
        }
    )
    listed = [o for o in objects.get("listed") or [] if isinstance(o, dict)]
    if listed:
        tables.append(
            {
                "title": "Objects scanned",
                "table": table(
                    [("object", "text"), ("records read", "int"), ("bytes read", "int")],
                    ([o.get("name"), o.get("records_read"), o.get("bytes_read")] for o in listed),
                ),
            }
        )
    sample_rows = [[r["type"], " · ".join(r["samples"])] for r in rows if r["samples"]]
    if sample_rows:
        tables.append(
            {
                "title": "Masked samples",
                "table": table([("entity type", "text"), ("masked samples", "text")], sample_rows),
            }
        )
    hidden = sum(r["hidden"] for r in rows)
    if hidden:
        notes.append(f"{hidden} samples were not shown because they did not look masked.")
    if pii.get("severity_rule"):
        notes.append(f"Severity: {pii['severity_rule']}.")
    if pii.get("findings_file"):
        notes.append(
            "Every finding, per record and object (entity type, offsets, score; no raw value), "
            f"is in the findings file {pii['findings_file']}."
        )
    return [
        _block(
            "Personal data found",
            ctx.block_id("pii"),
            intro="As in Amazon Macie: a finding is one entity type in one record; its "
            "severity follows the number of occurrences. Samples are masked by the PII audit; "
            "a raw value never appears in this report.",
            charts=charts,
            tables=tables,
            notes=notes,
        )
    ]


def pii_eval_rows(pe: dict[str, Any]) -> list[dict[str, Any]]:
    """Per entity type, the detector's exact and overlap precision/recall/F1 (``pii_eval.ours``)."""
    out = []
    for t, d in (pe.get("ours") or {}).items():
        if not isinstance(d, dict):
            continue
        ex = _dict(d.get("exact"))
        ov = _dict(d.get("overlap"))
        out.append(
            {
                "type": str(t),
                "gold": d.get("gold"),
                "predicted": d.get("predicted"),
                "exact": ex,
                "overlap": ov,
            }
        )
    return out


def _pii_eval(ctx: AuditContext) -> list[Block]:
    pe = ctx.doc.get("pii_eval")
    if not isinstance(pe, dict):
        return []
    rows = pii_eval_rows(pe)
    tables, notes = [], []
    if rows:
        tables.append(
            {
                "title": "Detection quality per entity type",
                "id": ctx.block_id("pii-eval-prf"),
                "table": table(
                    [
                        ("entity type", "text"),
                        ("planted", "int"),
                        ("predicted", "int"),
                        ("precision (exact)", "rate"),
                        ("recall (exact)", "rate"),
                        ("F1 (exact)", "rate"),
                        ("precision (overlap)", "rate"),
                        ("recall (overlap)", "rate"),
                        ("F1 (overlap)", "rate"),
                    ],
                    (
                        [
                            r["type"],
                            r["gold"],
                            r["predicted"],
                            r["exact"].get("precision"),
                            r["exact"].get("recall"),
                            r["exact"].get("f1"),
                            r["overlap"].get("precision"),
                            r["overlap"].get("recall"),
                            r["overlap"].get("f1"),
                        ]
                        for r in rows
                    ),
                ),
            }
        )
    corpus = _dict(pe.get("corpus"))
    matching = _dict(pe.get("matching"))
    if corpus:
        notes.append(
            f"Corpus: {corpus.get('posts', corpus.get('n'))} synthetic posts "
            f"({corpus.get('generator', '')}; seed {corpus.get('seed')})."
        )
    if matching:
        notes.append(
            "Matching: "
            + "; ".join(f"{k}: {v}" for k, v in matching.items() if isinstance(v, str))
            + "."
        )
    tp = _dict(pe.get("throughput"))
    if _num(tp.get("ours_posts_per_second")):
        notes.append(
            f"Throughput on this machine: {tp['ours_posts_per_second']:.0f} posts per second "
            f"with {tp.get('ours_workers')} worker(s)."
        )
    if pe.get("presidio_default") is None and "presidio_default" in pe:
        notes.append("No comparison with Presidio's default recognisers was run.")
    if not (tables or notes):
        return []
    return [
        _block(
            "Detector quality on a labelled corpus",
            ctx.block_id("pii-eval"),
            intro="Precision, recall and F1 of the PII detector against the planted values of "
            "a synthetic labelled corpus, per entity type: exact (same type, start and end) and "
            "overlapping matches.",
            tables=tables,
            notes=notes,
        )
    ]


def kind_sections(ctx: AuditContext) -> tuple[list[Block], set[str], set[str]]:
    """The kind-specific blocks of one audit, the document keys they consumed, and the slices
    (attribute names) they show instead of the generic per-slice charts."""
    blocks: list[Block] = []
    known: set[str] = set()
    replaced: set[str] = set()
    readers = (
        ("moderation", _moderation),
        ("face", _face),
        ("pii", _pii),
        ("pii_eval", _pii_eval),
        ("provider", _recommendation),
    )
    for key, reader in readers:
        if key in ctx.doc:
            got = reader(ctx)
            if got or key == "moderation":
                known.add(key)
            blocks += got
    if "provider" not in ctx.doc and ctx.kind == "recommendation":
        blocks += _recommendation(ctx)
    if isinstance(ctx.doc.get("pii"), dict) and "pii" in known:
        replaced |= {attr_name(g["attribute"]) for g in ctx.doc.get("groups", [])}
    replaced |= set(provider_attributes(ctx.doc))
    if isinstance(ctx.doc.get("data_quality"), dict):
        blocks += _data_quality(ctx)
        known.add("data_quality")
    return blocks, known, replaced


def _data_quality(ctx: AuditContext) -> list[Block]:
    dq = ctx.doc["data_quality"]
    rows = [[k.replace("_", " "), v] for k, v in dq.items() if _num(v)]
    notes = [str(m) for m in dq.get("messages") or [] if isinstance(m, str)]
    if not rows and not notes:
        return []
    return [
        _block(
            "Data checks",
            ctx.block_id("data-quality"),
            tables=[
                {
                    "title": "Data checks: rows and users",
                    "table": table([("check", "text"), ("count", "int")], rows),
                    "annex": True,
                }
            ]
            if rows
            else [],
            notes=notes,
        )
    ]


# --- gate ---------------------------------------------------------------------------------


def _value(o: dict[str, Any]) -> dict[str, Any] | None:
    """An observation's value; a count (findings, records) prints as a whole number."""
    e = est(o)
    if e is not None and is_count(str(o.get("metric", ""))):
        e["fmt"] = "int"
    return e


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
                ("audit", "text"),
                ("where", "text"),
                ("value", "num"),
                ("reason", "text"),
            ],
            (
                [
                    o.get("status"),
                    o.get("check"),
                    o.get("result"),
                    where(o),
                    _value(o) if "value" in o else None,
                    o.get("reason"),
                ]
                for o in chosen
            ),
            (o.get("status") == "INSUFFICIENT" for o in chosen),
        )

    known = {"PASS", "FAIL", "WARN", "INSUFFICIENT"}
    other = tuple(sorted({str(o.get("status")) for o in obs} - known))
    counts = _dict(doc.get("counts"))
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
