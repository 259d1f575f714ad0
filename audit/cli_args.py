"""Argument types and flags shared by every ``socialaudit`` subcommand (CLI layer only)."""

from __future__ import annotations

import argparse
import math
from typing import Any

from audit.exceptions import ConfigError

__all__ = [
    "add_interval_flags",
    "count",
    "csv_list",
    "finite",
    "open_unit",
    "parse_reference",
    "positive_int",
    "unit_float",
]


def csv_list(value: str) -> list[str]:
    """``a, b,c`` -> ``["a", "b", "c"]``."""
    return [v.strip() for v in value.split(",") if v.strip()]


def _number(value: str, kind: type) -> Any:
    try:
        return kind(value)
    except ValueError:
        what = "a whole number" if kind is int else "a number"
        raise argparse.ArgumentTypeError(f"not {what}: {value!r}") from None


def positive_int(value: str) -> int:
    """A whole number of at least 1."""
    x = _number(value, int)
    if x < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return int(x)


def count(value: str) -> int:
    """A whole number of at least 0."""
    x = _number(value, int)
    if x < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return int(x)


def finite(value: str) -> float:
    """A finite number."""
    x = _number(value, float)
    if not math.isfinite(x):
        raise argparse.ArgumentTypeError(f"must be finite, got {value}")
    return float(x)


def unit_float(value: str) -> float:
    """A number in ``[0, 1]`` (thresholds, shares)."""
    x = finite(value)
    if not 0.0 <= x <= 1.0:
        raise argparse.ArgumentTypeError(f"must lie in [0, 1], got {value}")
    return x


def open_unit(value: str) -> float:
    """A number strictly between 0 and 1 (confidence levels)."""
    x = finite(value)
    if not 0.0 < x < 1.0:
        raise argparse.ArgumentTypeError(f"must lie strictly between 0 and 1, got {value}")
    return x


def parse_reference(value: str) -> Any:
    """``largest``, ``best`` or ``ATTR=VALUE[,ATTR=VALUE]`` -> the engine's reference setting."""
    if value in ("largest", "best"):
        return value
    pairs = {}
    for item in csv_list(value):
        attr, sep, group = item.partition("=")
        if not sep or not attr or not group:
            raise ConfigError(f"--reference must be largest, best or ATTR=VALUE, got {value!r}")
        pairs[attr] = group
    return pairs


def add_interval_flags(
    stats: argparse._ArgumentGroup, *, largest: str = "largest", resamples: str = "rows"
) -> None:
    """``--reference``, ``--resamples``, ``--ci-level`` and ``--seed``, the same everywhere.

    Parameters
    ----------
    stats
        The argument group to add them to.
    largest
        What "largest" means for this audit (e.g. "most subjects"), for the help text.
    resamples
        What the bootstrap resamples (rows, users, subjects), for the help text.
    """
    stats.add_argument(
        "--reference",
        default="largest",
        metavar="REF",
        help=f"reference group: largest ({largest}, default), best, or ATTR=VALUE[,...]",
    )
    stats.add_argument(
        "--resamples",
        type=count,
        default=1000,
        metavar="N",
        help=f"bootstrap resamples of {resamples} for intervals (default 1000; 0 disables)",
    )
    stats.add_argument("--ci-level", type=open_unit, default=0.95, metavar="L")
    stats.add_argument("--seed", type=int, default=0)
