"""Terminal rendering of result documents for the CLI (rich tables). Presentation only.

:func:`print_result` prints a classification or moderation result; :func:`print_groups` any
kind's, for kinds without a printer of their own (:data:`audit.cli.kinds.PRINTERS`).
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

__all__ = ["print_groups", "print_result"]

_SHOWN = ("fpr", "fnr", "selection_rate", "accuracy")

# intervals: value (low–high) at the document's confidence level


def _fmt(m: dict[str, Any] | None) -> str:
    if not m or m.get("value") is None:
        return "—"
    v = f"{m['value']:.3f}"
    if m.get("ci_low") is not None and m.get("ci_high") is not None:
        v += f" ({m['ci_low']:.3f}–{m['ci_high']:.3f})"
    return v


def _name(x: Any) -> str:
    return " & ".join(x) if isinstance(x, list) else str(x)


def print_result(doc: dict[str, Any], console: Console) -> None:
    """Print the per-group table, summaries and audit-specific sections of a result."""
    level = doc["settings"]["ci"]["level"]
    console.print(
        f"[bold]{doc['kind']} audit[/bold] — decision: {doc['settings']['decision_rule']}"
        f"; {level:.0%} intervals; overall n = {doc['overall']['n']}"
    )
    for attr in doc["settings"]["slices"]:
        key = attr[0] if len(attr) == 1 else attr
        rows = [g for g in doc["groups"] if g["attribute"] == key]
        if not rows:
            continue
        t = Table(title=_name(key), title_justify="left")
        t.add_column("group", no_wrap=True)
        t.add_column("n", justify="right", no_wrap=True)
        for m in _SHOWN:
            t.add_column(m.replace("_", " "), no_wrap=True)
        t.add_column("impact ratio", no_wrap=True)
        t.add_column("verdict", no_wrap=True)
        for g in rows:
            v = g["verdicts"]
            verdict = (
                "insufficient evidence"
                if v["evidence"] != "sufficient"
                else f"four-fifths {v['four_fifths']}"
            )
            t.add_row(
                _name(g["group"]),
                str(g["n"]),
                *(_fmt(g["metrics"][m]) for m in _SHOWN),
                _fmt(g["impact_ratio"]),
                verdict,
            )
        console.print(t)
        for s in doc["summary"]:
            if s["attribute"] == key and s["metric"] in (
                "equalized_odds_difference",
                "four_fifths_impact_ratio",
            ):
                console.print(
                    f"  {s['metric'].replace('_', ' ')}: {_fmt(s)}"
                    f" over {len(s['groups_included'])} groups with enough evidence"
                )
    if doc["suppressed_groups"]:
        names = ", ".join(
            f"{_name(s['attribute'])}={_name(s['group'])}" for s in doc["suppressed_groups"]
        )
        console.print(f"suppressed (fewer than {doc['settings']['min_group_size']} rows): {names}")
    mod = doc.get("moderation", {})
    for block in mod.get("bias_aucs", []):
        t = Table(title=f"bias AUCs by {block['attribute']}", title_justify="left")
        for c in ("group", "n", "subgroup AUC", "BPSN AUC", "BNSP AUC"):
            t.add_column(c)
        for g in block["groups"]:
            t.add_row(
                str(g["group"]),
                str(g["n"]),
                _fmt(g["subgroup_auc"]),
                _fmt(g["bpsn_auc"]),
                _fmt(g["bnsp_auc"]),
            )
        console.print(t)
        console.print(
            f"  overall AUC {_fmt(block['overall_auc'])}; final bias score "
            f"{_fmt(block['final_score'])}"
        )
    swap = mod.get("identity_swap")
    if swap:
        t = Table(title=f"identity swaps ({swap['templates']} templates)", title_justify="left")
        for c in ("axis", "terms", "mean spread", "max spread", "flip rate", "highest", "lowest"):
            t.add_column(c)
        for a in swap["axes"]:
            t.add_row(
                a["axis"],
                str(a["terms"]),
                f"{a['mean_spread']:.3f}",
                f"{a['max_spread']:.3f}",
                f"{a['flip_rate']:.1%}",
                a["highest_term"],
                a["lowest_term"],
            )
        console.print(t)


def print_groups(doc: dict[str, Any], console: Console) -> None:
    """Any kind's result: its headline metrics per group (the report profile's, else the
    first few), for a kind without a printer of its own."""
    from audit.kinds import headline_metrics

    groups = doc.get("groups") or []
    present = list(dict.fromkeys(m for g in groups for m in g.get("metrics") or {}))
    wanted = headline_metrics().get(str(doc.get("kind")), ())
    shown = [m for m in wanted if m in present] or present[:4]
    console.print(
        f"[bold]{doc.get('kind')} audit[/bold] — overall n = {(doc.get('overall') or {}).get('n')}"
    )
    by_attr: dict[str, list[dict[str, Any]]] = {}
    for g in groups:
        by_attr.setdefault(_name(g.get("attribute")), []).append(g)
    for attr, rows in by_attr.items():
        t = Table(title=attr, title_justify="left")
        t.add_column("group", no_wrap=True)
        t.add_column("n", justify="right", no_wrap=True)
        for m in shown:
            t.add_column(m.replace("_", " "), no_wrap=True)
        for g in rows:
            t.add_row(
                _name(g.get("group")), str(g.get("n")), *(_fmt(g["metrics"].get(m)) for m in shown)
            )
        console.print(t)
    if doc.get("suppressed_groups"):
        names = ", ".join(
            f"{_name(s['attribute'])}={_name(s['group'])}" for s in doc["suppressed_groups"]
        )
        console.print(f"suppressed (too few to publish): {names}")
