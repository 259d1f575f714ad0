"""Stand-ins for a platform's model functions, imported by spec in the callable tests."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

#: Words the toy moderation model treats as abusive.
ABUSIVE = ("idiot", "hate", "stupid")


def lowercase(texts: Any) -> list[str]:
    """A preprocessing step skops does not trust by default (used in a FunctionTransformer)."""
    return [str(t).lower() for t in texts]


def keyword_scores(texts: list[str]) -> list[float]:
    """Text mode: 0.9 when a text has an abusive word, else 0.1."""
    assert all(isinstance(t, str) for t in texts)
    return [0.9 if any(w in t.lower() for w in ABUSIVE) else 0.1 for t in texts]


def record_scores(records: list[dict[str, Any]]) -> np.ndarray:
    """Records mode: a 2-D predict_proba-style array built from the ``p`` field."""
    p = np.array([0.5 if r["p"] is None else r["p"] for r in records], dtype=float)
    return np.column_stack([1 - p, p])


def too_few(texts: list[str]) -> list[float]:
    return [0.5] * (len(texts) - 1)


def with_nan(texts: list[str]) -> list[float]:
    """NaN for the text "thanks!" (row 6 of the ``posts`` fixture)."""
    return [math.nan if t == "thanks!" else 0.5 for t in texts]


def logits(texts: list[str]) -> list[float]:
    return [3.2 for _ in texts]


def labels(texts: list[str]) -> list[str]:
    return ["toxic" for _ in texts]


def number_strings(texts: list[str]) -> list[str]:
    return ["0.5" for _ in texts]


def broken(texts: list[str]) -> list[float]:
    raise RuntimeError("model weights not loaded")


NOT_A_FUNCTION = 42
