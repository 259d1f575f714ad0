"""The audit commands of ``socialaudit``, one per kind of the registry (:mod:`audit.kinds`).

Each command's flags are its kind's spec fields (:func:`audit.cli.args.add_spec_flags`), plus
``--out`` and ``--quiet``. The handler validates the flags into the spec (messages name the
flags), runs the kind with progress bars on a terminal, writes the result and prints it.
"""

from __future__ import annotations

import argparse
import functools
import importlib
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from pydantic import ValidationError

from audit.cli.args import add_spec_flags, flag_namer, format_cli_errors, spec_values
from audit.exceptions import ConfigError
from audit.kinds import REGISTRY, AuditKind, KindSpec, Progress, Registry

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["PRINTERS", "Bars", "print_document", "register", "run_kind", "spec_from_args"]

Handler = Callable[[argparse.Namespace, "Console"], int]

#: How a kind's result is printed (``module:function``, imported when used); a kind without
#: one gets :func:`audit.cli.console.print_groups`.
PRINTERS: dict[str, str] = {
    "classification": "audit.cli.console:print_result",
    "moderation": "audit.cli.console:print_result",
    "recommendation": "audit.cli.recsys:print_recommendation",
    "ads": "audit.cli.recsys:print_ads",
    "face": "audit.cli.face:print_face_result",
    "pii": "audit.cli.pii:print_scan",
}


def register(sub: Any, registry: Registry = REGISTRY) -> dict[str, Handler]:
    """Add one subcommand per kind of ``registry`` to ``sub``; returns their handlers."""
    handlers: dict[str, Handler] = {}
    for entry in registry.values():
        p = sub.add_parser(entry.name, help=entry.summary, description=entry.description)
        add_spec_flags(p, entry.spec)
        p.add_argument(
            "--out",
            metavar="FILE",
            default=argparse.SUPPRESS,
            help=f"result JSON (default out/{entry.name}.json)",
        )
        p.add_argument("--quiet", action="store_true", help="print only where the result went")
        handlers[entry.name] = functools.partial(run_kind, entry)
    return handlers


def spec_from_args(entry: AuditKind[Any], args: argparse.Namespace) -> KindSpec:
    """The kind's spec from the flags given; :class:`ConfigError` naming the flags if not."""
    name = flag_namer(entry.spec)
    values = {**spec_values(args, entry.spec), "kind": entry.name}
    try:
        return entry.spec.model_validate(values, context={"name": name})
    except ValidationError as exc:
        raise ConfigError(format_cli_errors(exc, name)) from None


def run_kind(entry: AuditKind[Any], args: argparse.Namespace, console: Console) -> int:
    """Handler of ``socialaudit <kind>``."""
    from audit.results import write_result

    spec = spec_from_args(entry, args)
    out = Path(spec.out or Path("out") / f"{entry.name}.json")
    for field in spec.outputs_at(out):
        flag = flag_namer(entry.spec)(field)
        raise ConfigError(f"{flag} and --out name the same file: {getattr(spec, field)}")
    bars = Bars(console, args.quiet)
    with bars.context():
        doc = entry.run(spec, bars.staged())
    written = write_result(doc, out)
    if not args.quiet:
        print_document(cast("dict[str, Any]", doc), console)
    console.print(f"result written to [bold]{written}[/bold]")
    return 0


def print_document(doc: dict[str, Any], console: Console) -> None:
    """Print a result document the way its kind's printer does."""
    target = PRINTERS.get(str(doc.get("kind")), "audit.cli.console:print_groups")
    module, _, function = target.partition(":")
    getattr(importlib.import_module(module), function)(doc, console)


class Bars:
    """Rich progress bars on a terminal, one per stage a run reports; nothing otherwise."""

    def __init__(self, console: Console, quiet: bool) -> None:
        self.bar: Any = None
        if not quiet and console.is_terminal:
            from rich.progress import Progress as RichProgress

            self.bar = RichProgress(console=console, transient=True)

    def context(self) -> AbstractContextManager[Any]:
        return self.bar if self.bar is not None else nullcontext()

    def staged(self) -> Progress | None:
        """``(stage, done, total)`` -> the stage's bar, added when the stage first reports."""
        if self.bar is None:
            return None
        tasks: dict[str, Any] = {}

        def update(stage: str, done: int, total: int | None) -> None:
            if stage not in tasks:
                tasks[stage] = self.bar.add_task(stage, total=None)
            self.bar.update(tasks[stage], completed=done, total=total)

        return update
