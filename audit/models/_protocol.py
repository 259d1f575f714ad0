"""The one contract every model adapter meets, and the check of what it returns."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

from audit.exceptions import ModelError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["ScoreModel", "check_scores", "describe"]

#: What to do when a model's scores are not probabilities; shared by every message.
SCORE_HINT = (
    "A model must return one probability of the positive class per row, in row order, "
    "between 0 and 1 (e.g. predict_proba(X)[:, 1], not logits or labels)."
)


@runtime_checkable
class ScoreModel(Protocol):
    """The platform's model, as every audit sees it.

    Any object with these two members is a model: the adapters in :mod:`audit.models`, or your
    own class.

    Attributes
    ----------
    identity
        What the model is, recorded in the result's provenance, e.g.
        ``{"kind": "skops", "path": "model.skops", "sha256": "..."}``.
    """

    @property
    def identity(self) -> dict[str, str]: ...

    def predict_scores(self, batch: pd.DataFrame) -> np.ndarray:
        """Score a batch of rows.

        Parameters
        ----------
        batch
            Rows of the test set, every column included.

        Returns
        -------
        numpy.ndarray
            Float scores in [0, 1], one per row of ``batch`` and in its order: the probability
            of the positive class.
        """
        ...


def describe(identity: dict[str, str]) -> str:
    """Name a model in a message, e.g. ``model pkg.mod:func`` or ``model at http://...``."""
    kind = identity.get("kind")
    if kind == "column":
        return f"scores column {identity.get('column')!r}"
    if kind == "http":
        return f"model at {identity.get('url')}"
    name = identity.get("name") or identity.get("path")
    if name:
        return f"model {name}"
    return "model " + ", ".join(f"{k}={v}" for k, v in identity.items())


class BadScoreError(ModelError):
    """A score that is not a probability, at ``index`` (0-based) of the rows just scored.

    Callers that scored a slice of a larger frame re-raise it with :meth:`shifted` so the user
    reads the row number of their file.
    """

    def __init__(self, who: str, index: int, problem: str) -> None:
        self.who, self.index, self.problem = who, index, problem
        super().__init__(
            f"{who} returned an unusable score for row {index + 1}: {problem}. {SCORE_HINT}"
        )

    def shifted(self, offset: int) -> BadScoreError:
        """The same error for a slice that starts ``offset`` rows further down."""
        return BadScoreError(self.who, self.index + offset, self.problem)


def check_scores(raw: Any, n_rows: int, who: str) -> np.ndarray:
    """Turn what a model returned into a float array of ``n_rows`` probabilities.

    A 2-D result with two columns is read as ``predict_proba`` output (column 1 is the
    positive class).

    Raises
    ------
    ModelError
        Wrong shape or length; :class:`BadScoreError` for the first non-numeric, missing,
        infinite or out-of-range score.
    """
    try:
        arr = np.asarray(raw)
    except Exception as exc:  # ragged lists and the like
        raise ModelError(
            f"{who} returned something that is not an array of scores: {exc}. {SCORE_HINT}"
        ) from None
    if arr.ndim == 2 and arr.shape[1] in (1, 2):
        arr = arr[:, -1]
    if arr.ndim != 1:
        raise ModelError(
            f"{who} returned scores of shape {arr.shape}; expected one score per "
            f"row, shape ({n_rows},). {SCORE_HINT}"
        )
    if len(arr) != n_rows:
        raise ModelError(f"{who} returned {len(arr)} scores for {n_rows} rows. {SCORE_HINT}")
    if arr.dtype.kind in "biuf":
        scores = arr.astype(float)
    else:  # strings or objects: only real numbers (and None, as missing) are scores
        scores = np.array([_number(v, i, who) for i, v in enumerate(arr.tolist())], dtype=float)
    bad = np.flatnonzero(~np.isfinite(scores) | (scores < 0) | (scores > 1))
    if bad.size:
        i = int(bad[0])
        value = arr[i].item() if isinstance(arr[i], np.generic) else arr[i]
        problem = (
            f"{value!r} is missing or not finite"
            if not np.isfinite(scores[i])
            else f"{scores[i]:g} is outside [0, 1]"
        )
        raise BadScoreError(who, i, problem)
    return scores


def _number(value: Any, index: int, who: str) -> float:
    if value is None:
        return math.nan
    if isinstance(value, bool | int | float | np.bool_ | np.integer | np.floating):
        return float(value)
    raise BadScoreError(who, index, f"{value!r} is not a number")
