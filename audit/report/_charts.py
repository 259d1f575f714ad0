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
#: Marker per verdict class (colour, shape, filled): told apart by shape as well as colour.
_GAP_STYLE: dict[str, tuple[str, str, bool]] = {
    "strong": ("#B3261E", "o", True),
    "likely": ("#D55E00", "D", True),
    "uncertain": ("#555555", "o", False),
    "within": ("#0072B2", "o", True),
    "insufficient": (_MUTED, "s", False),
}

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
    """Estimates with interval whiskers per group; ``facet``: one panel per series."""
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    groups: Sequence[str] = data["groups"]
    series = data["series"]
    muted = data.get("muted") or [False] * len(groups)
    facet = bool(data.get("facet")) and len(series) > 1
    n = len(series)
    axes = fig.subplots(1, n, sharey=True, squeeze=False)[0] if facet else [fig.add_subplot()]
    step = 0 if facet else 0.7 / max(n, 1)
    for k, s in enumerate(series):
        ax = axes[k] if facet else axes[0]
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
                ms=4.5,
                capsize=2,
                lw=1.1,
                label=None if faded else s["label"],
            )
        if facet:
            ax.set_title(s["label"])
    for ax in axes:
        ax.set_yticks(range(len(groups)), list(groups))
        ax.set_ylim(len(groups) - 0.5, -0.5)
        ax.xaxis.set_major_formatter(FuncFormatter(_fmt_fn(data.get("fmt", "num"))))
        ax.xaxis.set_major_locator(MaxNLocator(nbins=4 if facet else 6))
        if data.get("vline") is not None:
            ax.axvline(data["vline"], color="#555555", lw=0.8, ls="--")
        if data.get("fmt") == "rate":
            ax.set_xlim(left=0)
        ax.grid(axis="x", color="#e5e5e5", lw=0.6)
        ax.set_axisbelow(True)
    if facet:
        fig.supxlabel(data.get("xlabel", ""), fontsize=_base_size(fig))
    else:
        axes[0].set_xlabel(data.get("xlabel", ""))
        handles, labels = axes[0].get_legend_handles_labels()
        if handles:
            fig.legend(handles, labels, loc="outside upper center", ncol=min(n, _ncol(fig)))
    if any(muted):
        fig.text(0.01, 0.005, "hollow grey: insufficient evidence", fontsize=7, color="#666666")


def _ncol(fig: Any) -> int:
    """Legend columns that fit the figure's width (a half-width chart takes two)."""
    return 2 if fig.get_figwidth() < 5 else 3


def _base_size(fig: Any) -> float:
    """The figure's base font size (the rc value it was drawn with)."""
    import matplotlib

    return float(matplotlib.rcParams["font.size"])


def _ratios(fig: Any, data: dict[str, Any]) -> None:
    """Ratios to the reference group on a log scale against the band, one panel per metric."""
    from matplotlib.lines import Line2D
    from matplotlib.ticker import FuncFormatter, LogLocator

    labels: Sequence[str] = data["labels"]
    panels = data["panels"]
    lo_b, hi_b = data["band"]
    xs = []
    for p in panels:
        for e in p["values"]:
            for x in (_v(e), (e or {}).get("ci_low"), (e or {}).get("ci_high")):
                if isinstance(x, int | float) and x > 0 and math.isfinite(x):
                    xs.append(x)
    left = max(min([*xs, lo_b]) / 1.3, 0.05)
    right = min(max([*xs, hi_b]) * 1.3, 20.0)
    axes = fig.subplots(1, len(panels), sharey=True, squeeze=False)[0]
    seen: list[str] = []
    for ax, p in zip(axes, panels, strict=True):
        ax.set_xscale("log")
        ax.axvspan(lo_b, hi_b, color=_BAND, zorder=0)
        ax.axvline(1.0, color="#555555", lw=0.8, ls="--", zorder=1)
        for i, (e, verdict) in enumerate(zip(p["values"], p["verdicts"], strict=True)):
            x = _v(e)
            if math.isnan(x):
                continue
            colour, marker, filled = _GAP_STYLE.get(verdict or "", _GAP_STYLE["insufficient"])
            if verdict not in seen:
                seen.append(verdict)
            if x <= 0:  # a ratio of 0: drawn at the left edge, pointing off the scale
                ax.plot(left, i, marker="<", color=colour, ms=5, zorder=3, clip_on=False)
                continue
            lo, hi = _err(e)
            lo = min(lo, x - left) if lo else 0.0
            hi = min(hi, right - x) if hi else 0.0
            ax.errorbar(
                x,
                i,
                xerr=[[lo], [hi]],
                fmt=marker,
                color=colour,
                ms=4.5,
                capsize=2,
                lw=1.1,
                mfc=colour if filled else "white",
                zorder=3,
            )
        ax.set_xlim(left, right)
        ax.set_title(p["title"])
        decades = math.log10(right / left)
        ax.xaxis.set_major_locator(
            LogLocator(base=10, subs=(1.0, 2.0, 5.0) if decades < 1.5 else (1.0,))
        )
        ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _p: f"{x:g}×"))
        ax.xaxis.set_minor_formatter(FuncFormatter(lambda x, _p: ""))
        ax.grid(axis="x", color="#e5e5e5", lw=0.6)
    axes[0].set_yticks(range(len(labels)), list(labels))
    axes[0].set_ylim(len(labels) - 0.5, -0.5)
    fig.supxlabel("ratio to the reference group (log scale)", fontsize=_base_size(fig))
    labels_of = data.get("labels_of") or {}
    from matplotlib.patches import Patch

    handles: list[Any] = [Patch(color=_BAND, label=f"fairness band [{lo_b:g}, {hi_b:g}]")]
    for verdict in _GAP_STYLE:
        if verdict in seen:
            colour, marker, filled = _GAP_STYLE[verdict]
            handles.append(
                Line2D(
                    [],
                    [],
                    marker=marker,
                    ls="",
                    color=colour,
                    ms=5,
                    mfc=colour if filled else "white",
                    label=labels_of.get(verdict, verdict),
                )
            )
    fig.legend(handles=handles, loc="outside upper center", ncol=min(len(handles), _ncol(fig)))


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
    ax.legend(loc="best")


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
            color=(data.get("colors") or PALETTE)[k % len(data.get("colors") or PALETTE)],
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


#: Drawn widths (inches): a ``half`` chart sits beside another on an A4 page (182 mm of text
#: width), a ``full`` one spans it; the PDF shows them at this size, so text keeps its points.
WIDTHS = {"half": 3.55, "full": 6.9}
#: Font size (points) per layout.
FONT_SIZES = {"half": 7.5, "full": 8.5}


def _size(spec: dict[str, Any]) -> tuple[float, float]:
    d = spec["data"]
    width = WIDTHS.get(spec.get("layout") or "full", WIDTHS["full"])
    if spec["type"] == "dots":
        per = 0.2 if d.get("facet") else 0.2 + 0.06 * len(d["series"])
        return width, _height(len(d["groups"]), per, 1.25)
    if spec["type"] == "ratios":
        return width, _height(len(d["labels"]), 0.2, 1.3)
    if spec["type"] == "bars":
        per = 0.2 if d.get("stacked") else 0.14 + 0.05 * len(d["series"])
        return width, _height(len(d["categories"]), per, 1.0)
    if spec["type"] == "heatmap":
        return min(width, 6.0), max(2.6, min(7.0, 1.4 + 0.4 * len(d["rows"])))
    return (width, 2.5) if spec.get("layout") == "half" else (min(width, 4.8), 2.6)


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
    size = FONT_SIZES.get(spec.get("layout") or "full", FONT_SIZES["full"])
    rc: Any = {
        **_RC,
        "svg.hashsalt": spec["id"],
        "font.size": size,
        "axes.titlesize": size + 0.5,
        "legend.fontsize": size,
        "xtick.labelsize": size,
        "ytick.labelsize": size,
        "axes.labelsize": size,
    }
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
