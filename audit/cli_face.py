"""The ``socialaudit face`` subcommand: flags, progress bars, the printed table.

Thin, like :mod:`audit.cli`: parse, call :mod:`audit.face`, print, write the result. Registered
by :func:`register`, which :mod:`audit.cli` calls with its subparsers.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

from audit.cli_args import add_interval_flags
from audit.cli_args import count as _count
from audit.cli_args import csv_list as _csv
from audit.cli_args import finite as _finite
from audit.cli_args import open_unit as _open_unit
from audit.cli_args import parse_reference as _reference
from audit.cli_args import positive_int as _positive_int

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["default_cache_dir", "print_face_result", "register"]

Handler = Callable[[argparse.Namespace, "Console"], int]


def default_cache_dir() -> Path:
    """``$SOCIALAUDIT_CACHE/face-embeddings``, else ``$XDG_CACHE_HOME`` or ``~/.cache``."""
    base = os.environ.get("SOCIALAUDIT_CACHE")
    if base:
        return Path(base) / "face-embeddings"
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "socialaudit" / "face-embeddings"


def _downscale(value: str) -> float:
    x = _finite(value)
    if not 0.0 < x <= 1.0:
        raise argparse.ArgumentTypeError(f"must lie in (0, 1], got {value}")
    return x


def _add_flags(p: argparse.ArgumentParser) -> None:
    data = p.add_argument_group("images")
    data.add_argument(
        "--manifest",
        required=True,
        metavar="FILE",
        help="one row per image: .csv, .tsv, .parquet or .jsonl",
    )
    data.add_argument(
        "--subject", default="subject_id", metavar="COL", help="subject id column (subject_id)"
    )
    data.add_argument("--image", default="path", metavar="COL", help="image path column (path)")
    data.add_argument(
        "--images-root",
        metavar="DIR",
        help="folder relative image paths start from (default: the manifest's folder)",
    )
    data.add_argument(
        "--groups",
        required=True,
        type=_csv,
        metavar="COL[,COL...]",
        help="demographic columns of the subject; several give their intersection too",
    )

    model = p.add_argument_group("the model (default: built-in face_recognition / dlib; or one of)")
    src = model.add_mutually_exclusive_group()
    src.add_argument(
        "--embeddings",
        metavar="FILE",
        help="the platform's templates: .npy (row i = manifest row i) or .parquet; an "
        "all-NaN row means no template",
    )
    src.add_argument(
        "--pairs",
        metavar="FILE",
        help="the platform's scores for listed pairs: columns image_a, image_b, score",
    )
    model.add_argument(
        "--score-type",
        choices=("similarity", "distance"),
        help="with --pairs: is a higher score more alike (similarity, the default) or less?",
    )
    model.add_argument(
        "--pair-columns",
        type=_csv,
        metavar="A,B,SCORE",
        help="with --pairs: the two image columns and the score column",
    )

    builtin = p.add_argument_group("built-in model")
    builtin.add_argument(
        "--detector", choices=("hog", "cnn"), help="face detector: hog (default) or cnn (slow)"
    )
    builtin.add_argument(
        "--upsample", type=_count, metavar="N", help="upsample before detection (1)"
    )
    builtin.add_argument(
        "--downscale",
        type=_downscale,
        metavar="F",
        help="shrink images by F before detection; 0.5 is ~4x faster (1.0)",
    )
    builtin.add_argument(
        "--jitters", type=_positive_int, metavar="N", help="re-samplings per encoding (1)"
    )
    builtin.add_argument(
        "--multiple-faces",
        choices=("skip", "largest"),
        help="an image with several faces: skip it (default) or use its largest face",
    )
    builtin.add_argument(
        "--workers",
        type=_positive_int,
        metavar="N",
        help=f"encoding processes (default {min(4, os.cpu_count() or 1)})",
    )
    builtin.add_argument(
        "--cache-dir",
        metavar="DIR",
        help=f"embedding cache, keyed by image content (default {default_cache_dir()})",
    )
    builtin.add_argument("--no-cache", action="store_true", help="do not read or write the cache")

    thr = p.add_argument_group("threshold (one of)")
    one = thr.add_mutually_exclusive_group()
    one.add_argument(
        "--target-fmr",
        type=_open_unit,
        metavar="X",
        help="calibrate one threshold on all impostor pairs to this FMR (default 1e-4)",
    )
    one.add_argument(
        "--tolerance",
        type=_finite,
        metavar="X",
        help="fixed threshold: match when distance <= X (similarity >= X), e.g. 0.6",
    )

    stats = p.add_argument_group("statistics")
    add_interval_flags(stats, largest="most subjects", resamples="subjects")
    stats.add_argument(
        "--min-genuine-pairs",
        type=_count,
        default=30,
        metavar="N",
        help="fewer genuine pairs in a group -> insufficient_evidence (30)",
    )
    stats.add_argument(
        "--min-impostor-pairs",
        type=_count,
        metavar="N",
        help="fewer impostor pairs -> insufficient_evidence (default: 3 / operating FMR)",
    )
    stats.add_argument(
        "--min-group-size",
        type=_positive_int,
        default=10,
        metavar="N",
        help="groups with fewer subjects are suppressed from the output (10)",
    )
    stats.add_argument(
        "--block-size",
        type=_positive_int,
        default=512,
        metavar="N",
        help="templates per scoring block; memory ~ 60 x N^2 bytes per CPU (512)",
    )
    p.add_argument("--out", metavar="FILE", help="result JSON (default out/face.json)")
    p.add_argument("--quiet", action="store_true", help="print only where the result went")


def register(sub: argparse._SubParsersAction) -> dict[str, Handler]:  # type: ignore[type-arg]
    """Add the ``face`` subcommand to ``socialaudit``'s subparsers; returns its handler."""
    p = sub.add_parser(
        "face",
        help="face recognition: detection failures and FMR/FNMR per demographic group",
        description="Audit face verification the way NIST FRVT Part 3 (NIST IR 8280) does: "
        "one threshold for everyone, then per demographic group the false-match rate "
        "(impostor pairs within the group) and false non-match rate (its genuine pairs), "
        "with subject-bootstrap intervals, the max/min FMR ratio, the cross-group FMR "
        "matrix, DET curves, and failure-to-detect rates. Bad images are reported, "
        "never fatal.",
    )
    _add_flags(p)
    return {"face": run_face}


class _Bars:
    """Rich progress bars on a terminal; nothing otherwise."""

    def __init__(self, console: Console, quiet: bool) -> None:
        self.bar: Any = None
        if not quiet and console.is_terminal:
            from rich.progress import Progress

            self.bar = Progress(console=console, transient=True)

    def context(self) -> AbstractContextManager[Any]:
        return self.bar if self.bar is not None else nullcontext()

    def task(self, label: str) -> Callable[[int, int], None] | None:
        if self.bar is None:
            return None
        task = self.bar.add_task(label, total=None)

        def update(done: int, total: int) -> None:
            self.bar.update(task, completed=done, total=total)

        return update

    def staged(self) -> Callable[[str, int, int], None] | None:
        """``(stage, done, total)`` -> the stage's bar, added when the stage first reports."""
        if self.bar is None:
            return None
        tasks: dict[str, Callable[[int, int], None] | None] = {}

        def update(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = self.task(stage)
            report = tasks[stage]
            if report is not None:
                report(done, total)

        return update


def run_face(args: argparse.Namespace, console: Console) -> int:
    """Handler of ``socialaudit face``."""
    from audit.results import write_result
    from audit.runner import run_face as audit_face

    bars = _Bars(console, args.quiet)
    with bars.context():
        doc = audit_face(
            manifest=args.manifest,
            groups=args.groups,
            subject=args.subject,
            image=args.image,
            images_root=args.images_root,
            embeddings=args.embeddings,
            pairs=args.pairs,
            score_type=args.score_type,
            pair_columns=args.pair_columns,
            detector=args.detector,
            upsample=args.upsample,
            downscale=args.downscale,
            jitters=args.jitters,
            multiple_faces=args.multiple_faces,
            workers=args.workers,
            cache_dir=None if args.no_cache else (args.cache_dir or default_cache_dir()),
            target_fmr=args.target_fmr,
            tolerance=args.tolerance,
            reference=_reference(args.reference),
            resamples=args.resamples,
            ci_level=args.ci_level,
            seed=args.seed,
            min_genuine_pairs=args.min_genuine_pairs,
            min_impostor_pairs=args.min_impostor_pairs,
            min_group_size=args.min_group_size,
            block_size=args.block_size,
            progress=bars.staged(),
        )
    out = write_result(doc, args.out or Path("out") / "face.json")
    if not args.quiet:
        print_face_result(doc, console)
    console.print(f"result written to [bold]{out}[/bold]")
    return 0


# --------------------------------------------------------------------------- presentation


def _rate(m: dict[str, Any] | None) -> str:
    if not m or m.get("value") is None:
        return "—"

    def f(x: float) -> str:
        return "0" if x == 0 else (f"{x:.2e}" if x < 1e-2 else f"{x:.3f}")

    text = f(m["value"])
    if m.get("ci_low") is not None and m.get("ci_high") is not None:
        text += f" ({f(m['ci_low'])}–{f(m['ci_high'])})"
    return text


def _name(x: Any) -> str:
    return " & ".join(x) if isinstance(x, list) else str(x)


def print_face_result(doc: dict[str, Any], console: Console) -> None:
    """Print the per-group table, the FMR ratios, the threshold and the bad images."""
    from rich.table import Table

    face, settings = doc["face"], doc["settings"]
    thr = face["threshold"]
    how = (
        f"calibrated to FMR {thr['target_fmr']:g} on {thr['impostor_pairs']:,} impostor pairs"
        if thr["mode"] == "target_fmr"
        else "fixed"
    )
    console.print(
        f"[bold]face audit[/bold] — {thr['rule']} ({how}); "
        f"{settings['ci']['level']:.0%} subject-bootstrap intervals; "
        f"{doc['overall']['n']} images of {doc['overall']['subjects']} subjects"
    )
    for cols in settings["slices"]:
        key = cols[0] if len(cols) == 1 else cols
        rows = [g for g in doc["groups"] if g["attribute"] == key]
        if not rows:
            continue
        t = Table(title=_name(key), title_justify="left")
        for c in ("group", "subjects", "genuine", "impostor", "FMR", "FNMR", "FTD", "verdict"):
            t.add_column(c, no_wrap=True, justify="right" if c in ("subjects",) else "left")
        for g in rows:
            v = g["verdicts"]
            verdict = (
                "insufficient evidence"
                if v["evidence"] != "sufficient"
                else f"FMR {v['fmr'].replace('_', ' ')}; FNMR {v['fnmr'].replace('_', ' ')}"
            )
            m = g["metrics"]
            t.add_row(
                _name(g["group"]),
                str(g["subjects"]),
                f"{g['positives']:,}",
                f"{g['negatives']:,}",
                _rate(m["fmr"]),
                _rate(m["fnmr"]),
                _rate(m["ftd"]),
                verdict,
            )
        console.print(t)
        for s in doc["summary"]:
            if s["attribute"] == key and s["metric"] in ("fmr_max_min_ratio", "fnmr_max_min_ratio"):
                value = "undefined" if s["value"] is None else _rate(s)
                if s.get("note"):
                    value += f" ({s['note']})"
                console.print(
                    f"  {s['metric'].replace('_', ' ')}: {value}"
                    f" over {len(s['groups_included'])} groups with enough evidence"
                )
    if doc["suppressed_groups"]:
        names = ", ".join(
            f"{_name(s['attribute'])}={_name(s['group'])}" for s in doc["suppressed_groups"]
        )
        console.print(f"suppressed (fewer than {settings['min_group_size']} subjects): {names}")
    if face["bad_images_total"] or face["detection_failures_total"]:
        counts = ", ".join(f"{k} {v}" for k, v in face["counts"]["status"].items() if k != "ok")
        console.print(
            f"images without a template: {counts} (listed in the result under "
            "face.bad_images and face.detection_failures)"
        )
    if face["counts"]["subjects_with_one_template"]:
        console.print(
            f"{face['counts']['subjects_with_one_template']} subjects have one usable image: "
            "impostor comparisons only"
        )
    if face.get("bad_pairs_total"):
        console.print(f"{face['bad_pairs_total']} listed pairs had no score and were left out")
