"""Model card sections (Mitchell et al. 2019, "Model Cards for Model Reporting", FAT* '19).

The audit fills what it measured: factors, metrics, evaluation data and the disaggregated
quantitative analyses with confidence intervals, plus ethical considerations and caveats that
follow from the numbers. What only the model's owner knows (developer, licence, training data,
intended users) is marked as theirs to complete rather than guessed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from audit.report._methods import definition
from audit.report._tables import metric_fmt, table

if TYPE_CHECKING:
    from audit.report._model import AuditContext

__all__ = ["INTENDED_USE", "OWNER", "model_card"]

#: Placeholder for what only the model's owner can state.
OWNER = "to be completed by the model owner"

#: What each audited kind of model does, as the audit assumes it.
INTENDED_USE: dict[str, str] = {
    "moderation": "Scores user posts for breaking the platform's rules; posts at or above the "
    "threshold are flagged for removal, down-ranking or human review.",
    "classification": "Makes a binary decision (or a score turned into one) about a person or an "
    "item.",
    "face": "Decides whether two face images show the same person (verification).",
    "recommendation": "Ranks items (posts, creators, videos) for each user's feed.",
    "ads": "Chooses which eligible users are shown an ad.",
    "pii": "Detects personal data in stored posts so it can be found, protected or redacted.",
}


def _item(label: str, value: Any) -> dict[str, Any]:
    return {"label": label, "value": value, "placeholder": value == OWNER}


def model_card(ctx: AuditContext, section: dict[str, Any]) -> dict[str, Any]:
    """The model card of one audit, built from its result document and report section.

    Returns
    -------
    dict
        Keys ``model_details``, ``intended_use``, ``factors``, ``metrics``,
        ``evaluation_data``, ``training_data``, ``quantitative_analyses``,
        ``ethical_considerations`` and ``caveats``, in the order of the paper, and ``charts``:
        the chart specifications the card shows (the same charts as the audit's section).
    """
    doc, s = ctx.doc, ctx.settings
    prov = doc.get("provenance") or {}
    ci = s.get("ci") or {}
    overall = doc.get("overall") or {}
    slices = section["slices"]
    metrics = section["headline_metrics"]

    details = [
        _item("model audited", section["model"]),
        _item("audit", f"{ctx.kind} ({ctx.ri.label})"),
        _item("audited on", prov.get("generated_at", "")),
        _item("audited with", f"socialaudit {(prov.get('packages') or {}).get('socialaudit', '')}"),
        _item("developer, version, type, licence, contact", OWNER),
    ]
    intended = {
        "as_audited": INTENDED_USE.get(ctx.kind, "Not described for this kind of audit."),
        "primary_uses_and_users": OWNER,
        "out_of_scope": "This audit does not establish legal compliance, and its numbers hold "
        "for the test set it was run on.",
    }
    attrs = [sl["attribute"] for sl in slices if not sl["is_intersection"]]
    inter = [sl["attribute"] for sl in slices if sl["is_intersection"]]
    factors = [
        _item("groups", ", ".join(attrs) or "none"),
        _item("intersections", ", ".join(inter) or "none"),
        _item("language", s.get("language") or "not audited (no language column)"),
        _item("groups reported", sum(len(sl["full_table"]["rows"]) for sl in slices)),
        _item("groups suppressed (too small to report)", len(section["suppressed"])),
    ]
    # Names here; each definition once, in Annex C (Methods).
    metric_items = [
        _item("performance measures", ", ".join(definition(m, [doc])[0] for m in metrics) or "—")
    ]
    if s.get("decision_rule"):
        metric_items.append(_item("decision threshold", s["decision_rule"]))
    if ci:
        metric_items.append(
            _item(
                "variation",
                f"{ci.get('level', 0):.0%} intervals: {ci.get('method', '')}; "
                f"{ci.get('resamples')} resamples, seed {ci.get('seed')}",
            )
        )
    evaluation = [
        _item(f"{i.get('role', 'input')} file", f"{i.get('path')} (sha256 {i.get('sha256')})")
        for i in prov.get("inputs", [])
    ]
    evaluation.append(_item("rows", overall.get("n")))
    if overall.get("positives") is not None:
        evaluation.append(
            _item("label positives / negatives", f"{overall['positives']} / {overall['negatives']}")
        )

    # Quantitative analyses: every reported group of every slice, headline metrics with CIs.
    rows, muted = [], []
    for sl in slices:
        chart = sl["charts"][0]
        for r in chart["table"]["rows"]:
            rows.append([sl["attribute"], *r["cells"]])
            muted.append(r["muted"])
    cols: list[tuple[str, Any]] = [("slice", "text"), ("group", "text"), ("n", "int")]
    cols += [(definition(m, [doc])[0], metric_fmt(m)) for m in metrics]
    cols += [("evidence", "text")]
    quantitative = {
        "text": f"Disaggregated by every group and intersection with enough rows, with "
        f"{ctx.level:.0%} confidence intervals; groups with too little evidence are greyed.",
        "table": table(cols, rows, muted),
    }

    ethics = []
    if s.get("positive_outcome") == "adverse":
        ethics.append(
            "A positive decision is adverse for the person (flagged, removed, rated high risk): "
            "false positives penalise people who did nothing wrong."
        )
    strong = [f for f in section["findings"] if f["strength"] == "strong"]
    if strong:
        ethics.append(
            f"{len(strong)} finding(s) hold across the whole confidence interval, for example: "
            + strong[0]["text"]
        )
    fails = [f for f in section["findings"] if f["type"] == "four_fifths"]
    if fails:
        ethics.append(
            "Below the four-fifths rule: "
            + ", ".join(f"{f['attribute']} = {f['group']}" for f in fails)
            + "."
        )
    pii = ctx.doc.get("pii") if isinstance(ctx.doc.get("pii"), dict) else None
    if pii and isinstance(pii.get("severity"), dict) and pii["severity"].get("HIGH"):
        types = [
            t
            for t, d in (pii.get("by_type") or {}).items()
            if isinstance(d, dict) and (d.get("severity") or {}).get("HIGH")
        ]
        ethics.append(
            f"{pii['severity']['HIGH']:,} HIGH-severity PII findings ({', '.join(types)}): "
            "personal data held in stored posts, to be protected or removed."
        )
    nj = section["not_judged"]
    if nj["n_groups"] and not nj["n_judged"]:
        ethics.append(
            "No group could be judged, so this audit cannot show that the model treats groups "
            "alike; it shows only that the pipeline runs."
        )
    if section["suppressed"]:
        ethics.append(
            f"{len(section['suppressed'])} group(s) had fewer than {s.get('min_group_size')} rows "
            "and are not reported; harm to small groups cannot be ruled out by this audit."
        )
    caveats = [
        "The numbers hold for this test set; they generalise only as far as it resembles the "
        "platform's traffic. Labels are human judgements and can carry their own bias.",
    ]
    if ci.get("resamples"):
        caveats.append("Intervals reflect sampling variation only (not label noise or drift).")
    else:
        caveats.append("No confidence intervals were computed (resamples = 0).")
    insufficient = sum(r["muted"] for sl in slices for r in sl["full_table"]["rows"])
    if insufficient:
        caveats.append(
            f"{insufficient} group(s) have fewer than {s.get('min_positives')} label positives or "
            f"{s.get('min_negatives')} negatives: their rates are shown greyed and left out of "
            "disparity summaries."
        )
    if s.get("decision_rule"):
        caveats.append(
            f"Rates are for the decision rule {s['decision_rule']}; other thresholds trade false "
            "positives against false negatives differently."
        )
    # The card's charts: the first slice's pair, or the first charts of the kind's own sections.
    # The card's chart: a judged slice's ratios to its reference (the gaps it reports), the
    # first one short enough for a card (at most 12 groups), else the shortest.
    ratios = [
        c
        for sl in slices
        if not sl["all_insufficient"]
        for c in sl["charts"]
        if c["type"] == "ratios"
    ]
    short = [c for c in ratios if len(c["data"]["labels"]) <= 12]
    charts = (short or sorted(ratios, key=lambda c: len(c["data"]["labels"])))[:1]
    if not charts:
        charts = [c for b in section["sections"] for c in b["charts"]][:1]
    return {
        "charts": charts,
        "model_details": details,
        "intended_use": intended,
        "factors": factors,
        "metrics": metric_items,
        "evaluation_data": evaluation,
        "training_data": "Not covered by this audit; " + OWNER + ".",
        "quantitative_analyses": quantitative,
        "ethical_considerations": ethics,
        "caveats": caveats,
    }
