"""Tables and chart specifications of the report model: plain data, formatted by the templates.

A table is ``{"columns": [{"label", "fmt"}], "rows": [{"cells": [...], "muted": bool}]}``. A
cell is text, a number, or an estimate ``{"value", "ci_low", "ci_high"}`` (with an optional
``"fmt"`` that overrides its column's, e.g. a count in a column of rates); ``fmt`` says how the
templates print numbers: ``text``, ``int``, ``rate`` (a percentage; scientific when tiny),
``share`` (a percentage with two significant digits when small: ``0.023%``), ``ratio``
(``2.31×``), ``num`` (three decimals; an integer prints as an integer) or ``sci``.

A chart is ``{"id", "type", "title", "alt", "data", "table", "layout", "annex"}``: ``type`` is
one of ``dots`` (estimates with interval whiskers per group), ``ratios`` (group-to-reference
ratios against the fairness band), ``heatmap``, ``lines`` or ``bars``;
:mod:`audit.report._charts` draws it and the ``table`` holds the same numbers for readers who do
not read charts; ``layout`` is ``half`` (drawn to sit beside another chart) or ``full`` (the
width of the page); ``annex`` says the chart is shown in Annex B rather than in the main body.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Literal

__all__ = ["Fmt", "chart", "est", "is_count", "metric_fmt", "table"]

Fmt = Literal["text", "int", "rate", "share", "ratio", "num", "sci"]


def metric_fmt(name: str) -> Fmt:
    """How a metric prints: AUCs and NDCG as numbers, ratios as ``2.31×``, shares and rates as
    percentages."""
    if name.endswith("auc") or name in ("ndcg", "arp", "gini_exposure"):
        return "num"
    if name.endswith("_ratio"):
        return "ratio"
    if name.endswith("_share"):
        return "share"
    return "rate"


def is_count(name: str) -> bool:
    """Whether a metric is a count (PII findings, records, objects): printed as an integer."""
    return not name.endswith("_rate") and (
        name.endswith(("_findings", "_occurrences", "_total"))
        or name.startswith(("records_", "objects_"))
    )


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
    layout: Literal["half", "full"] | None = None,
) -> dict[str, Any]:
    """A chart specification with its alt text and the data table shown with it.

    ``layout`` defaults to ``half`` for the per-slice dot and ratio charts (shown in pairs)
    and ``full`` for the others.
    """
    return {
        "id": id_,
        "type": type_,
        "title": title,
        "alt": alt,
        "data": data,
        "table": tbl,
        "layout": layout or ("half" if type_ in ("dots", "ratios") else "full"),
        "annex": False,
    }
