"""DSA transparency export: accuracy and error-rate indicators of automated moderation.

Article 15(1)(e) of the Digital Services Act (Regulation (EU) 2022/2065) asks every provider
that moderates content with automated means for "indicators of the accuracy and the possible
rate of error" of those means; Article 42(2)(c) asks very large platforms for them per official
EU language. Commission Implementing Regulation (EU) 2024/2835 fixes the templates. Annex I,
quantitative template, section 1.6 is headed "Article 15(1)(b)(c)(e) and Article 42(2)(c). Use
of automated means for content moderation and indicators of accuracy"; in the Commission's CSV
template its rows carry the section name "Use of automated means for content moderation" and
are keyed by an ``Indicator`` and a ``Scope`` column. Sources, and what each one showed, are in
docs/reports.md ("DSA export").

Which template cell each row fills (``template_section``, ``template_field``, ``template_scope``)
and how sure that is (``mapping_status``):

========== ======================================================== ===========================
our rate   Annex I field                                            status
========== ======================================================== ===========================
accuracy   1.6 "Accuracy of the automated means - Accuracy"         verified
precision  1.6 "Accuracy of the automated means - Precision"        verified
tpr        1.6 "Accuracy of the automated means - Recall"           verified
fpr, fnr   qualitative template "Qualitative description of         verified field; 1.6 has no
           indicators of accuracy and possible rate of error of     cell for these rates
           automated means"
========== ======================================================== ===========================

Breakdowns. Section 1.6 reports each of the three indicators per scope: "Total number",
"Own-initiative", "NAM Total" (notice and action), "NAM Trusted Flagger", and for very large
platforms each official EU language (scope = its ISO 639-1 code, "bg" to "sv"), in separate
rows per type of content moderation system. We fill scope "Total number" (the whole test set:
it is not split by detection route) and the scope of each official EU language the test set
has enough items in, once per moderation audit (the ``automated_means`` column names the
system). A test-set language outside the 24 official languages has no scope in the template:
its rows are kept, marked ``no template cell``. The scopes Own-initiative, NAM Total and NAM
Trusted Flagger, every other automated system, and the counts of section 1.6 ("Number of
measures solely taken by automated means" and the like) remain the platform's
(:data:`PLATFORM_FIELDS`). The template reproductions we found break these indicators down by
no category of violation, so neither do we.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from audit.report._tables import table
from audit.report._text import EU_LANGUAGES, attr_name, group_name

if TYPE_CHECKING:
    from audit.report._model import AuditContext

__all__ = [
    "DSA_COLUMNS",
    "DSA_INDICATORS",
    "PLATFORM_FIELDS",
    "QUALITATIVE_ERROR_FIELD",
    "SECTION_NAME",
    "TEMPLATE_INDICATORS",
    "TOTAL_SCOPE",
    "dsa_export",
]

#: Indicators exported, in order (names of :data:`audit.metrics.RATES`).
DSA_INDICATORS = ("accuracy", "fpr", "fnr", "precision", "tpr")

#: Columns of the CSV export.
DSA_COLUMNS = (
    "template_section",
    "legal_basis",
    "template_field",
    "template_scope",
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

#: The template's ``Section`` value for the rows of section 1.6.
SECTION_NAME = "Use of automated means for content moderation"

#: Section 1.6 ``Indicator`` each of our rates fills, exactly as the template spells it.
TEMPLATE_INDICATORS = {
    "accuracy": "Accuracy of the automated means - Accuracy",
    "precision": "Accuracy of the automated means - Precision",
    "tpr": "Accuracy of the automated means - Recall",
}

#: Qualitative-template field for the possible rate of error: section 1.6 has no cell for the
#: false positive or false negative rate, so those rows belong here.
QUALITATIVE_ERROR_FIELD = (
    "Qualitative description of indicators of accuracy and possible rate of error of "
    "automated means"
)

#: Section 1.6 scope of a measurement over all content, not split by detection route.
TOTAL_SCOPE = "Total number"

#: Section 1.6 and qualitative-template fields an audit cannot fill: they stay with the platform.
PLATFORM_FIELDS = (
    'Section 1.6 counts: "Number of measures solely taken by automated means", "Number of '
    'measures not taken by automated means", "Number of notices solely processed by automated '
    'means", "Number of notices not processed by automated means", in each scope',
    'Section 1.6 accuracy indicators in the scopes "Own-initiative", "NAM Total" and "NAM '
    'Trusted Flagger" (the test set is not split by detection route), and for every automated '
    "system not audited here (the template wants separate rows per system)",
    'Section 1.6 "Value" for a language this audit suppressed or did not cover, and the '
    '"Service", "Reporting period" and "Contextual Information" columns',
    'Qualitative template: "Qualitative description of the automated means"',
    'Qualitative template: "Specification of the precise purposes to apply automated means"',
    'Qualitative template: "Safeguards applied to the use of automated means"',
    "Every other section of the template (1.1 to 1.5, 1.7, 1.8) and the other qualitative fields",
)


def _mapping(indicator: str, lang: str) -> tuple[str, str, str, str]:
    """``template_section``, ``template_field``, ``template_scope``, ``mapping_status``."""
    if indicator not in TEMPLATE_INDICATORS:
        return (
            "qualitative",
            QUALITATIVE_ERROR_FIELD,
            "",
            f"verified: Annex I qualitative template, {QUALITATIVE_ERROR_FIELD} "
            "(section 1.6 has no cell for this rate)",
        )
    field = TEMPLATE_INDICATORS[indicator]
    scope = _scope(lang)
    if not scope:
        return (
            "1.6",
            field,
            "",
            f"no template cell: section 1.6 has language scopes for the 24 official EU "
            f"languages only, and {lang!r} is not one",
        )
    return "1.6", field, scope, f"verified: Annex I 1.6 {field}, scope {scope}"


def _scope(lang: str) -> str:
    """The section 1.6 scope of a language ("" when the template has none)."""
    if lang == "all":
        return TOTAL_SCOPE
    return lang.lower() if lang.lower() in EU_LANGUAGES else ""


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
            section, field, scope, status = _mapping(ind, lang)
            out.append(
                {
                    **base,
                    "template_section": section,
                    "template_field": field,
                    "template_scope": scope,
                    "mapping_status": status,
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
                scope = _scope(lang)
                out.append(
                    {
                        **base,
                        "template_section": "1.6",
                        "template_field": "",
                        "template_scope": scope,
                        "mapping_status": (
                            f"suppressed: too few items; the accuracy, precision and recall "
                            f"cells of scope {scope} stay empty"
                            if scope
                            else "suppressed: too few items; the language has no 1.6 scope"
                        ),
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
        language, per row, with the Annex I field and scope it fills; suppressed languages
        appear with no numbers), ``table``: the same as one line per model and language for
        reading, ``qualitative``: the text an audit can contribute to the qualitative field
        named in ``qualitative["field"]``, and ``platform_fields``: what remains the
        platform's.
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
            "field": QUALITATIVE_ERROR_FIELD,
            "automated_means": means,
            "method": (
                "Measured against human labels on a labelled test set, overall and per language, "
                "with confidence intervals. Accuracy, precision and recall (the true positive "
                f'rate) fill section 1.6 ("{TEMPLATE_INDICATORS["accuracy"]}" and its Precision '
                f'and Recall rows), overall in scope "{TOTAL_SCOPE}" and per official EU '
                "language in that language's scope. The possible rate of error is given here as "
                "two rates, because one number hides who bears the error and section 1.6 has no "
                "cell for either: lawful content wrongly actioned (false positive rate) and "
                "violating content missed (false negative rate); both are in the CSV, overall "
                "and per language. A language with fewer items than the minimum group size is "
                "named but not measured."
            ),
            "indicators": [
                {"name": i, "title": RATES[i].title, "definition": RATES[i].definition}
                for i in DSA_INDICATORS
            ],
        },
        "platform_fields": list(PLATFORM_FIELDS),
    }
