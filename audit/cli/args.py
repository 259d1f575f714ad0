"""Command-line flags derived from spec fields, and the argument types they use (CLI layer only).

A spec field (:mod:`audit.kinds`) becomes one flag: its name with dashes unless its
:class:`~audit.kinds.Cli` metadata says otherwise, its description as the help (with the
default), a type that enforces its numeric bounds with a plain message, choices from a
``Literal``, ``--x``/``--no-x`` for a boolean off/on by default. Flags that are not given are
left out, so every default comes from the spec.
"""

from __future__ import annotations

import argparse
import math
import types
import typing
from collections.abc import Callable
from typing import Any, Literal, Union

import annotated_types
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from audit.kinds import cli_of

__all__ = [
    "add_spec_flags",
    "csv_list",
    "flag_namer",
    "format_cli_errors",
    "number",
    "spec_values",
]

#: Spec fields that are not flags of their own: the command is the kind, ``name`` is for
#: ``audit.yaml``, ``--out`` goes last with ``--quiet``.
_NOT_FLAGS = frozenset({"kind", "name", "out"})


def csv_list(value: str) -> list[str]:
    """``a, b,c`` -> ``["a", "b", "c"]``."""
    return [v.strip() for v in value.split(",") if v.strip()]


def _g(x: float) -> str:
    return f"{x:g}"


def number(
    kind: type[int] | type[float],
    *,
    ge: float | None = None,
    gt: float | None = None,
    le: float | None = None,
    lt: float | None = None,
) -> Callable[[str], int | float]:
    """An argparse type: a whole number or a finite number within the bounds given."""
    low, high = (ge if gt is None else gt), (le if lt is None else lt)
    if low is not None and high is not None:
        if gt is not None and lt is not None:
            bounds = f"lie strictly between {_g(low)} and {_g(high)}"
        else:
            bounds = f"lie in {'(' if gt is not None else '['}{_g(low)}, {_g(high)}"
            bounds += ")" if lt is not None else "]"
    elif ge is not None:
        bounds = "be 0 or more" if ge == 0 else f"be at least {_g(ge)}"
    elif gt is not None:
        bounds = "be at least 1" if kind is int and gt == 0 else f"be greater than {_g(gt)}"
    elif high is not None:
        bounds = f"be {'at most' if lt is None else 'less than'} {_g(high)}"
    else:
        bounds = ""

    def parse(value: str) -> int | float:
        try:
            x = kind(value)
        except ValueError:
            what = "a whole number" if kind is int else "a number"
            raise argparse.ArgumentTypeError(f"not {what}: {value!r}") from None
        if not math.isfinite(x):
            raise argparse.ArgumentTypeError(f"must be finite, got {value}")
        ok = (
            (ge is None or x >= ge)
            and (gt is None or x > gt)
            and (le is None or x <= le)
            and (lt is None or x < lt)
        )
        if not ok:
            raise argparse.ArgumentTypeError(f"must {bounds}, got {value}")
        return x

    parse.__name__ = kind.__name__  # argparse names the type in some messages
    return parse


def _without_none(annotation: Any) -> Any:
    """``X | None`` → ``X`` (a union of several other types stays a union)."""
    if typing.get_origin(annotation) in (Union, types.UnionType):
        rest = [a for a in typing.get_args(annotation) if a is not type(None)]
        return rest[0] if len(rest) == 1 else Union[tuple(rest)]  # noqa: UP007
    return annotation


def _bounds(info: FieldInfo) -> dict[str, float]:
    out: dict[str, float] = {}
    for m in info.metadata:
        for name, cls in (
            ("ge", annotated_types.Ge),
            ("gt", annotated_types.Gt),
            ("le", annotated_types.Le),
            ("lt", annotated_types.Lt),
        ):
            if isinstance(m, cls):
                out[name] = getattr(m, name)
    return out


def _default(info: FieldInfo) -> Any:
    return None if info.is_required() else info.get_default(call_default_factory=True)


def _flag(name: str, info: FieldInfo) -> str:
    cli = cli_of(info)
    if cli.flag:
        return cli.flag
    if _without_none(info.annotation) is bool and _default(info) is True:
        return "--no-" + name.replace("_", "-")
    return "--" + name.replace("_", "-")


def flag_namer(spec: type[BaseModel]) -> Callable[[str], str]:
    """How the command line names a field of ``spec`` (``user_groups`` → ``--user-groups``)."""
    flags = {name: _flag(name, info) for name, info in spec.model_fields.items()}
    return lambda field: flags.get(field, field)


def _help(info: FieldInfo) -> str:
    cli = cli_of(info)
    text = cli.help or info.description or ""
    default = _default(info)
    if not (default is None or isinstance(default, bool) or default in ([], {}, "")):
        text += f" (default {default})"
    return text.replace("%", "%%")


def add_spec_flags(parser: argparse.ArgumentParser, spec: type[BaseModel]) -> None:
    """Add a flag for every field of ``spec``, in the spec's order, under its help group."""
    fields = {n: f for n, f in spec.model_fields.items() if n not in _NOT_FLAGS}
    fields = {n: f for n, f in fields.items() if cli_of(f).shown}
    required_sets = {c.one_of for f in fields.values() if (c := cli_of(f)).one_of and c.required}
    groups: dict[str, Any] = {}
    exclusive: dict[tuple[str | None, str], Any] = {}
    for name, info in fields.items():
        cli = cli_of(info)
        where: Any = parser
        if cli.group is not None:
            if cli.group not in groups:
                groups[cli.group] = parser.add_argument_group(cli.group)
            where = groups[cli.group]
        if cli.one_of is not None:
            key = (cli.group, cli.one_of)
            if key not in exclusive:
                exclusive[key] = where.add_mutually_exclusive_group(
                    required=cli.one_of in required_sets
                )
            where = exclusive[key]
        kw: dict[str, Any] = {"dest": name, "default": argparse.SUPPRESS, "help": _help(info)}
        inner = _without_none(info.annotation)
        if inner is bool:
            kw["action"] = "store_false" if _default(info) is True else "store_true"
            where.add_argument(_flag(name, info), *cli.aliases, **kw)
            continue
        if cli.metavar:
            kw["metavar"] = cli.metavar
        if typing.get_origin(inner) is Literal:
            kw["choices"] = typing.get_args(inner)
        elif cli.csv:
            kw["type"] = csv_list
        elif inner in (int, float):
            kw["type"] = number(inner, **_bounds(info))
        if cli.repeat:
            kw["action"] = "append"
        required = info.is_required() if cli.required is None else cli.required
        if required and cli.one_of is None:
            kw["required"] = True
        where.add_argument(_flag(name, info), *cli.aliases, **kw)


def spec_values(args: argparse.Namespace, spec: type[BaseModel]) -> dict[str, Any]:
    """The values of the flags given on the command line, by field name."""
    return {name: getattr(args, name) for name in spec.model_fields if hasattr(args, name)}


def format_cli_errors(exc: ValidationError, name: Callable[[str], str]) -> str:
    """One line per problem, naming the flag: ``--k: Input should be ...``."""
    lines = []
    for err in exc.errors():
        msg = err["msg"].removeprefix("Value error, ")
        loc = [str(p) for p in err["loc"]]
        lines.append(": ".join([name(loc[0]), *loc[1:], msg]) if loc else msg)
    return "\n".join(lines)
