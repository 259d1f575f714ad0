"""Rendering the report model: HTML, PDF, Markdown, JSON and the DSA export.

Templates in ``reports/templates/`` format the model and compute nothing; charts are drawn here
beforehand (:func:`audit.report._charts.render_chart`) and handed to the HTML template as
inline SVG. The HTML is one self-contained file: styles inline, charts inline, no fonts, scripts
or images fetched from anywhere; the PDF is the same HTML laid out by WeasyPrint with a fetcher
that refuses every URL.
"""

from __future__ import annotations

import base64
import csv
import io
import os
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any, Literal

from audit.exceptions import ConfigError
from audit.report._inputs import ReportInput

__all__ = [
    "FILE_NAMES",
    "FORMATS",
    "Format",
    "chart_svgs",
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

Format = Literal["html", "pdf", "md", "json", "dsa"]

#: Every output format, in the order they are written.
FORMATS: tuple[Format, ...] = ("html", "pdf", "md", "json", "dsa")

#: File written per output (``dsa`` writes the CSV and its qualitative text block).
FILE_NAMES: dict[str, str] = {
    "html": "report.html",
    "pdf": "report.pdf",
    "md": "report.md",
    "json": "report.json",
    "dsa": "dsa-section-1.6.csv",
    "dsa-qualitative": "dsa-qualitative.md",
}

TEMPLATES_ENV = "SOCIALAUDIT_TEMPLATES"


def templates_dir() -> Path:
    """The folder of report templates.

    ``$SOCIALAUDIT_TEMPLATES``, else the repository's ``reports/templates`` (a checkout, an
    editable install, the Lambda image), else ``<prefix>/share/socialaudit/templates`` (where a
    wheel installs them).
    """
    import sys

    env = os.environ.get(TEMPLATES_ENV)
    candidates = [Path(env)] if env else []
    candidates.append(Path(__file__).resolve().parents[2] / "reports" / "templates")
    candidates.append(Path(sys.prefix) / "share" / "socialaudit" / "templates")
    for c in candidates:
        if (c / "report.html.j2").is_file():
            return c
    raise ConfigError(
        f"report templates not found (looked in {', '.join(str(c) for c in candidates)}); "
        f"set {TEMPLATES_ENV} to the folder holding report.html.j2"
    )


# --- formatting filters (presentation only) ------------------------------------------------


def _is_num(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def fmt_number(x: Any, fmt: str = "num") -> str:
    """One number as the report prints it; ``—`` when there is none."""
    if isinstance(x, dict):
        fmt = x.get("fmt") or fmt
        x = x.get("value")
    if x is None:
        return "—"
    if not _is_num(x):
        return str(x)
    if isinstance(x, int) and fmt in ("int", "num", "text"):
        return f"{x:,}"  # a count is a count, whatever the column holds
    if fmt == "int":
        return f"{x:,.0f}"
    if fmt == "share":
        if x == 0:
            return "0%"
        if abs(x) < 0.01:
            return f"{x * 100:.2g}%"
        return f"{x:.1%}"
    if fmt == "rate":
        if 0 < abs(x) < 0.001:
            return f"{x:.1e}"
        return f"{x:.1%}"
    if fmt == "ratio":
        return f"{x:.2f}×"
    if fmt == "sci":
        return f"{x:.2e}"
    if fmt == "text":
        return f"{x:g}"
    return f"{x:.3f}"


def fmt_ci(x: Any, fmt: str = "num") -> str:
    """The interval of an estimate, ``24.0–38.1%``; empty when there is none."""
    if not isinstance(x, dict) or x.get("ci_low") is None or x.get("ci_high") is None:
        return ""
    fmt = x.get("fmt") or fmt
    lo, hi = fmt_number(x["ci_low"], fmt), fmt_number(x["ci_high"], fmt)
    if fmt in ("rate", "share", "ratio") and lo[-1] == hi[-1] and lo[-1] in "%×":
        lo = lo[:-1]
    return f"{lo}–{hi}"


def fmt_cell(x: Any, fmt: str = "num") -> str:
    """A table cell on one line: ``31.2% (24.0–38.1)``."""
    if isinstance(x, dict):
        fmt = x.get("fmt") or fmt
        ci = fmt_ci(x, fmt)
        return f"{fmt_number(x, fmt)} ({ci})" if ci else fmt_number(x, fmt)
    if isinstance(x, str):
        return x
    return fmt_number(x, fmt)


_MD_SPECIAL = str.maketrans({c: "\\" + c for c in "\\`*_[]<>|#~&"})


def md_escape(x: Any) -> str:
    """Text safe inside Markdown (and a Markdown table cell)."""
    return " ".join(str(x).split()).translate(_MD_SPECIAL)


@cache
def _env() -> Any:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    env = Environment(
        loader=FileSystemLoader(str(templates_dir())),
        autoescape=lambda name: name is not None and ".html" in name,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update({"number": fmt_number, "ci": fmt_ci, "cell": fmt_cell, "md": md_escape})
    return env


# --- renderers -----------------------------------------------------------------------------


def _charts(model: Mapping[str, Any]) -> Iterable[dict[str, Any]]:
    for a in model["audits"]:
        for sl in a["slices"]:
            yield from sl["charts"]
        yield from a["threshold_sweep"]
        for b in a["sections"]:
            yield from b["charts"]


def chart_svgs(model: Mapping[str, Any]) -> dict[str, str]:
    """Every chart of the model drawn as SVG, by chart id."""
    from audit.report._charts import render_chart

    return {c["id"]: render_chart(c) for c in _charts(model)}


def render_html(
    model: Mapping[str, Any],
    *,
    svgs: Mapping[str, str] | None = None,
    embed: Literal["inline", "img"] = "inline",
) -> str:
    """The report as one self-contained HTML page.

    Parameters
    ----------
    model
        The report model (:func:`audit.report.build_report`).
    svgs
        Charts already drawn (:func:`chart_svgs`); drawn here when not given.
    embed
        ``inline``: ``<svg>`` elements in the page (searchable, styleable: the HTML file);
        ``img``: ``<img src="data:image/svg+xml;base64,...">`` (what WeasyPrint lays out
        fastest: the PDF).
    """
    from markupsafe import Markup, escape

    drawn = chart_svgs(model) if svgs is None else svgs
    alts = {c["id"]: c["alt"] for c in _charts(model)}

    def img(k: str, v: str) -> Markup:
        return Markup(
            f'<img alt="{escape(alts.get(k, ""))}" '
            f'src="data:image/svg+xml;base64,{base64.b64encode(v.encode()).decode()}">'
        )

    if embed == "img":
        figures = {k: img(k, v) for k, v in drawn.items()}
    else:
        figures = {k: Markup(v) for k, v in drawn.items()}
    # A model card shows charts of its audit's section again: as images, so the page's ids
    # stay unique.
    card_imgs = {
        c["id"]: img(c["id"], drawn[c["id"]])
        for a in model["audits"]
        for c in a["model_card"].get("charts", [])
        if c["id"] in drawn
    }
    return _env().get_template("report.html.j2").render(r=model, svgs=figures, card_imgs=card_imgs)


def render_markdown(model: Mapping[str, Any]) -> str:
    """A Markdown summary for CI job summaries and pull-request comments."""
    return _env().get_template("report.md.j2").render(r=model)


def render_json(model: Mapping[str, Any]) -> str:
    """The report model as JSON (sorted keys, NaN as null)."""
    from audit.results import dumps

    return dumps(dict(model))


def render_dsa_csv(model: Mapping[str, Any]) -> str:
    """Section 1.6 rows as CSV, one indicator per row."""
    dsa = model["dsa"]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=dsa["columns"], extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for row in dsa["rows"]:
        w.writerow({k: "" if row.get(k) is None else row.get(k) for k in dsa["columns"]})
    return buf.getvalue()


def render_dsa_text(model: Mapping[str, Any]) -> str:
    """The qualitative text block for the DSA template, in Markdown."""
    return _env().get_template("dsa-qualitative.md.j2").render(r=model)


def _fetcher() -> Any:
    """A WeasyPrint URL fetcher that reads ``data:`` URIs and refuses everything else."""
    try:
        from weasyprint.urls import URLFetcher
    except ImportError:  # pragma: no cover - WeasyPrint < 68 takes a function

        def refuse(url: str) -> dict[str, Any]:
            if url.startswith("data:"):
                from weasyprint import default_url_fetcher

                return default_url_fetcher(url)  # type: ignore[no-any-return]
            raise ValueError(f"the report fetches nothing; refused {url[:60]!r}")

        return refuse
    return URLFetcher(allowed_protocols=("data",))


#: The PDF is tagged for accessibility (PDF/UA-1: structure tree, reading order, alt text of
#: the charts, the document language and title).
PDF_VARIANT = "pdf/ua-1"


def render_pdf(html: str, path: str | Path) -> Path:
    """Lay the HTML out as a paginated, tagged PDF (A4, page numbers, PDF/UA-1) with WeasyPrint.

    Pass HTML rendered with ``embed="img"``: WeasyPrint lays out image-embedded SVG about twice
    as fast as inline SVG. Only ``data:`` URIs are read; any other URL is refused.
    """
    try:
        import weasyprint
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ConfigError(
            "PDF output needs WeasyPrint and the Pango libraries: pip install weasyprint; "
            "apt-get install libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 "
            f"({exc})"
        ) from None
    import logging

    # WeasyPrint logs every CSS property it ignores; the report's CSS is shared with browsers.
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    p = Path(path)
    weasyprint.HTML(string=html, url_fetcher=_fetcher()).write_pdf(p, pdf_variant=PDF_VARIANT)
    return p


def write_report(
    model: Mapping[str, Any], out_dir: str | Path, formats: Iterable[str] = FORMATS
) -> dict[str, Path]:
    """Write a built report model in every requested format into ``out_dir``.

    Parameters
    ----------
    model
        The report model (:func:`audit.report.build_report`).
    out_dir
        Folder to write into (created if needed).
    formats
        Any of ``html``, ``pdf``, ``md``, ``json``, ``dsa``.

    Returns
    -------
    dict
        Path written per format; ``dsa`` also writes ``dsa-qualitative``.

    Raises
    ------
    audit.exceptions.ConfigError
        An unknown format, or PDF without WeasyPrint.
    audit.exceptions.DataError
        The folder cannot be written.
    """
    from audit.exceptions import DataError

    wanted = list(dict.fromkeys(formats))
    unknown = [f for f in wanted if f not in FORMATS]
    if unknown:
        raise ConfigError(f"unknown report format {unknown[0]!r}: choose from {', '.join(FORMATS)}")
    out = Path(out_dir)
    written: dict[str, Path] = {}

    def write(key: str, text: str) -> None:
        p = out / FILE_NAMES[key]
        p.write_text(text, encoding="utf-8")
        written[key] = p

    try:
        out.mkdir(parents=True, exist_ok=True)
        svgs = chart_svgs(model) if {"html", "pdf"} & set(wanted) else {}
        for f in wanted:
            if f == "html":
                write("html", render_html(model, svgs=svgs))
            elif f == "pdf":
                html = render_html(model, svgs=svgs, embed="img")
                written["pdf"] = render_pdf(html, out / FILE_NAMES["pdf"])
            elif f == "md":
                write("md", render_markdown(model))
            elif f == "json":
                write("json", render_json(model))
            elif f == "dsa":
                write("dsa", render_dsa_csv(model))
                write("dsa-qualitative", render_dsa_text(model))
    except OSError as exc:
        raise DataError(
            f"cannot write the report ({exc.strerror or exc}); choose another --out folder",
            file=str(exc.filename or out),
        ) from None
    return written


def render_all(
    results: Sequence[str | Path | Mapping[str, Any] | ReportInput],
    out_dir: str | Path,
    formats: Iterable[str] = FORMATS,
    *,
    title: str | None = None,
    describe: Mapping[str, str] | None = None,
    generated_at: str | None = None,
) -> dict[str, Path]:
    """Build the report from results and write every requested format into ``out_dir``.

    Parameters
    ----------
    results
        Result files, gate blessings, parsed documents or :class:`ReportInput`, in any mix.
    out_dir
        Folder to write into (created if needed).
    formats
        Any of ``html``, ``pdf``, ``md``, ``json``, ``dsa``.
    title, describe, generated_at
        See :func:`audit.report.build_report`.

    Returns
    -------
    dict
        Path written per format; ``dsa`` also writes ``dsa-qualitative``.

    Raises
    ------
    audit.exceptions.ConfigError
        An unknown format, or PDF without WeasyPrint.
    audit.exceptions.DataError
        A result file is missing or not a result document, or ``out_dir`` cannot be written.

    Examples
    --------
    >>> from audit.report import render_all
    >>> paths = render_all(["out/moderation.json"], "out/report", ["html", "md"])  # doctest: +SKIP
    >>> sorted(paths)  # doctest: +SKIP
    ['html', 'md']
    """
    from audit.report._model import build_report

    formats = list(formats)
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise ConfigError(f"unknown report format {unknown[0]!r}: choose from {', '.join(FORMATS)}")
    model = build_report(results, title=title, describe=describe, generated_at=generated_at)
    return write_report(model, out_dir, formats)
