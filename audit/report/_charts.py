"""Drawing chart specifications (see :mod:`audit.report._tables`) as inline SVG with matplotlib.

Charts are drawn on a bare :class:`matplotlib.figure.Figure` (no pyplot state, safe in a server),
text stays text (``svg.fonttype = none``) so the SVG is small, searchable and checked by the
report's privacy tests like the rest of the page, and element ids are prefixed with the chart id
so several SVGs can share one HTML page. Colours are the Okabe-Ito palette, readable with the
common colour-vision deficiencies.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Callable, Sequence
from typing import Any

from markupsafe import escape

__all__ = ["PALETTE", "render_chart"]

#: Okabe & Ito (2008) colour-blind-safe palette.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442")
_MUTED = "#9a9a9a"
_BAND = "#d9f0e3"
_VERDICT_COLOUR = {"outside_band": "#D55E00", "within_band": "#0072B2"}

_RC: dict[str, Any] = {
    "svg.fonttype": "none",
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 10,
    "text.parse_math": False,
    "legend.frameon": False,
}


def _fmt_fn(fmt: str) -> Callable[[float, Any], str]:
    if fmt == "rate":
        return lambda x, _pos: f"{x:.0%}" if abs(x) >= 0.01 or x == 0 else f"{x:.1%}"
    if fmt == "int":
        return lambda x, _pos: f"{x:,.0f}"
    if fmt == "sci":
        return lambda x, _pos: f"{x:.0e}"
    return lambda x, _pos: f"{x:g}"


def _log_label(x: float, _pos: Any) -> str:
    """``1e-4`` style labels (mathtext is off, so matplotlib's own would show raw TeX)."""
    if x <= 0:
        return ""
    exp = math.log10(x)
    return f"1e{round(exp)}" if abs(exp - round(exp)) < 1e-9 else f"{x:g}"


def _v(e: Any) -> float:
    if isinstance(e, dict):
        e = e.get("value")
    return float(e) if isinstance(e, int | float) and e is not None else math.nan


def _err(e: Any) -> tuple[float, float]:
    """Whisker lengths below and above the value (0 when there is no interval)."""
    if not isinstance(e, dict):
        return 0.0, 0.0
    v, lo, hi = e.get("value"), e.get("ci_low"), e.get("ci_high")
    if v is None or lo is None or hi is None:
        return 0.0, 0.0
    return max(0.0, v - lo), max(0.0, hi - v)


def _height(n: int, per: float = 0.32, base: float = 1.3) -> float:
    return min(11.0, base + per * max(n, 1))


def _dots(fig: Any, data: dict[str, Any]) -> None:
    from matplotlib.ticker import FuncFormatter

    groups: Sequence[str] = data["groups"]
    series = data["series"]
    muted = data.get("muted") or [False] * len(groups)
    ax = fig.add_subplot(1, 1, 1)
    n = len(series)
    step = 0.7 / max(n, 1)
    for k, s in enumerate(series):
        colour = PALETTE[k % len(PALETTE)]
        for faded in (False, True):
            idx = [
                i
                for i, e in enumerate(s["values"])
                if bool(muted[i]) == faded and not math.isnan(_v(e))
            ]
            if not idx:
                continue
            errs = [_err(s["values"][i]) for i in idx]
            ax.errorbar(
                [_v(s["values"][i]) for i in idx],
                [i + (k - (n - 1) / 2) * step for i in idx],
                xerr=[[e[0] for e in errs], [e[1] for e in errs]],
                fmt="o",
                color=_MUTED if faded else colour,
                mfc="white" if faded else colour,
                ms=5,
                capsize=2.5,
                lw=1.2,
                label=None if faded else s["label"],
            )
    ax.set_yticks(range(len(groups)), list(groups))
    ax.set_ylim(len(groups) - 0.5, -0.5)
    ax.xaxis.set_major_formatter(FuncFormatter(_fmt_fn(data.get("fmt", "num"))))
    if data.get("vline") is not None:
        ax.axvline(data["vline"], color="#555555", lw=0.8, ls="--")
    if data.get("fmt") == "rate":
        ax.set_xlim(left=0)
    ax.set_xlabel(data.get("xlabel", ""))
    ax.grid(axis="x", color="#e5e5e5", lw=0.6)
    ax.set_axisbelow(True)
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        ax.legend(handles, labels, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=min(n, 3))
    if any(muted):
        fig.text(0.01, 0.005, "hollow grey: insufficient evidence", fontsize=7, color="#666666")


def _ratios(fig: Any, data: dict[str, Any]) -> None:
    from matplotlib.lines import Line2D
    from matplotlib.ticker import FuncFormatter, LogLocator

    labels: Sequence[str] = data["labels"]
    values = data["values"]
    lo_b, hi_b = data["band"]
    ax = fig.add_subplot(1, 1, 1)
    ax.set_xscale("log")
    xs = []
    for e in values:
        for x in (_v(e), (e or {}).get("ci_low"), (e or {}).get("ci_high")):
            if isinstance(x, int | float) and x is not None and x > 0 and math.isfinite(x):
                xs.append(x)
    left = max(min([*xs, lo_b]) / 1.3, 0.01)
    right = min(max([*xs, hi_b]) * 1.3, 100.0)
    ax.axvspan(lo_b, hi_b, color=_BAND, zorder=0, label=f"fairness band [{lo_b:g}, {hi_b:g}]")
    ax.axvline(1.0, color="#555555", lw=0.8, ls="--", zorder=1)
    for i, (e, verdict) in enumerate(zip(values, data["verdicts"], strict=True)):
        x = _v(e)
        if math.isnan(x) or x <= 0:
            continue
        lo, hi = _err(e)
        colour = _VERDICT_COLOUR.get(verdict or "", _MUTED)
        lo = min(lo, x - left) if lo else 0.0
        ax.errorbar(
            x,
            i,
            xerr=[[lo], [hi]],
            fmt="o",
            color=colour,
            ms=5,
            capsize=2.5,
            lw=1.2,
            mfc="white" if verdict == "insufficient_evidence" else colour,
            zorder=3,
        )
    ax.set_xlim(left, right)
    ax.set_yticks(range(len(labels)), list(labels))
    ax.set_ylim(len(labels) - 0.5, -0.5)
    decades = math.log10(right / left)
    ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0) if decades < 2 else (1.0,)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _p: f"{x:g}×"))
    ax.tick_params(axis="x", labelsize=8)
    ax.xaxis.set_minor_formatter(FuncFormatter(lambda x, _p: ""))
    ax.set_xlabel("ratio to the reference group (log scale)")
    ax.grid(axis="x", color="#e5e5e5", lw=0.6)
    handles, names = ax.get_legend_handles_labels()
    for verdict, name in (
        ("outside_band", "outside the band"),
        ("within_band", "within the band"),
        ("insufficient_evidence", "insufficient evidence"),
    ):
        if verdict in data["verdicts"]:
            colour = _VERDICT_COLOUR.get(verdict, _MUTED)
            handles.append(
                Line2D(
                    [],
                    [],
                    marker="o",
                    ls="",
                    color=colour,
                    ms=5,
                    mfc="white" if verdict == "insufficient_evidence" else colour,
                )
            )
            names.append(name)
    ax.legend(
        handles, names, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=min(len(names), 2)
    )


def _heatmap(fig: Any, data: dict[str, Any]) -> None:
    import numpy as np
    from matplotlib.colors import LogNorm

    rows, cols = data["rows"], data["columns"]
    m = np.array(
        [[x if isinstance(x, int | float) else np.nan for x in r] for r in data["matrix"]],
        dtype=float,
    )
    ax = fig.add_subplot(1, 1, 1)
    positive = m[np.isfinite(m) & (m > 0)]
    norm = None
    if not data.get("is_log10") and positive.size:
        norm = LogNorm(vmin=positive.min(), vmax=positive.max())
    im = ax.imshow(m, cmap="viridis", norm=norm, aspect="auto")
    ax.set_xticks(range(len(cols)), cols, rotation=40, ha="right")
    ax.set_yticks(range(len(rows)), rows)
    ax.spines[:].set_visible(False)
    if len(rows) <= 8 and len(cols) <= 8:
        for i in range(len(rows)):
            for j in range(len(cols)):
                if np.isfinite(m[i, j]):
                    txt = f"{m[i, j]:.1f}" if data.get("is_log10") else f"{m[i, j]:.0e}"
                    bright = im.norm(m[i, j]) > 0.6  # viridis turns light: dark text there
                    ax.text(
                        j,
                        i,
                        txt,
                        ha="center",
                        va="center",
                        fontsize=7,
                        color="#1d1d1f" if bright else "white",
                    )
    fig.colorbar(im, ax=ax, label=data.get("colorbar", ""))


def _lines(fig: Any, data: dict[str, Any]) -> None:
    from matplotlib.ticker import FuncFormatter

    ax = fig.add_subplot(1, 1, 1)
    drawn = 0
    for k, s in enumerate(data["series"]):
        pts = [
            (x, y)
            for x, y in zip(s["x"], s["y"], strict=False)
            if isinstance(x, int | float)
            and isinstance(y, int | float)
            and (not data.get("xlog") or x > 0)
            and (not data.get("ylog") or y > 0)
        ]
        if pts:
            ax.plot(
                *zip(*pts, strict=True), color=PALETTE[k % len(PALETTE)], lw=1.5, label=s["label"]
            )
            drawn += 1
    if not drawn:  # e.g. every rate is 0 on a log axis: say so rather than draw empty axes
        ax.text(
            0.5,
            0.5,
            "no points to draw (values missing, or 0 on a log scale)",
            ha="center",
            va="center",
            transform=ax.transAxes,
            color="#555555",
        )
        ax.set_axis_off()
        return
    if data.get("xlog"):
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(FuncFormatter(_log_label))
        ax.xaxis.set_minor_formatter(FuncFormatter(lambda x, _p: ""))
    if data.get("ylog"):
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(FuncFormatter(_log_label))
        ax.yaxis.set_minor_formatter(FuncFormatter(lambda x, _p: ""))
    elif data.get("yfmt"):
        ax.yaxis.set_major_formatter(FuncFormatter(_fmt_fn(data["yfmt"])))
    if data.get("vline") is not None:
        ax.axvline(data["vline"], color="#555555", lw=0.8, ls="--")
    ax.set_xlabel(data.get("xlabel", ""))
    ax.set_ylabel(data.get("ylabel", ""))
    ax.grid(color="#e5e5e5", lw=0.6)
    ax.legend(loc="best", fontsize=8)


def _bars(fig: Any, data: dict[str, Any]) -> None:
    from matplotlib.ticker import FuncFormatter

    cats: Sequence[str] = data["categories"]
    series = data["series"]
    ax = fig.add_subplot(1, 1, 1)
    stacked = bool(data.get("stacked"))
    n = len(series)
    height = 0.8 if stacked else 0.8 / max(n, 1)
    left = [0.0] * len(cats)
    for k, s in enumerate(series):
        vals = [v if isinstance(v, int | float) else 0.0 for v in s["values"]]
        ys = [i if stacked else i + (k - (n - 1) / 2) * height for i in range(len(cats))]
        ax.barh(
            ys,
            vals,
            height=height,
            left=left if stacked else None,
            color=PALETTE[k % len(PALETTE)],
            label=s["label"],
        )
        if stacked:
            left = [a + b for a, b in zip(left, vals, strict=True)]
    ax.set_yticks(range(len(cats)), list(cats))
    ax.set_ylim(len(cats) - 0.5, -0.5)
    ax.xaxis.set_major_formatter(FuncFormatter(_fmt_fn(data.get("fmt", "num"))))
    ax.set_xlabel(data.get("xlabel", ""))
    ax.grid(axis="x", color="#e5e5e5", lw=0.6)
    ax.set_axisbelow(True)
    if n > 1:
        ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=min(n, 4))


_DRAW: dict[str, Callable[[Any, dict[str, Any]], None]] = {
    "dots": _dots,
    "ratios": _ratios,
    "heatmap": _heatmap,
    "lines": _lines,
    "bars": _bars,
}


def _size(spec: dict[str, Any]) -> tuple[float, float]:
    d = spec["data"]
    labels = d.get("groups") or d.get("labels") or d.get("categories") or d.get("rows") or []
    # Long group names take room from the plot: widen the figure rather than squash it.
    width = min(8.5, 5.6 + 0.055 * max(0, max((len(str(x)) for x in labels), default=0) - 16))
    if spec["type"] == "dots":
        return width, _height(len(d["groups"]), 0.28 + 0.08 * len(d["series"]))
    if spec["type"] == "ratios":
        return width, _height(len(d["labels"]), 0.3)
    if spec["type"] == "bars":
        return width, _height(len(d["categories"]), 0.28 + 0.06 * len(d["series"]))
    if spec["type"] == "heatmap":
        return width, max(3.0, min(8.0, 1.5 + 0.45 * len(d["rows"])))
    return 5.6, 3.4


def _clean_svg(svg: str, alt: str, prefix: str) -> str:
    """Inline-ready SVG: no XML prolog or metadata, ids unique in the page, alt text as label."""
    svg = re.sub(r"<\?xml[^>]*\?>\s*", "", svg)
    svg = re.sub(r"<!DOCTYPE[^>]*>\s*", "", svg, flags=re.S)
    svg = re.sub(r"<metadata>.*?</metadata>\s*", "", svg, flags=re.S)
    # Several charts share one page: prefix every id and every reference to one.
    svg = re.sub(r'\bid="([^"]+)"', rf'id="{prefix}-\1"', svg)
    svg = re.sub(r'href="#([^"]+)"', rf'href="#{prefix}-\1"', svg)
    svg = re.sub(r"url\(#([^)]+)\)", rf"url(#{prefix}-\1)", svg)
    label = str(escape(alt))
    return svg.replace("<svg ", f'<svg role="img" aria-label="{label}" focusable="false" ', 1)


def render_chart(spec: dict[str, Any]) -> str:
    """Draw one chart specification; returns an ``<svg>`` element for inline use.

    The SVG carries ``role="img"`` and the spec's alt text as ``aria-label``; it references no
    external resource.
    """
    import matplotlib
    from matplotlib.figure import Figure

    draw = _DRAW.get(spec["type"])
    if draw is None:
        return ""
    rc: Any = {**_RC, "svg.hashsalt": spec["id"]}
    with matplotlib.rc_context(rc):
        fig = Figure(figsize=_size(spec), layout="constrained")
        draw(fig, spec["data"])
        buf = io.StringIO()
        fig.savefig(
            buf,
            format="svg",
            metadata={"Date": None, "Creator": None, "Format": None, "Type": None},
        )
    return _clean_svg(buf.getvalue(), spec["alt"], spec["id"])
