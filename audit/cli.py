"""The ``socialaudit`` command: parse flags, call :mod:`audit`, print, exit.

Exit codes: 0 success; 1 a release gate blocked; 2 bad input (a clear message, no traceback).
Heavy modules are imported inside the commands so that ``socialaudit --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from audit.cli_args import add_interval_flags, count, positive_int
from audit.cli_args import csv_list as _csv
from audit.cli_args import parse_reference as _reference
from audit.cli_args import unit_float as _unit_float
from audit.exceptions import AuditError, ConfigError

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["main"]

EXIT_OK, EXIT_BLOCKED, EXIT_INPUT = 0, 1, 2


def _add_classifier_flags(p: argparse.ArgumentParser) -> None:
    data = p.add_argument_group("test set")
    data.add_argument(
        "--data",
        required=True,
        metavar="FILE",
        help="labelled test set: .csv, .tsv, .parquet or .jsonl",
    )
    data.add_argument("--label", required=True, metavar="COL", help="ground-truth column (0/1)")
    data.add_argument(
        "--positive-label",
        metavar="VALUE",
        help="label value meaning positive, when labels are not 0/1",
    )
    data.add_argument(
        "--groups",
        required=True,
        type=_csv,
        metavar="COL[,COL...]",
        help="sensitive-attribute columns; several give intersections too",
    )
    data.add_argument(
        "--groups-file",
        metavar="FILE",
        help="separate file holding --id and the --groups columns, joined on --id",
    )
    data.add_argument("--id", dest="id_column", metavar="COL", help="unique row id column")
    data.add_argument("--language", metavar="COL", help="language column (per-language rates)")
    data.add_argument("--text", metavar="COL", help="text column passed to a text model")

    model = p.add_argument_group("the model (one of)")
    src = model.add_mutually_exclusive_group(required=True)
    src.add_argument("--score", metavar="COL", help="column of scores in [0, 1]")
    src.add_argument("--decision", metavar="COL", help="column of 0/1 decisions")
    src.add_argument(
        "--model",
        metavar="SPEC",
        help="package.module:function, model.skops, model.pkl (needs "
        "--trust-pickle) or http(s)://endpoint",
    )
    model.add_argument(
        "--threshold",
        type=_unit_float,
        default=0.5,
        metavar="X",
        help="positive when score >= X (default 0.5)",
    )
    model.add_argument(
        "--trust-pickle",
        action="store_true",
        help="allow loading a pickle/joblib model (this runs code from the file)",
    )
    model.add_argument(
        "--trust-type",
        action="append",
        default=[],
        metavar="NAME",
        help="type a .skops file may load although skops does not trust it",
    )
    model.add_argument("--batch-size", type=positive_int, default=1024, metavar="N")

    stats = p.add_argument_group("statistics")
    add_interval_flags(stats)
    stats.add_argument(
        "--positive-outcome",
        choices=("adverse", "favourable"),
        default="adverse",
        help="is a positive decision bad for the person (flagged, removed, high risk: "
        "adverse, the default) or good (shown, approved: favourable)? The four-fifths rule "
        "compares favourable-outcome rates",
    )
    stats.add_argument(
        "--min-positives",
        type=count,
        default=30,
        metavar="N",
        help="fewer label positives in a group -> insufficient_evidence (30)",
    )
    stats.add_argument(
        "--min-negatives",
        type=count,
        default=30,
        metavar="N",
        help="fewer label negatives in a group -> insufficient_evidence (30)",
    )
    stats.add_argument(
        "--min-group-size",
        type=count,
        default=10,
        metavar="N",
        help="groups with fewer rows are suppressed from the output (10)",
    )
    stats.add_argument(
        "--metric",
        action="append",
        default=[],
        metavar="NAME=MODULE:FUNC",
        help="extra per-group metric f(y_true, y_pred), e.g. "
        "f1=sklearn.metrics:f1_score (computed with fairlearn)",
    )
    stats.add_argument(
        "--no-explain", action="store_true", help="skip AIF360's inequality indices and sentences"
    )
    p.add_argument("--out", metavar="FILE", help="result JSON (default out/<command>.json)")
    p.add_argument("--quiet", action="store_true", help="print only where the result went")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="socialaudit",
        description="Audit a social platform's ML systems for bias and privacy.",
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    c = sub.add_parser(
        "classification",
        help="per-group error rates of any binary classifier",
        description="Audit a binary classifier: per-group and intersectional "
        "error rates with intervals, disparities and verdicts.",
    )
    _add_classifier_flags(c)
    m = sub.add_parser(
        "moderation",
        help="classification audit plus bias AUCs, per-language rates and identity-swap tests",
        description="Audit a moderation model: everything the classification "
        "audit reports, plus subgroup/BPSN/BNSP AUCs, per-language "
        "rates and identity-swap template tests.",
    )
    _add_classifier_flags(m)
    t = m.add_argument_group("identity-swap tests")
    t.add_argument(
        "--templates", metavar="FILE", help="file with a 'template' column containing {identity}"
    )
    t.add_argument("--identities", metavar="FILE", help="file with 'term' and 'axis' columns")
    # Other audits live in their own CLI modules; importing them is cheap (no heavy imports).
    for module in _COMMAND_MODULES:
        COMMANDS.update(importlib.import_module(module).register(sub))
    return p


_COMMAND_MODULES = (
    "audit.cli_recsys",
    "audit.cli_gate",
    "audit.cli_report",
    "audit.cli_pii",
    "audit.cli_face",
    "audit.cli_serve",
)


def _metrics(items: Sequence[str]) -> dict[str, str]:
    out = {}
    for item in items:
        name, sep, spec = item.partition("=")
        if not sep or ":" not in spec:
            raise ConfigError(f"--metric must be NAME=module:function, got {item!r}")
        out[name] = spec
    return out


def _progress(console: Console, quiet: bool) -> tuple[Callable[[int, int], None] | None, Any]:
    if quiet or not console.is_terminal:
        return None, None
    from rich.progress import Progress

    bar = Progress(console=console, transient=True)
    task = bar.add_task("scoring", total=None)

    def update(done: int, total: int) -> None:
        bar.update(task, completed=done, total=total)

    return update, bar


def _spec_from_flags(args: argparse.Namespace) -> Any:
    from pydantic import ValidationError

    from audit.runner import AuditSpec, format_validation_error

    fields = {
        "kind": args.command,
        "data": args.data,
        "label": args.label,
        "positive_label": args.positive_label,
        "groups": args.groups,
        "groups_file": args.groups_file,
        "id": args.id_column,
        "language": args.language,
        "text": args.text,
        "score": args.score,
        "decision": args.decision,
        "model": args.model,
        "threshold": args.threshold,
        "trust_pickle": args.trust_pickle,
        "trust_types": args.trust_type,
        "batch_size": args.batch_size,
        "reference": _reference(args.reference),
        "positive_outcome": args.positive_outcome,
        "resamples": args.resamples,
        "ci_level": args.ci_level,
        "seed": args.seed,
        "min_positives": args.min_positives,
        "min_negatives": args.min_negatives,
        "min_group_size": args.min_group_size,
        "metrics": _metrics(args.metric),
        "explain": not args.no_explain,
        "templates": getattr(args, "templates", None),
        "identities": getattr(args, "identities", None),
        "out": args.out,
    }
    try:
        return AuditSpec(**fields)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, "options").replace("_", "-")) from None


def _run_classifier(args: argparse.Namespace, console: Console) -> int:
    from audit.results import write_result
    from audit.runner import run_audit

    spec = _spec_from_flags(args)
    update, bar = _progress(console, args.quiet)
    with bar if bar is not None else _NoProgress():
        doc = run_audit(spec, update)
    out = write_result(doc, spec.out or Path("out") / f"{spec.kind}.json")
    if not args.quiet:
        from audit.console import print_result

        print_result(doc, console)
    console.print(f"result written to [bold]{out}[/bold]")
    return EXIT_OK


class _NoProgress:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


COMMANDS: dict[str, Callable[[argparse.Namespace, Console], int]] = {
    "classification": _run_classifier,
    "moderation": _run_classifier,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``socialaudit`` command."""
    args = _parser().parse_args(argv)
    from rich.console import Console

    # Wide enough for interval columns when the output is a file or a CI log.
    console = Console() if sys.stdout.isatty() else Console(width=160)
    try:
        return COMMANDS[args.command](args, console)
    except AuditError as exc:
        from rich.markup import escape

        Console(stderr=True).print(
            f"[red]socialaudit: error:[/red] {escape(str(exc))}",
            highlight=False,
            markup=True,
            soft_wrap=True,
        )
        return EXIT_INPUT
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
