"""Tables and chart specifications of the report model: plain data, formatted by the templates.

A table is ``{"columns": [{"label", "fmt"}], "rows": [{"cells": [...], "muted": bool}]}``.
A cell is text, a number, or an estimate ``{"value", "ci_low", "ci_high"}``; ``fmt`` says how
the templates print numbers: ``text``, ``int``, ``rate`` (a percentage; scientific when tiny),
``ratio`` (``2.31×``), ``num`` (three decimals) or ``sci``.

A chart is ``{"id", "type", "title", "alt", "data", "table"}``: ``type`` is one of ``dots``
(estimates with interval whiskers per group), ``ratios`` (group-to-reference ratios against the
fairness band), ``heatmap``, ``lines`` or ``bars``; :mod:`audit.report._charts` draws it and the
``table`` holds the same numbers for readers who do not read charts.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Literal

__all__ = ["Fmt", "chart", "est", "table"]

Fmt = Literal["text", "int", "rate", "ratio", "num", "sci"]


def est(x: Any) -> dict[str, Any] | None:
    """An estimate from a number or an estimate dict (``None`` when there is no value)."""
    if isinstance(x, dict) and "value" in x:
        return {"value": x.get("value"), "ci_low": x.get("ci_low"), "ci_high": x.get("ci_high")}
    if isinstance(x, int | float) and not isinstance(x, bool):
        return {"value": float(x), "ci_low": None, "ci_high": None}
    return None


def table(
    columns: Sequence[tuple[str, str]],
    rows: Iterable[Sequence[Any]],
    muted: Iterable[bool] | None = None,
) -> dict[str, Any]:
    """A table of the report model.

    Parameters
    ----------
    columns
        ``(label, fmt)`` per column; ``fmt`` is one of :data:`Fmt`.
    rows
        Cells per row, in column order.
    muted
        Per row, whether it is shown greyed out (insufficient evidence).
    """
    rows = [list(r) for r in rows]
    flags = list(muted) if muted is not None else [False] * len(rows)
    return {
        "columns": [{"label": label, "fmt": fmt} for label, fmt in columns],
        "rows": [{"cells": r, "muted": bool(m)} for r, m in zip(rows, flags, strict=True)],
    }


def chart(
    id_: str,
    type_: str,
    title: str,
    alt: str,
    data: dict[str, Any],
    tbl: dict[str, Any],
) -> dict[str, Any]:
    """A chart specification with its alt text and the data table shown beside it."""
    return {
        "id": id_,
        "type": type_,
        "title": title,
        "alt": alt,
        "data": data,
        "table": tbl,
    }
