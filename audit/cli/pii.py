"""``socialaudit pii-eval`` (hand-written: it evaluates the detector, it is no audit kind), and
how ``socialaudit pii`` prints its result (the command is generated from the kind's spec,
:mod:`audit.cli.kinds`).

:func:`register` adds ``pii-eval`` to the ``socialaudit`` parser and returns its handler;
:mod:`audit.cli` wires it in. Presidio and spaCy are imported only when a command runs, so
``socialaudit --help`` stays fast.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from audit.exceptions import ConfigError
from audit.kinds.pii import load_config, parse_workers

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["print_scan", "register"]

EXIT_OK = 0

Handler = Callable[[argparse.Namespace, "Console"], int]


def _workers(value: str) -> int | str:
    try:
        return cast("int | str", parse_workers(value))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def register(sub: Any) -> dict[str, Handler]:
    """Add ``pii-eval`` to the ``socialaudit`` subparsers; return its handler."""
    e = sub.add_parser(
        "pii-eval",
        help="accuracy and name bias of the PII detector on a labelled corpus",
        description="Measure the PII detector: span precision, recall and F1 per entity type "
        "(exact and overlap) and PERSON recall by name origin and gender, on a corpus built "
        "from presidio-evaluator's templates and identities (run "
        "scripts/fetch_pii_corpus.py first) or on your own labelled JSONL.",
    )
    e.add_argument("--corpus", metavar="FILE", help="labelled JSONL (text, spans) instead")
    e.add_argument(
        "--raw-dir",
        metavar="DIR",
        help="presidio-evaluator raw data (default .cache/samples/pii)",
    )
    e.add_argument("--n", type=int, default=3000, metavar="N", help="posts generated (3000)")
    e.add_argument("--seed", type=int, default=0)
    e.add_argument(
        "--compare-defaults",
        action="store_true",
        help="also run Presidio's stock analyzer post by post (slow) and compare",
    )
    e.add_argument("--resamples", type=int, default=1000, metavar="N")
    e.add_argument("--write-corpus", metavar="FILE", help="also save the generated corpus")
    e.add_argument(
        "--config",
        metavar="FILE",
        help="PII detection config (YAML; default policies/pii-default.yaml)",
    )
    e.add_argument(
        "--workers",
        type=_workers,
        metavar="N|auto",
        help="detection processes (default: the config's workers; auto = one per CPU)",
    )
    e.add_argument("--out", metavar="FILE", help="result JSON (default out/pii-eval.json)")
    e.add_argument("--quiet", action="store_true", help="print only where the result went")
    return {"pii-eval": _run_eval}


class _NoProgress:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def _run_eval(args: argparse.Namespace, console: Console) -> int:
    from audit.pii import pii_eval
    from audit.results import write_result

    if args.n < 1:
        raise ConfigError(f"--n must be at least 1, got {args.n}")
    if args.resamples < 0:
        raise ConfigError(f"--resamples must be 0 or more, got {args.resamples}")
    cfg = load_config(args.config, args.workers)
    if args.write_corpus and not args.corpus:
        from audit.pii._corpus import generate_corpus, load_raw_data, write_corpus
        from audit.pii._eval import _default_raw_dir

        raw = load_raw_data(args.raw_dir or _default_raw_dir())
        write_corpus(generate_corpus(args.n, raw, seed=args.seed), args.write_corpus)
    with console.status("evaluating the detector") if console.is_terminal else _NoProgress():
        doc = pii_eval(
            config=cfg,
            corpus=args.corpus,
            raw_dir=args.raw_dir,
            n=args.n,
            seed=args.seed,
            compare_defaults=args.compare_defaults,
            resamples=args.resamples,
        )
    path = write_result(doc, args.out or Path("out") / "pii-eval.json")
    if not args.quiet:
        _print_eval(doc, console)
    console.print(f"result written to [bold]{path}[/bold]")
    return EXIT_OK


# --- printing (presentation only) -----------------------------------------------------------


def print_scan(doc: dict[str, Any], console: Console) -> None:
    """A PII scan: records, findings by type and severity (masked samples only), skips."""
    from rich.table import Table

    pii = doc["pii"]
    rec = pii["records"]
    console.print(
        f"[bold]PII scan[/bold] of {doc['settings']['source']}: {rec['scanned']} records "
        f"scanned, {rec['with_pii']} with PII, {rec['skipped']} skipped; "
        f"{pii['findings_total']} findings ({pii['severity']['HIGH']} high, "
        f"{pii['severity']['MEDIUM']} medium, {pii['severity']['LOW']} low)"
    )
    if pii["by_type"]:
        t = Table(title="findings by entity type", title_justify="left")
        for col in ("type", "occurrences", "records", "low", "medium", "high", "masked samples"):
            t.add_column(col, no_wrap=col != "masked samples")
        for etype, v in pii["by_type"].items():
            sev = v["severity"]
            t.add_row(
                etype,
                str(v["occurrences"]),
                str(v["records"]),
                str(sev["LOW"]),
                str(sev["MEDIUM"]),
                str(sev["HIGH"]),
                ", ".join(v["masked_samples"][:3]),
            )
        console.print(t)
    if pii["skipped"]["by_reason"]:
        reasons = ", ".join(f"{k} {v}" for k, v in pii["skipped"]["by_reason"].items())
        console.print(f"skipped: {reasons}")
    if pii.get("sampling"):
        s = pii["sampling"]
        console.print(
            f"sampled: objects {s['objects']}, records per object {s['records_per_object']}, "
            f"random start {s['random_start']}, seed {s['seed']}"
        )


def _f(x: float | None) -> str:
    return "—" if x is None else f"{x:.3f}"


def _print_eval(doc: dict[str, Any], console: Console) -> None:
    from rich.table import Table

    ev = doc["pii_eval"]
    default = ev.get("presidio_default")
    t = Table(title="span precision / recall / F1 (exact | overlap)", title_justify="left")
    t.add_column("type", no_wrap=True)
    t.add_column("gold", justify="right")
    t.add_column("ours exact P/R/F1", no_wrap=True)
    t.add_column("ours overlap P/R/F1", no_wrap=True)
    if default:
        t.add_column("Presidio default exact", no_wrap=True)
        t.add_column("Presidio default overlap", no_wrap=True)
    for etype, v in ev["ours"].items():
        row = [etype, str(v["gold"])]
        for mode in ("exact", "overlap"):
            m = v[mode]
            row.append(f"{_f(m['precision'])} {_f(m['recall'])} {_f(m['f1'])}")
        if default:
            for mode in ("exact", "overlap"):
                m = default[etype][mode]
                row.append(f"{_f(m['precision'])} {_f(m['recall'])} {_f(m['f1'])}")
        t.add_row(*row)
    console.print(t)
    for attr in ("name_set", "gender"):
        rows = [g for g in doc["groups"] if g["attribute"] == attr]
        if not rows:
            continue
        g = Table(title=f"PERSON recall by {attr.replace('_', ' ')}", title_justify="left")
        for col in ("group", "names", "recall", "interval", "vs reference", "evidence"):
            g.add_column(col, no_wrap=True)
        for r in sorted(rows, key=lambda r: r["metrics"]["tpr"]["value"] or 0):
            m = r["metrics"]["tpr"]
            ratio = next(
                (
                    d["ratio"]["value"]
                    for d in doc["disparities"]
                    if d["attribute"] == attr and d["group"] == r["group"] and d["metric"] == "tpr"
                ),
                None,
            )
            g.add_row(
                str(r["group"]),
                str(r["n"]),
                _f(m["value"]),
                f"{_f(m['ci_low'])}–{_f(m['ci_high'])}",
                _f(ratio),
                r["verdicts"].get("evidence", ""),
            )
        console.print(g)
    tp = ev["throughput"]
    line = f"throughput: ours {tp['ours_posts_per_second']:.0f} posts/s"
    if tp.get("presidio_default_posts_per_second"):
        line += (
            f", Presidio default {tp['presidio_default_posts_per_second']:.0f} posts/s "
            f"({tp['speedup']:.1f}×)"
        )
    console.print(line)
