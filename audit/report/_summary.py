"""The executive summary: the gate decision, each audit's top findings, what could not be judged.

Written for the first two pages of the report. Per audit: one sentence of status in the audit's
own terms (a PII scan speaks of findings by severity, a fairness audit of gaps between groups, a
smoke test of what it could not judge), then up to :data:`TOP_LINES` findings (one fewer when
none is strong) ranked by effect and evidence (:func:`audit.report._findings.rank_key`), the
gaps of one group against its reference merged into one line. A finding that an earlier audit of
the report already made (the same gap with the same estimate) is listed once, with the audits
that repeat it. Every number is read from a result document or a gate decision.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from audit.report._findings import HEADLINE_METRICS

__all__ = ["TOP_LINES", "executive_summary"]

#: Findings per audit in the executive summary.
TOP_LINES = 3
#: Findings per audit in its section of the main body; the rest are in Annex B.
SECTION_LINES = 8


def _capital(s: str) -> str:
    return s[:1].upper() + s[1:]


def _n(x: Any) -> str:
    return f"{x:,}" if isinstance(x, int) and not isinstance(x, bool) else str(x)


def _merge(a: dict[str, Any], with_ci: bool = True) -> list[dict[str, Any]]:
    """Summary lines of one audit: its strong and likely findings, one line per group's gaps
    against its reference, one line for all identity-swap tests; ``with_ci``: each gap with
    its ratio and interval."""
    order = {m: i for i, m in enumerate(HEADLINE_METRICS.get(a["kind"], ()))}
    lines: list[dict[str, Any]] = []
    by_group: dict[tuple[Any, ...], dict[str, Any]] = {}
    for f in a["findings_shown"]:
        key: tuple[Any, ...]
        if f["type"] == "disparity":
            key = (f["attribute"], f["group"], f["reference"], f["strength"])
            if key in by_group:
                by_group[key]["parts"].append(f)
                continue
            line = {"type": "disparity", "strength": f["strength"], "parts": [f]}
            by_group[key] = line
        elif f["type"] == "identity_swap":
            key = ("identity_swap",)
            if key in by_group:
                by_group[key]["parts"].append(f)
                continue
            line = {"type": f["type"], "strength": f["strength"], "parts": [f]}
            by_group[key] = line
        else:
            line = {"type": f["type"], "strength": f["strength"], "parts": [f]}
        lines.append(line)
    out = []
    for line in lines:
        parts = sorted(line["parts"], key=lambda f: order.get(f["metric"], 99))
        if len(parts) == 1:
            text = parts[0]["text"]
        elif line["type"] == "identity_swap":
            text = (
                f"Swapping only the identity term in {parts[0].get('templates', '')} template "
                "sentences changes the decision in " + "; ".join(f["clause"] for f in parts) + "."
            )
        else:
            head = parts[0]
            text = (
                f"{_capital(head['subject'])}, against the reference group "
                f"({head['reference_subject']}): "
                + "; ".join(f["clause"] if with_ci else f["clause_short"] for f in parts)
                + "."
            )
        also = sorted({x for f in parts for x in f.get("also_in", [])})
        out.append(
            {
                "type": line["type"],
                "strength": line["strength"],
                "text": text,
                "attribute": parts[0]["attribute"],
                "group": parts[0]["group"],
                "metrics": [f["metric"] for f in parts],
                "reference": parts[0]["reference"],
                "reference_subject": parts[0].get("reference_subject"),
                "findings": len(parts),
                "also_in": also,
                "audit": a["label"],
                "audit_id": a["id"],
            }
        )
    return out


def _pick(lines: list[dict[str, Any]], n: int) -> list[dict[str, Any]]:
    """The best ``n`` lines, the best of each type of finding first (a bias test, an exposure
    gap and a rate gap say different things), then by rank."""
    chosen: list[int] = []
    seen: set[str] = set()
    for i, line in enumerate(lines):
        if line["type"] not in seen and len(chosen) < n:
            chosen.append(i)
            seen.add(line["type"])
    for i in range(len(lines)):
        if len(chosen) >= n:
            break
        if i not in chosen:
            chosen.append(i)
    return [lines[i] for i in sorted(chosen)]


def _pii_status(a: dict[str, Any], doc_pii: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    from audit.report._sections import SEVERITIES, pii_scan_counts

    sev = doc_pii.get("severity") or {}
    rec = doc_pii.get("records") or {}
    obj = doc_pii.get("objects") or {}
    status = (
        f"{_n(doc_pii.get('findings_total'))} PII findings (one entity type in one record) in "
        f"{_n(rec.get('with_pii'))} of {_n(rec.get('scanned'))} records scanned "
        f"({_n(obj.get('seen'))} object(s)): "
        + ", ".join(f"{_n(sev.get(s, 0))} {s}" for s in SEVERITIES)
        + " severity."
    )
    lines = []
    rows = pii_scan_counts(doc_pii)
    for s in SEVERITIES:
        hit = [r for r in rows if r["severity"][s]]
        if not hit:
            continue
        lines.append(
            {
                "type": "pii",
                "strength": s.lower(),
                "text": f"{_n(sev.get(s, 0))} {s}-severity findings: "
                + ", ".join(
                    f"{r['type']} {_n(r['severity'][s])}"
                    for r in sorted(hit, key=lambda r: -r["severity"][s])
                )
                + ".",
                "attribute": None,
                "group": None,
                "metrics": [],
                "reference": None,
                "reference_subject": None,
                "findings": sum(r["severity"][s] for r in hit),
                "also_in": [],
                "audit": a["label"],
                "audit_id": a["id"],
            }
        )
        break  # the most severe level present leads; the rest are in the section
    return status, lines


def _pii_eval_status(pe: dict[str, Any]) -> str:
    from audit.report._sections import pii_eval_rows

    rows = [r for r in pii_eval_rows(pe) if isinstance(r["exact"].get("recall"), int | float)]
    if not rows:
        return "PII detector evaluation."
    lo = min(rows, key=lambda r: r["exact"]["recall"])
    hi = max(rows, key=lambda r: r["exact"]["recall"])
    corpus = pe.get("corpus") or {}
    return (
        f"Detector evaluated on {_n(corpus.get('posts', corpus.get('n')))} synthetic posts: "
        f"exact-match recall from {lo['exact']['recall']:.0%} ({lo['type']}) to "
        f"{hi['exact']['recall']:.0%} ({hi['type']}) across {len(rows)} entity types."
    )


def _fairness_status(a: dict[str, Any]) -> str:
    shown = a["findings_shown"]
    strong = sum(f["strength"] == "strong" for f in shown)
    likely = len(shown) - strong
    unc = len(a["findings_uncertain"])
    nj = a["not_judged"]
    if not shown and not unc and nj["n_judged"] == 0 and nj["n_groups"]:
        which = (
            "the only group had too little evidence"
            if nj["n_groups"] == 1
            else f"none of the {nj['n_groups']} groups had enough evidence"
        )
        return f"Nothing could be judged: {which} ({nj['rule']})."
    parts = [f"{strong} strong and {likely} likely finding(s)"]
    if unc:
        parts.append(
            f"{unc} more gap(s) outside the band whose interval includes parity (uncertain, "
            "listed in Annex B)"
        )
    if nj["n_groups"]:
        parts.append(f"{nj['n_groups']} group(s) not judged for too little evidence")
    return "; ".join(parts) + "."


def executive_summary(
    audits: list[dict[str, Any]],
    gates: list[dict[str, Any]],
    docs: Mapping[str, dict[str, Any]],
) -> dict[str, Any]:
    """The executive summary of the report model.

    Parameters
    ----------
    audits
        The audit sections (with ``findings_shown``, ``findings_uncertain``, ``repeats`` and
        ``not_judged``, see :mod:`audit.report._model`).
    gates
        The gate sections.
    docs
        The result document of each audit, by label (for the PII counts, read as written).

    Returns
    -------
    dict
        ``gates``: per decision its policy, counts and the checks that blocked; ``audits``: per
        audit a ``status`` sentence, up to :data:`TOP_LINES` ``lines`` and how many strong or
        likely lines were left out (``more``); ``not_judged``: per audit, what could not be
        judged and why.
    """
    out_gates = []
    for g in gates:
        c = g.get("counts") or {}
        blocking = list(
            dict.fromkeys(
                str(row["cells"][1]) for row in g["table"]["rows"] if row["cells"][0] == "FAIL"
            )
        )
        out_gates.append(
            {
                "label": g["label"],
                "decision": g["decision"],
                "policy": g["policy"],
                "counts": {k: c.get(k) for k in ("fail", "warn", "insufficient", "pass") if k in c},
                "blocking": blocking,
            }
        )
    out_audits: list[dict[str, Any]] = []
    not_judged: list[dict[str, Any]] = []
    for a in audits:
        doc = docs.get(a["label"]) or {}
        doc_pii = doc.get("pii")
        if a["is_pii_scan"] and isinstance(doc_pii, dict):
            status, lines = _pii_status(a, doc_pii)
            lines_all, more = lines, 0
        else:
            lines_all = _merge(a)
            short = _merge(a, with_ci=False)
            # Three lines when the audit has strong findings; two when all are only likely.
            top = TOP_LINES if any(x["strength"] == "strong" for x in short) else TOP_LINES - 1
            lines = _pick(short, top)
            more = len(lines_all) - len(lines)
            status = _fairness_status(a)
            if isinstance(doc.get("pii_eval"), dict):
                status = _pii_eval_status(doc["pii_eval"]) + " " + status
        if a["repeats"] and not a["findings_shown"]:
            status += (
                f" Its {a['repeats']['count']} finding(s) repeat those of "
                f"{', '.join(a['repeats']['of'])} (same gaps, same estimates) and are listed there."
            )
        out_audits.append(
            {
                "label": a["label"],
                "id": a["id"],
                "title": a["title"],
                "kind_title": a["kind_title"],
                "status": status,
                "lines": lines,
                "all_lines": lines if a["is_pii_scan"] else lines_all,
                "section_lines": (lines if a["is_pii_scan"] else lines_all)[:SECTION_LINES],
                "more": more,
            }
        )
        nj = a["not_judged"]
        bits = []
        if nj["n_groups"]:
            names = [f"{g['group']} ({g['attribute']})" for g in nj["groups"]]
            shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
            rule = nj["rule"].split(";")[0]
            bits.append(f"{nj['n_groups']} group(s) with too little evidence ({rule}): {shown}")
        if nj["n_undefined"]:
            bits.append(f"{nj['n_undefined']} summary measure(s) undefined")
        if a["suppressed"]:
            bits.append(
                f"{len(a['suppressed'])} group(s) suppressed (fewer than {a['min_group_size']} "
                "rows)"
            )
        if bits:
            text = "; ".join(bits) + "."
            same = next((n for n in not_judged if n["text"] == text), None)
            if same:  # two audits of the same data: one line for both
                same["audit"] += f", {a['label']}"
            else:
                not_judged.append({"audit": a["label"], "id": a["id"], "text": text})
    for g in gates:
        n = len(g["insufficient"]["rows"])
        if n:
            not_judged.append(
                {
                    "audit": f"release gate {g['policy']}",
                    "id": "gates",
                    "text": f"{n} check(s) could not be judged for too little evidence "
                    "(counted as warnings; Annex B).",
                }
            )
    return {"gates": out_gates, "audits": out_audits, "not_judged": not_judged}
