"""How ``socialaudit face`` prints its result (presentation only; the command is generated from
the kind's spec, :mod:`audit.cli.kinds`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["print_face_result"]


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
