"""What every audit spec shares: the base model, field metadata for the boundaries, and the
settings (reference group, bootstrap) most kinds take.

A spec field says once what it is (type, default, constraints, ``description``); two small
metadata objects say how the boundaries treat it:

* :class:`Cli` — how it appears on the command line (flag spelling, metavar, help group,
  comma-separated list, repeated flag, mutually exclusive set). Without one a field is a flag
  named after it (``min_group_size`` → ``--min-group-size``).
* :class:`File` — that it names a file or folder: an ``input`` read by the audit (checked when a
  scan is submitted; relative to ``audit.yaml``), an ``output`` it writes, or a ``config`` file
  on the server (a policy or PII config).

Text syntaxes (``ATTR=VALUE`` references, ``NAME=module:function`` metrics, PII samples) are
parsed by validators on the field's type, so the CLI, ``audit.yaml`` and HTTP bodies all accept
them and report a bad value the same way. Cross-field rules are model validators that name
fields through the validation context (``{"name": callable}``): ``--user-groups`` on the command
line, ``user_groups`` in a file or a request body.

This module imports no audit engine: the API validates requests with the specs.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, Self, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationInfo
from pydantic.fields import FieldInfo

__all__ = [
    "STATISTICS",
    "CiLevel",
    "Cli",
    "File",
    "KindSpec",
    "Progress",
    "Reference",
    "Resamples",
    "Seed",
    "Stage",
    "ci_level",
    "cli_of",
    "file_fields",
    "file_of",
    "namer",
    "reference",
    "resamples",
    "seed",
    "stage",
]

#: ``(stage, done, total)``: how a run reports progress; ``total`` is ``None`` while unknown.
Progress = Callable[[str, int, int | None], None]
#: ``(done, total)``: the progress callback of one stage, as the engines take it.
Stage = Callable[[int, int | None], None]

FileRole = Literal["input", "output", "config"]


@dataclass(frozen=True)
class Cli:
    """How a spec field appears on the ``socialaudit`` command line.

    Attributes
    ----------
    flag
        The flag (default ``--`` + the field name with dashes).
    aliases
        Other spellings accepted (``--recommender`` for ``--model``).
    metavar
        Placeholder in the help (``FILE``, ``COL``).
    group
        Title of the help section the flag is listed under.
    one_of
        Name of a set of flags of which at most one may be given (argparse's mutually
        exclusive group); ``required`` on a member makes one of the set required.
    csv
        A list given as one comma-separated value (``--groups race,sex``).
    repeat
        A list given by repeating the flag (``--metric a=m:f --metric b=m:g``).
    help
        Help text when the flag must be worded otherwise than the field's description (a
        ``--no-x`` flag for a setting that is on by default).
    required
        Required on the command line although the spec has a default (``None``: as the spec).
    shown
        ``False`` for a field that is not a flag.
    """

    flag: str | None = None
    aliases: tuple[str, ...] = ()
    metavar: str | None = None
    group: str | None = None
    one_of: str | None = None
    csv: bool = False
    repeat: bool = False
    help: str | None = None
    required: bool | None = None
    shown: bool = True


@dataclass(frozen=True)
class File:
    """Marks a field that names a file or folder (see the module docstring)."""

    role: FileRole


M = TypeVar("M")


def _meta(info: FieldInfo, cls: type[M]) -> M | None:
    return next((m for m in info.metadata if isinstance(m, cls)), None)


def cli_of(info: FieldInfo) -> Cli:
    """The field's :class:`Cli` metadata (the defaults when it has none)."""
    return _meta(info, Cli) or Cli()


def file_of(info: FieldInfo) -> FileRole | None:
    """``input``, ``output`` or ``config`` if the field names a file, else ``None``."""
    found = _meta(info, File)
    return found.role if found else None


def file_fields(model: type[BaseModel], role: FileRole) -> tuple[str, ...]:
    """The fields of ``model`` that name a file in ``role``."""
    return tuple(n for n, f in model.model_fields.items() if file_of(f) == role)


def namer(info: ValidationInfo) -> Callable[[str], str]:
    """How this validation names a field in its messages (the field name itself by default)."""
    context = info.context if isinstance(info.context, Mapping) else {}
    name = context.get("name")
    return name if callable(name) else str


def stage(progress: Progress | None, label: str) -> Stage | None:
    """The ``(done, total)`` callback of one stage of ``progress``."""
    return None if progress is None else functools.partial(progress, label)


#: ``package.module:function`` (a callable named by import path, not a file).
_CALLABLE = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")


class KindSpec(BaseModel):
    """The settings every audit kind has; each kind's spec adds its own.

    ``kind`` is the kind's name (a ``Literal`` in each spec: it tells the kinds apart in
    ``audit.yaml`` and in scan requests).
    """

    # Schemas are built on first validation, not at import: ``socialaudit --help`` reads only
    # the fields.
    model_config = ConfigDict(extra="forbid", defer_build=True)

    kind: str
    name: Annotated[str | None, Cli(shown=False)] = Field(
        None,
        description="name of the audit: in audit.yaml the result's file name (default: the kind)",
    )
    out: Annotated[str | None, File("output"), Cli(metavar="FILE")] = Field(
        None, description="result JSON (default out/<kind>.json)"
    )

    def resolved(self, base: Path) -> Self:
        """The spec with relative file paths taken relative to ``base`` (a config's folder).

        URIs (``s3://``, ``https://``) and ``package.module:function`` names stay as given.
        """
        paths = {}
        for key, info in type(self).model_fields.items():
            value = getattr(self, key)
            if file_of(info) is None or not isinstance(value, str) or not value:
                continue
            if "://" in value or Path(value).is_absolute() or _CALLABLE.match(value):
                continue
            paths[key] = str(base / value)
        return self.model_copy(update=paths)

    def outputs_at(self, result: Path) -> list[str]:
        """Fields naming, as an output of their own, the file the result is written to."""
        clash = []
        for key, info in type(self).model_fields.items():
            value = getattr(self, key)
            if key == "out" or file_of(info) != "output" or not value or "://" in str(value):
                continue
            if Path(value).resolve() == result.resolve():
                clash.append(key)
        return clash


# --------------------------------------------------------------------------- shared settings

#: Help section of the statistics settings.
STATISTICS = "statistics"


def _reference_text(value: Any) -> Any:
    """``largest``, ``best`` or ``ATTR=VALUE[,ATTR=VALUE]`` text → the engines' setting."""
    if not isinstance(value, str) or value in ("largest", "best"):
        return value
    pairs = {}
    for item in (v.strip() for v in value.split(",")):
        attr, sep, group = item.partition("=")
        if not item or not sep or not attr.strip() or not group.strip():
            raise ValueError(f"must be largest, best or ATTR=VALUE[,ATTR=VALUE], got {value!r}")
        pairs[attr.strip()] = group.strip()
    return pairs


Reference = Annotated[
    Literal["largest", "best"] | dict[str, str],
    BeforeValidator(_reference_text),
    Cli(metavar="REF", group=STATISTICS),
]
Resamples = Annotated[int, Cli(metavar="N", group=STATISTICS)]
CiLevel = Annotated[float, Cli(metavar="L", group=STATISTICS)]
Seed = Annotated[int, Cli(group=STATISTICS)]


def reference(largest: str) -> Any:
    """The ``reference`` field; ``largest`` says what the largest group is (most users, ...)."""
    return Field(
        "largest",
        description=f"reference group of the disparities: largest ({largest}), best, or "
        "ATTR=VALUE[,...] ({attribute: group} in YAML or JSON)",
    )


def resamples(unit: str) -> Any:
    """The ``resamples`` field; ``unit`` is what the bootstrap resamples (rows, users, ...)."""
    return Field(1000, ge=0, description=f"bootstrap resamples of {unit} (0: no intervals)")


def ci_level() -> Any:
    """The ``ci_level`` field."""
    return Field(0.95, gt=0.0, lt=1.0, description="confidence level of the intervals")


def seed() -> Any:
    """The ``seed`` field."""
    return Field(0, description="random seed of the bootstrap")
