"""Transparency reports from audit results: HTML, PDF, Markdown, JSON, DSA export, model cards.

``build_report`` turns result documents (and gate decisions) into the report model, plain JSON
data; ``render_all`` writes it in every requested format. Templates in ``reports/templates/``
format the model and compute nothing.

Examples
--------
>>> from audit.report import render_all
>>> paths = render_all(["out/moderation.json"], "out/report")  # doctest: +SKIP
>>> sorted(paths)  # doctest: +SKIP
['dsa', 'dsa-qualitative', 'html', 'json', 'md', 'pdf']
"""

from __future__ import annotations

from audit.report._inputs import ReportInput, load_input, load_inputs
from audit.report._meta import ReportMeta, load_meta
from audit.report._model import REPORT_VERSION, build_report
from audit.report._render import (
    FILE_NAMES,
    FORMATS,
    Format,
    chart_svgs,
    render_all,
    render_dsa_csv,
    render_dsa_text,
    render_html,
    render_json,
    render_markdown,
    render_pdf,
    templates_dir,
    write_report,
)

__all__ = [
    "FILE_NAMES",
    "FORMATS",
    "REPORT_VERSION",
    "Format",
    "ReportInput",
    "ReportMeta",
    "build_report",
    "chart_svgs",
    "load_input",
    "load_inputs",
    "load_meta",
    "render_all",
    "render_dsa_csv",
    "render_dsa_text",
    "render_html",
    "render_json",
    "render_markdown",
    "render_pdf",
    "templates_dir",
    "write_report",
]
