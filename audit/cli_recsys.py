"""The ``recommendation`` and ``ads`` subcommands of ``socialaudit``.

:func:`register` adds both to the main parser and returns their handlers; ``audit.cli`` wires
them in. Handlers take ``(args, console)``, return an exit code and raise
:class:`~audit.exceptions.AuditError` on bad input. Audits are imported inside the handlers so
that ``socialaudit --help`` stays fast.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from audit.cli_args import add_interval_flags
from audit.cli_args import count as _count
from audit.cli_args import csv_list as _csv
from audit.cli_args import parse_reference as _reference
from audit.cli_args import positive_int as _positive_int

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["register"]

Handler = Callable[[argparse.Namespace, "Console"], int]

EXIT_OK = 0


def _add_statistics(p: argparse.ArgumentParser, unit: str) -> Any:
    stats = p.add_argument_group("statistics")
    add_interval_flags(stats, largest=f"most {unit}", resamples=unit)
    stats.add_argument(
        "--min-users",
        type=_count,
        default=30,
        metavar="N",
        help=f"fewer {unit} in a group -> insufficient_evidence (30)",
    )
    stats.add_argument(
        "--min-group-size",
        type=_positive_int,
        default=10,
        metavar="N",
        help=f"groups with fewer {unit} are suppressed from the output (10)",
    )
    return stats


def _add_output(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", metavar="FILE", help="result JSON (default out/<command>.json)")
    p.add_argument("--quiet", action="store_true", help="print only where the result went")


def register(sub: Any) -> dict[str, Handler]:
    """Add the ``recommendation`` and ``ads`` subcommands to ``sub`` (from ``add_subparsers``).

    Returns
    -------
    dict
        ``{command: handler}``.
    """
    r = sub.add_parser(
        "recommendation",
        help="recommendation quality per user group, exposure per provider group",
        description="Audit a recommender: NDCG/recall/precision/hit rate at k per user group "
        "and intersection, exposure of provider groups against their catalogue and relevance "
        "shares, Gini of exposure, coverage and popularity bias. Give the platform's ranked "
        "lists (--recommendations + --truth) or a model and an interaction log (--model + "
        "--interactions), which is split per user by time.",
    )
    src = r.add_argument_group("what is audited (lists, or a model)")
    src.add_argument(
        "--recommendations", metavar="FILE", help="ranked lists: user, item, rank (1 = top)"
    )
    src.add_argument("--truth", metavar="FILE", help="held-out judgments: user, item[, rating]")
    src.add_argument(
        "--model",
        "--recommender",
        dest="model",
        metavar="SPEC",
        help="popularity, itemknn, puresvd (samples) or package.module:name",
    )
    src.add_argument(
        "--interactions",
        metavar="FILE",
        help="full interaction log (user, item, timestamp[, rating]) for --model",
    )
    src.add_argument(
        "--holdout",
        type=_positive_int,
        default=1,
        metavar="N",
        help="with --model: each user's last N interactions are held out (1)",
    )
    src.add_argument("--batch-size", type=_positive_int, default=1024, metavar="N")
    data = r.add_argument_group("people and items")
    data.add_argument("--users", required=True, metavar="FILE", help="user ids and attributes")
    data.add_argument(
        "--user-groups",
        required=True,
        type=_csv,
        metavar="COL[,COL...]",
        help="user attribute columns; several give their intersection too",
    )
    data.add_argument("--items", metavar="FILE", help="item ids and provider attributes")
    data.add_argument(
        "--creator-group",
        type=_csv,
        default=[],
        metavar="COL[,COL...]",
        help="provider (creator) group columns of --items; popularity_tier is always added",
    )
    data.add_argument(
        "--popularity-col",
        metavar="COL",
        help="with --recommendations: --items column of interaction counts (ARP, long tail)",
    )
    cols = r.add_argument_group("column names")
    cols.add_argument("--user-col", default="user_id", metavar="COL")
    cols.add_argument("--item-col", default="item_id", metavar="COL")
    cols.add_argument("--rank-col", default="rank", metavar="COL")
    cols.add_argument("--rating-col", default="rating", metavar="COL")
    cols.add_argument("--time-col", default="timestamp", metavar="COL")
    rel = r.add_argument_group("relevance")
    rel.add_argument("--k", type=_positive_int, default=10, metavar="K", help="list length (10)")
    rel.add_argument(
        "--relevance-threshold",
        type=float,
        metavar="R",
        help="held-out items rated >= R are relevant (default: every held-out item)",
    )
    rel.add_argument(
        "--graded", action="store_true", help="graded NDCG: gain = rating (default binary)"
    )
    stats = _add_statistics(r, "users")
    stats.add_argument(
        "--min-positives",
        type=_count,
        default=30,
        metavar="N",
        help="fewer relevant held-out judgments in a group -> insufficient_evidence (30)",
    )
    _add_output(r)

    a = sub.add_parser(
        "ads",
        help="ad delivery per demographic group against the eligible audience",
        description="Audit ad delivery: each group's share of impressions against its share "
        "of the eligible audience, delivery and reach rates, four-fifths impact ratios, per "
        "ad and pooled.",
    )
    a.add_argument(
        "--impressions", required=True, metavar="FILE", help="one row per impression: ad, user"
    )
    a.add_argument(
        "--audience",
        required=True,
        metavar="FILE",
        help="eligible users with demographics (add the ad column for per-ad audiences)",
    )
    a.add_argument(
        "--groups",
        required=True,
        type=_csv,
        metavar="COL[,COL...]",
        help="demographic columns of --audience; several give their intersection too",
    )
    a.add_argument("--ad-col", default="ad_id", metavar="COL")
    a.add_argument("--user-col", default="user_id", metavar="COL")
    _add_statistics(a, "eligible users")
    _add_output(a)
    return {"recommendation": run_recommendation, "ads": run_ads}


# --------------------------------------------------------------------------- handlers


def run_recommendation(args: argparse.Namespace, console: Console) -> int:
    """Handler of ``socialaudit recommendation``."""
    from audit.results import write_result
    from audit.runner import run_recommendation as audit_recommendation

    doc = audit_recommendation(
        users=args.users,
        user_groups=args.user_groups,
        recommendations=args.recommendations,
        truth=args.truth,
        model=args.model,
        interactions=args.interactions,
        holdout=args.holdout,
        batch_size=args.batch_size,
        items=args.items,
        creator_group=args.creator_group,
        popularity_col=args.popularity_col,
        user_col=args.user_col,
        item_col=args.item_col,
        rank_col=args.rank_col,
        rating_col=args.rating_col,
        time_col=args.time_col,
        k=args.k,
        relevance_threshold=args.relevance_threshold,
        graded=args.graded,
        reference=_reference(args.reference),
        resamples=args.resamples,
        ci_level=args.ci_level,
        seed=args.seed,
        min_users=args.min_users,
        min_positives=args.min_positives,
        min_group_size=args.min_group_size,
    )
    out = write_result(doc, args.out or Path("out") / "recommendation.json")
    if not args.quiet:
        print_recommendation(doc, console)
    console.print(f"result written to [bold]{out}[/bold]")
    return EXIT_OK


def run_ads(args: argparse.Namespace, console: Console) -> int:
    """Handler of ``socialaudit ads``."""
    from audit.ads import AdsOptions, ads_audit, load_delivery
    from audit.metrics import BootstrapSettings
    from audit.results import write_result

    delivery = load_delivery(
        args.impressions,
        args.audience,
        groups=args.groups,
        ad_col=args.ad_col,
        user_col=args.user_col,
    )
    options = AdsOptions(
        reference=_reference(args.reference),
        min_users=args.min_users,
        min_group_size=args.min_group_size,
        bootstrap=BootstrapSettings(args.resamples, args.ci_level, args.seed),
    )
    doc = ads_audit(delivery, options)
    out = write_result(doc, args.out or Path("out") / "ads.json")
    if not args.quiet:
        print_ads(doc, console)
    console.print(f"result written to [bold]{out}[/bold]")
    return EXIT_OK


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
