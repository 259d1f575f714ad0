"""The ``socialaudit`` command: parse flags, call :mod:`audit`, print, exit.

One subcommand per audit kind of the registry (:mod:`audit.cli.kinds`, flags from the kind's
spec), and the hand-written ``gate``, ``audit``, ``report``, ``pii-eval`` and ``serve``.

Exit codes: 0 success; 1 a release gate blocked; 2 bad input (a clear message, no traceback).
Heavy modules are imported inside the commands so that ``socialaudit --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from audit.exceptions import AuditError

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["main"]

EXIT_OK, EXIT_BLOCKED, EXIT_INPUT = 0, 1, 2

#: Command → handler, filled when the parser is built.
COMMANDS: dict[str, Callable[[argparse.Namespace, Console], int]] = {}

#: The commands that are not audit kinds; importing them is cheap (no heavy imports).
_COMMAND_MODULES = ("audit.cli.gate", "audit.cli.report", "audit.cli.pii", "audit.cli.serve")


def _parser() -> argparse.ArgumentParser:
    from audit.cli import kinds

    p = argparse.ArgumentParser(
        prog="socialaudit",
        description="Audit a social platform's ML systems for bias and privacy.",
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    COMMANDS.update(kinds.register(sub))
    for module in _COMMAND_MODULES:
        COMMANDS.update(importlib.import_module(module).register(sub))
    return p


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
