"""Messages for HTTP users: the engines name settings by their command-line flags
(``--user-groups``); a scan request names them by field (``user_groups``).

The one translation, derived from the specs' :class:`~audit.kinds.Cli` metadata (the same that
spells the flags), applied where a message reaches an HTTP user: errors of ``POST /scans``, a
scan's ``error``, the console.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from audit.kinds._spec import cli_of

if TYPE_CHECKING:
    from pydantic.fields import FieldInfo

__all__ = ["as_fields", "field_flags", "http_description"]

_FLAG = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")


def _spellings(name: str, info: FieldInfo) -> list[str]:
    cli = cli_of(info)
    dashed = name.replace("_", "-")
    out = [f"--{dashed}", *cli.aliases]
    if cli.flag:
        out.append(cli.flag)
    if info.annotation is bool or info.annotation == (bool | None):
        out.append(f"--no-{dashed}")  # a boolean on by default is switched off so
    return out


def field_flags(registry: Mapping[str, Any]) -> dict[str, str]:
    """Every flag (and alias) of every kind's spec → the field it sets."""
    flags: dict[str, str] = {}
    for entry in registry.values():
        for name, info in entry.spec.model_fields.items():
            for flag in _spellings(name, info):
                flags.setdefault(flag, name)
    return flags


@functools.cache
def _registry_flags() -> dict[str, str]:
    from audit.kinds import REGISTRY

    return field_flags(REGISTRY)


def as_fields(message: str, flags: Mapping[str, str] | None = None) -> str:
    """``message`` with every audit setting's flag named as its field.

    Examples
    --------
    >>> as_fields("--creator-group needs --items (the file with the item attributes)")
    'creator_group needs items (the file with the item attributes)'
    >>> as_fields("pip install --no-deps face-recognition")  # not a setting: as it was
    'pip install --no-deps face-recognition'
    """
    table = _registry_flags() if flags is None else flags
    return _FLAG.sub(lambda m: table.get(m.group(0), m.group(0)), message)


def http_description(name: str, info: FieldInfo, text: str) -> str:
    """A field's description for HTTP: flags named as fields, and the field's own placeholder
    (its ``metavar``: ``positive when score >= X``) as the field (``threshold``)."""
    text = as_fields(text)
    metavar = cli_of(info).metavar
    if metavar and re.fullmatch(r"[A-Z]", metavar):  # a one-letter placeholder stands for it
        text = re.sub(rf"(?<![\w.]){metavar}(?![\w.])", name, text)
    return text
