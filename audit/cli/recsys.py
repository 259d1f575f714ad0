"""How ``socialaudit recommendation`` and ``socialaudit ads`` print their results (presentation
only; the commands are generated from the kinds' specs, :mod:`audit.cli.kinds`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["print_ads", "print_recommendation"]


# --------------------------------------------------------------------------- presentation


def _fmt(m: dict[str, Any] | None, digits: int = 3) -> str:
    if not m or m.get("value") is None:
        return "—"
    v = f"{m['value']:.{digits}f}"
    if m.get("ci_low") is not None and m.get("ci_high") is not None:
        v += f" [{m['ci_low']:.{digits}f}, {m['ci_high']:.{digits}f}]"
    return v


def _name(x: Any) -> str:
    return " & ".join(map(str, x)) if isinstance(x, list) else str(x)


def _messages(doc: dict[str, Any], console: Console) -> None:
    for msg in doc.get("data_quality", {}).get("messages", []):
        console.print(f"[yellow]note:[/yellow] {msg}", highlight=False)
    if doc["suppressed_groups"]:
        names = ", ".join(
            f"{_name(s['attribute'])}={_name(s['group'])}" for s in doc["suppressed_groups"]
        )
        console.print(f"suppressed (too few to publish): {names}", highlight=False)


def print_recommendation(doc: dict[str, Any], console: Console) -> None:
    """Per-user-group quality, provider exposure and catalogue measures as tables."""
    from rich.table import Table

    s = doc["settings"]
    k = s["k"]
    model = doc["provenance"]["model"]
    console.print(
        f"[bold]recommendation audit[/bold] — {model.get('name') or model['kind']}"
        f"; k = {k}; {s['relevance']['kind']} relevance; {s['ci']['level']:.0%} intervals; "
        f"{doc['overall']['n']} users evaluated",
        highlight=False,
    )
    metrics = ("ndcg", "recall", "precision", "hit_rate")
    t = Table(title="overall", title_justify="left")
    for m in metrics:
        t.add_column(f"{m}@{k}")
    t.add_row(*(_fmt(doc["overall"]["metrics"][m]) for m in metrics))
    console.print(t)
    for attr in s["slices"]:
        key = attr[0] if len(attr) == 1 else attr
        rows = [g for g in doc["groups"] if g.get("side") == "user" and g["attribute"] == key]
        if not rows:
            continue
        t = Table(title=f"users by {_name(key)}", title_justify="left")
        t.add_column("group")
        t.add_column("users", justify="right")
        for m in metrics:
            t.add_column(f"{m}@{k}")
        t.add_column("NDCG vs reference")
        for g in rows:
            t.add_row(
                _name(g["group"]),
                str(g["n"]),
                *(_fmt(g["metrics"][m]) for m in metrics),
                g["verdicts"]["ndcg_vs_reference"]
                if g["verdicts"]["evidence"] == "sufficient"
                else "insufficient evidence",
            )
        console.print(t)
    for attr in s["provider_attributes"]:
        rows = [g for g in doc["groups"] if g.get("side") == "provider" and g["attribute"] == attr]
        if not rows:
            continue
        t = Table(title=f"provider exposure by {attr}", title_justify="left")
        for c in ("group", "items", "exposure share", "catalogue share", "relevance share",
                  "exposure/relevance", "verdict"):  # fmt: skip
            t.add_column(c)
        for g in rows:
            m = g["metrics"]
            t.add_row(
                str(g["group"]),
                str(g["n"]),
                _fmt(m["exposure_share"]),
                _fmt(m["catalogue_share"]),
                _fmt(m["relevance_share"]),
                _fmt(m["exposure_to_relevance_ratio"], 2),
                g["verdicts"]["exposure_vs_relevance"].replace("_", " "),
            )
        console.print(t)
    cat = {r["metric"]: r for r in doc["summary"] if r["attribute"] == "catalogue"}
    console.print(
        f"catalogue: Gini of exposure {_fmt(cat.get('gini_exposure'))}, coverage "
        f"{_fmt(cat.get('coverage'))}, ARP {_fmt(cat.get('arp'), 1)}, long-tail share (APLT) "
        f"{_fmt(cat.get('aplt'))}",
        highlight=False,
    )
    _messages(doc, console)


def print_ads(doc: dict[str, Any], console: Console) -> None:
    """Pooled delivery per group and the worst ad per attribute."""
    from rich.table import Table

    s = doc["settings"]
    o = doc["overall"]
    console.print(
        f"[bold]ads audit[/bold] — {len(doc['ads'])} ads, {o['impressions']} impressions to "
        f"{o['n']} eligible users; {s['ci']['level']:.0%} intervals",
        highlight=False,
    )
    for attr in s["slices"]:
        key = attr[0] if len(attr) == 1 else attr
        rows = [g for g in doc["groups"] if g["attribute"] == key]
        if not rows:
            continue
        t = Table(title=f"all ads by {_name(key)}", title_justify="left")
        for c in ("group", "eligible", "eligible share", "delivery share", "skew",
                  "impact ratio", "four-fifths"):  # fmt: skip
            t.add_column(c)
        for g in rows:
            m = g["metrics"]
            t.add_row(
                _name(g["group"]),
                str(g["n"]),
                _fmt(m["eligible_share"]),
                _fmt(m["delivery_share"]),
                _fmt(m["skew_ratio"], 2),
                _fmt(m["impact_ratio"], 2),
                g["verdicts"]["four_fifths"].replace("_", " "),
            )
        console.print(t)
    for rec in doc["summary"]:
        if rec["metric"] == "worst_ad_delivery_impact_ratio":
            console.print(
                f"  worst ad by {_name(rec['attribute'])}: {rec['ad']} — impact ratio "
                f"{_fmt(rec, 2)}",
                highlight=False,
            )
    _messages(doc, console)
