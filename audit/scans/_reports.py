"""A finished scan's transparency report (HTML, PDF, Markdown, report JSON, DSA export): rendered
by the aggregator, stored with the result, served by ``GET /scans/{id}/report``."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from audit.storage import Backend

log = logging.getLogger("audit.scans")


#: Report formats the aggregator renders next to the result, for ``GET /scans/{id}/report``:
#: the transparency report (HTML, PDF), its Markdown summary, the report model as JSON, and
#: the DSA export (section 1.6 rows as CSV, the qualitative text as Markdown).
REPORT_FORMATS = ("html", "pdf", "md", "report-json", "dsa", "dsa-qualitative")

#: Where each format is stored, under ``scans/<id>/`` (the names ``socialaudit report`` writes).
REPORT_FILES = {
    "html": "report.html",
    "pdf": "report.pdf",
    "md": "report.md",
    "report-json": "report.json",
    "dsa": "dsa-section-1.6.csv",
    "dsa-qualitative": "dsa-qualitative.md",
}


def report_key(scan_id: str, fmt: str) -> str:
    return f"scans/{scan_id}/{REPORT_FILES.get(fmt, f'report.{fmt}')}"


def render_reports(backend: Backend, scan_id: str, items: list[dict[str, Any]]) -> dict[str, str]:
    """Render a finished scan's report in every :data:`REPORT_FORMATS` and store it with the
    result.

    Done by the aggregator, which has the report libraries (the API function has not: it
    serves the stored bytes). A format that cannot be rendered here does not fail the scan.

    Parameters
    ----------
    items
        The result document, then the gate's blessing when a policy was applied.

    Returns
    -------
    dict
        Per format, ``"ok"`` or ``"unavailable: <reason>"`` (shown to API clients).
    """
    try:
        from audit.report import (
            build_report,
            chart_svgs,
            render_dsa_csv,
            render_dsa_text,
            render_html,
            render_json,
            render_markdown,
            render_pdf,
        )
    except ImportError as exc:  # pragma: no cover - depends on the install
        return dict.fromkeys(REPORT_FORMATS, f"unavailable: report libraries missing ({exc})")
    if "schema_version" not in items[0]:  # an inventory: counts, not an audit
        return dict.fromkeys(
            REPORT_FORMATS, f"unavailable: {items[0].get('kind')} scans have no report"
        )
    status: dict[str, str] = {}
    try:
        model = build_report(items, title=f"socialaudit {items[0].get('kind')} scan {scan_id}")
        svgs = chart_svgs(model)
        backend.store.put_blob(report_key(scan_id, "html"), render_html(model, svgs=svgs).encode())
        status["html"] = "ok"
    except Exception as exc:  # the report must not lose the result stored above
        log.warning("scan %s: HTML report not rendered: %s", scan_id, type(exc).__name__)
        return dict.fromkeys(REPORT_FORMATS, f"unavailable: {type(exc).__name__}: {exc}")
    # The text formats, from the same report model as the HTML.
    text_renderers = {
        "md": render_markdown,
        "report-json": render_json,
        "dsa": render_dsa_csv,
        "dsa-qualitative": render_dsa_text,
    }
    for fmt, render in text_renderers.items():
        try:
            text = render(model)
            backend.store.put_blob(report_key(scan_id, fmt), text.encode())
            status[fmt] = "ok"
        except Exception as exc:
            log.warning("scan %s: %s report not rendered: %s", scan_id, fmt, type(exc).__name__)
            status[fmt] = f"unavailable: {type(exc).__name__}: {exc}"
    try:
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            pdf = render_pdf(render_html(model, svgs=svgs, embed="img"), Path(tmp) / "r.pdf")
            backend.store.put_blob(report_key(scan_id, "pdf"), pdf.read_bytes())
        status["pdf"] = "ok"
    except Exception as exc:
        log.warning("scan %s: PDF report not rendered: %s", scan_id, type(exc).__name__)
        status["pdf"] = f"unavailable: {type(exc).__name__}: {exc}"
    return status
