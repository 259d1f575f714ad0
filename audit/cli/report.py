"""``socialaudit report``: one evidence bundle from any mix of audit results and gate decisions.

Thin like the rest of the CLI: parse the flags, call :mod:`audit.report`, print where the files
went. Bad input raises :class:`~audit.exceptions.AuditError` subclasses, which ``audit.cli``
turns into exit code 2 with the message.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from audit.exceptions import ConfigError

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["register"]

Handler = Callable[[argparse.Namespace, "Console"], int]

_FORMATS = ("html", "pdf", "md", "json", "dsa")


def _formats(value: str) -> list[str]:
    items = [v.strip().lower() for v in value.split(",") if v.strip()]
    if not items:
        raise argparse.ArgumentTypeError("give at least one format")
    bad = [v for v in items if v not in _FORMATS]
    if bad:
        raise argparse.ArgumentTypeError(
            f"unknown format {bad[0]!r}: choose from {', '.join(_FORMATS)}"
        )
    return items


def _describe(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        attr, sep, template = item.partition("=")
        if not sep or not attr.strip() or "{group}" not in template:
            raise ConfigError(
                f"--describe must be ATTR=TEMPLATE with {{group}} in the template, e.g. "
                f"'target=comments about {{group}}', got {item!r}"
            )
        out[attr.strip()] = template
    return out


def _run_report(args: argparse.Namespace, console: Console) -> int:
    from rich.markup import escape

    from audit.report import build_report, load_meta, write_report

    meta = load_meta(args.meta) if args.meta else None
    model = build_report(
        args.results, title=args.title, describe=_describe(args.describe), meta=meta
    )
    paths = write_report(model, args.out, args.format)
    if not args.quiet:
        s = model["summary"]
        console.print(
            f"[bold]{escape(model['title'])}[/bold]: {s['audits']} audit(s), "
            f"{s['findings']} finding(s) ({s['strong_findings']} strong), "
            f"{s['groups_reported']} groups reported, {s['groups_suppressed']} suppressed",
            highlight=False,
        )
        for g in s["gate_decisions"]:
            console.print(f"release gate {escape(g['policy'])}: {g['decision']}", highlight=False)
        for f in model["key_findings"][:5]:
            console.print(escape(f"  [{f['strength']}] {f['text']}"), highlight=False)
    for fmt, path in paths.items():
        console.print(f"{fmt:<16} written to [bold]{escape(str(path))}[/bold]", highlight=False)
    return 0


def register(sub: Any) -> dict[str, Handler]:
    """Add the ``report`` subcommand to the CLI's subparsers; returns its handler by name.

    Parameters
    ----------
    sub
        The ``argparse`` subparsers action of the ``socialaudit`` parser.
    """
    p = sub.add_parser(
        "report",
        help="transparency report (HTML, PDF, Markdown, JSON, DSA export) from audit results",
        description="Build one evidence bundle from audit results and gate decisions: a "
        "self-contained HTML report with charts, the same as PDF, a Markdown summary for CI, "
        "the report model as JSON, and the DSA section 1.6 export (CSV and text). Groups an "
        "audit suppressed are named, never shown with numbers.",
    )
    p.add_argument(
        "results",
        nargs="+",
        metavar="RESULT.json",
        help="result documents (socialaudit <audit> --out) and gate blessings, any mix",
    )
    p.add_argument("--out", required=True, metavar="DIR", help="folder to write the report into")
    p.add_argument(
        "--format",
        type=_formats,
        default=list(_FORMATS),
        metavar="FMT[,FMT...]",
        help=f"any of {', '.join(_FORMATS)} (default: all)",
    )
    p.add_argument("--title", metavar="TEXT", help="report title (default: Transparency report)")
    p.add_argument(
        "--meta",
        metavar="REPORT.yaml",
        help="cover facts: organisation, system, version, period, auditor, sign-off "
        "(example: reports/meta.example.yaml); without it the cover says they were not given",
    )
    p.add_argument(
        "--describe",
        action="append",
        default=[],
        metavar="ATTR=TEMPLATE",
        help="how findings name the groups of ATTR, e.g. 'target=comments about {group}' "
        "(repeatable)",
    )
    p.add_argument("--quiet", action="store_true", help="print only where the files went")
    return {"report": _run_report}
