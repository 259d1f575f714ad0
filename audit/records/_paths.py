"""Dotted paths into nested records: ``user.post.text``, list indices, literal dotted keys."""

from __future__ import annotations

from typing import Any, Final

__all__ = ["MISSING", "get_path", "is_missing", "set_path"]


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


#: What :func:`get_path` returns when nothing is at the path (``None`` is a JSON null).
MISSING: Final = _Missing()


def _steps(node: Any, parts: list[str]) -> list[str | int] | None:
    """The keys and indices that lead from ``node`` along ``parts``, or ``None``.

    At each level the longest run of parts that is a key wins (a CSV column or a JSON key
    may hold dots); if that leads nowhere, shorter runs are tried.
    """
    if not parts:
        return []
    if isinstance(node, dict):
        for k in range(len(parts), 0, -1):
            key = ".".join(parts[:k])
            if key in node:
                rest = _steps(node[key], parts[k:])
                if rest is not None:
                    return [key, *rest]
        return None
    if isinstance(node, list):
        part = parts[0]
        if part.isascii() and part.isdigit() and int(part) < len(node):
            rest = _steps(node[int(part)], parts[1:])
            if rest is not None:
                return [int(part), *rest]
    return None


def get_path(record: dict[str, Any], path: str) -> Any:
    """The value at a dotted path, or :data:`MISSING`.

    ``post.body`` is ``record["post"]["body"]``; ``tags.0`` the first item of a list; a key
    that holds dots (``record["post.body"]``, a CSV column) wins over the nested reading.

    Examples
    --------
    >>> get_path({"user": {"posts": [{"text": "hi"}]}}, "user.posts.0.text")
    'hi'
    >>> get_path({"post.body": "flat", "post": {"body": "nested"}}, "post.body")
    'flat'
    >>> get_path({"post": {}}, "post.body")
    MISSING
    """
    if path in record:  # the common case, a top-level field
        return record[path]
    steps = _steps(record, path.split("."))
    if steps is None:
        return MISSING
    value: Any = record
    for step in steps:
        value = value[step]
    return value


def set_path(record: dict[str, Any], path: str, value: Any) -> None:
    """Replace the value :func:`get_path` finds at ``path`` (in place).

    Raises
    ------
    KeyError
        Nothing is at ``path``.
    """
    if path in record:
        record[path] = value
        return
    steps = _steps(record, path.split("."))
    if not steps:
        raise KeyError(path)
    node: Any = record
    for step in steps[:-1]:
        node = node[step]
    node[steps[-1]] = value


def is_missing(value: Any) -> bool:
    """Whether :func:`get_path` found nothing."""
    return value is MISSING
