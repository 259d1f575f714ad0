"""DSA transparency export: accuracy and error-rate indicators of automated moderation.

Article 15(1)(e) of the Digital Services Act (Regulation (EU) 2022/2065) asks every provider
that moderates content with automated means for "indicators of the accuracy and the possible
rate of error" of those means; Article 42(2)(c) asks very large platforms for them per official
EU language. Commission Implementing Regulation (EU) 2024/2835 fixes the templates: Annex I,
quantitative template section 1.6 ("use of automated means for content moderation and
indicators of accuracy") and the qualitative template.

What an audit can fill is the indicators measured on a labelled test set: accuracy, error rates
(false positive and false negative rates), precision and recall of each moderation model,
overall and per language. Everything else in section 1.6 (volumes of automated decisions,
content types, detection methods, human review shares) is the platform's own operational data.
Column names here are ours: the official template's cell identifiers are not reproduced, and the
mapping of each row to the template is marked for the platform to confirm (see docs/reports.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from audit.report._tables import table
from audit.report._text import EU_LANGUAGES, attr_name, group_name

if TYPE_CHECKING:
    from audit.report._model import AuditContext

__all__ = ["DSA_COLUMNS", "DSA_INDICATORS", "PLATFORM_FIELDS", "dsa_export"]

#: Indicators exported, in order (names of :data:`audit.metrics.RATES`).
DSA_INDICATORS = ("accuracy", "fpr", "fnr", "precision", "tpr")

#: Columns of the CSV export.
DSA_COLUMNS = (
    "template_section",
    "legal_basis",
    "template_field",
    "mapping_status",
    "automated_means",
    "audit",
    "language",
    "language_name",
    "indicator",
    "indicator_title",
    "value",
    "ci_low",
    "ci_high",
    "ci_level",
    "items_evaluated",
    "items_violating",
    "items_not_violating",
    "evidence",
    "decision_rule",
    "evaluation_data_sha256",
    "indicator_definition",
)

_FIELD = "indicators of accuracy and possible rate of error of the automated means"
_MAPPING = "unverified: confirm the cell against Annex I of Reg. (EU) 2024/2835"

#: Section 1.6 and qualitative fields an audit cannot fill: they stay with the platform.
PLATFORM_FIELDS = (
    "Number of content moderation decisions taken with automated means, by type of illegal "
    "content or terms-and-conditions ground (Art. 15(1)(b)(c))",
    "Share of automated decisions reviewed by humans, and the review outcomes",
    "Detection method of each decision (automated detection, notice, trusted flagger)",
    "Type of restriction applied (removal, visibility, demonetisation, account measures)",
    "Precise purposes of each automated tool and where in the moderation process it acts",
    "Safeguards applied to the use of automated means (human oversight, appeal routes)",
    "Reporting period, service identification and the other sections of the template",
)


def _rows_for(ctx: AuditContext) -> tuple[list[dict[str, Any]], list[str]]:
    from audit.metrics import RATES

    doc = ctx.doc
    s = ctx.settings
    prov = doc.get("provenance") or {}
    model = prov.get("model") or {}
    means = model.get("name") or model.get("column") or model.get("path") or model.get("kind", "")
    data_sha = next(
        (i.get("sha256") for i in prov.get("inputs", []) if i.get("role") == "data"), ""
    )
    language = s.get("language")
    base = {
        "template_section": "1.6",
        "template_field": _FIELD,
        "mapping_status": _MAPPING,
        "automated_means": f"{model.get('kind', '')}: {means}" if means else "",
        "audit": ctx.ri.label,
        "decision_rule": s.get("decision_rule", ""),
        "evaluation_data_sha256": data_sha,
    }
    level = (s.get("ci") or {}).get("level", "")

    def rows(record: dict[str, Any], lang: str, basis: str, evidence: str) -> list[dict[str, Any]]:
        out = []
        for ind in DSA_INDICATORS:
            m = (record.get("metrics") or {}).get(ind)
            if not isinstance(m, dict):
                continue
            out.append(
                {
                    **base,
                    "legal_basis": basis,
                    "language": lang,
                    "language_name": EU_LANGUAGES.get(lang.lower(), "all" if lang == "all" else ""),
                    "indicator": ind,
                    "indicator_title": RATES[ind].title if ind in RATES else ind,
                    "value": m.get("value"),
                    "ci_low": m.get("ci_low"),
                    "ci_high": m.get("ci_high"),
                    "ci_level": level,
                    "items_evaluated": record.get("n"),
                    "items_violating": record.get("positives"),
                    "items_not_violating": record.get("negatives"),
                    "evidence": evidence,
                    "indicator_definition": RATES[ind].definition if ind in RATES else "",
                }
            )
        return out

    out = rows(doc.get("overall") or {}, "all", "DSA Art. 15(1)(e)", "sufficient")
    suppressed: list[str] = []
    if language:
        for g in doc.get("groups", []):
            if g["attribute"] != language or ctx.is_suppressed(language, g["group"]):
                continue
            ev = (g.get("verdicts") or {}).get("evidence", "")
            out += rows(g, str(g["group"]), "DSA Art. 15(1)(e) and Art. 42(2)(c)", ev)
        for sg in doc.get("suppressed_groups", []):
            if attr_name(sg["attribute"]) == language:
                lang = group_name(sg["group"])
                suppressed.append(lang)
                out.append(
                    {
                        **base,
                        "legal_basis": "DSA Art. 15(1)(e) and Art. 42(2)(c)",
                        "language": lang,
                        "language_name": EU_LANGUAGES.get(lang.lower(), ""),
                        "indicator": "",
                        "evidence": f"suppressed: {sg.get('reason', 'too few items')}",
                    }
                )
    return out, suppressed


def _overview(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The rows as one line per model and language, one column per indicator (for reading)."""
    from audit.metrics import RATES

    lines: dict[tuple[str, str], dict[str, Any]] = {}
    for r in rows:
        key = (r["audit"], r["language"])
        line = lines.setdefault(key, {"row": r, "values": {}})
        if r.get("indicator"):
            line["values"][r["indicator"]] = {
                "value": r["value"],
                "ci_low": r["ci_low"],
                "ci_high": r["ci_high"],
            }
    cols = [("audit", "text"), ("language", "text"), ("items", "int")]
    cols += [(RATES[i].title, "rate") for i in DSA_INDICATORS]
    cols += [("evidence", "text")]
    body, muted = [], []
    for (audit, lang), line in lines.items():
        r = line["row"]
        name = r.get("language_name") or ""
        label = f"{lang} ({name})" if name and name != "all" else lang
        body.append(
            [audit, label, r.get("items_evaluated") if line["values"] else None]
            + [line["values"].get(i) for i in DSA_INDICATORS]
            + [str(r.get("evidence", "")).replace("_", " ")]
        )
        muted.append(r.get("evidence") != "sufficient")
    return table(cols, body, muted)


def dsa_export(contexts: list[AuditContext]) -> dict[str, Any]:
    """Section 1.6 rows and the qualitative block, from the moderation audits among ``contexts``.

    Returns
    -------
    dict
        ``columns`` and ``rows`` of the CSV (one indicator of one model, overall or in one
        language, per row; suppressed languages appear with no numbers), ``table``: the same
        as one line per model and language for reading, ``qualitative``: the
        text an audit can contribute, and ``platform_fields``: what remains the platform's.
    """
    from audit.metrics import RATES

    rows: list[dict[str, Any]] = []
    means = []
    for ctx in contexts:
        if ctx.kind != "moderation":
            continue
        r, suppressed = _rows_for(ctx)
        rows += r
        s = ctx.settings
        ci = s.get("ci") or {}
        o = ctx.doc.get("overall") or {}
        language = s.get("language")
        langs = sorted(
            {
                str(g["group"])
                for g in ctx.doc.get("groups", [])
                if language
                and g["attribute"] == language
                and not ctx.is_suppressed(language, g["group"])
            }
        )
        means.append(
            {
                "audit": ctx.ri.label,
                "model": rows[-1]["automated_means"] if r else "",
                "evaluation": (
                    f"Measured on a labelled test set of {o.get('n')} items "
                    f"({o.get('positives')} violating, {o.get('negatives')} not) with the decision "
                    f"rule '{s.get('decision_rule', '')}'. Intervals: {ci.get('level', 0):.0%} "
                    f"{ci.get('method', '')}, {ci.get('resamples')} resamples, seed "
                    f"{ci.get('seed')}. Languages with their own indicators: "
                    f"{', '.join(langs) if langs else 'none (the test set has no language column)'}"
                    + (
                        f"; suppressed for too few items: {', '.join(suppressed)}"
                        if suppressed
                        else ""
                    )
                    + "."
                ),
            }
        )
    return {
        "columns": list(DSA_COLUMNS),
        "rows": rows,
        "table": _overview(rows),
        "qualitative": {
            "automated_means": means,
            "method": (
                "Measured against human labels on a labelled test set, overall and per language, "
                "with confidence intervals. The possible rate of error is given as two rates, "
                "because one number hides who bears the error: lawful content wrongly actioned "
                "(false positive rate) and violating content missed (false negative rate). A "
                "language with fewer items than the minimum group size is named but not measured."
            ),
            "indicators": [
                {"name": i, "title": RATES[i].title, "definition": RATES[i].definition}
                for i in DSA_INDICATORS
            ],
        },
        "platform_fields": list(PLATFORM_FIELDS),
    }
