"""What a batch looks like to a model, and scoring a whole frame batch by batch."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from audit.exceptions import ConfigError, ModelError
from audit.models._protocol import BadScoreError, ScoreModel, check_scores, describe

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Progress", "records_of", "score_dataframe", "texts_of"]

#: ``progress(done_rows, total_rows)``, called as the model works through the rows.
Progress = Callable[[int, int], None]


def texts_of(batch: pd.DataFrame, column: str, who: str) -> list[str]:
    """The texts of ``column``, missing ones as ``""``."""
    if column not in batch.columns:
        raise ModelError(
            f"{who} scores the text column {column!r}, which the data does not "
            f"have; columns are {', '.join(map(str, batch.columns))}. "
            "Give --text the name of the column that holds the text."
        )
    return ["" if _missing(v) else str(v) for v in batch[column].tolist()]


def records_of(batch: pd.DataFrame) -> list[dict[str, Any]]:
    """Each row as a dict of plain, JSON-safe Python values; missing values are ``None``."""
    return [{str(k): _plain(v) for k, v in row.items()} for row in batch.to_dict("records")]


def _missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float | np.floating):
        return math.isnan(value)
    # pd.NA and pd.NaT, without importing pandas here
    return type(value).__name__ in ("NAType", "NaTType")


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if _missing(value):
        return None
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str | int | bool):
        return value
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [_plain(v) for v in value]
    if hasattr(value, "isoformat"):  # datetime, date, pd.Timestamp
        return value.isoformat()
    return str(value)


def score_dataframe(
    model: ScoreModel,
    df: pd.DataFrame,
    *,
    batch_size: int = 1024,
    progress: Progress | None = None,
) -> np.ndarray:
    """Run ``model`` over every row of ``df``, ``batch_size`` rows at a time.

    Parameters
    ----------
    model
        Any :class:`ScoreModel`.
    df
        The rows to score.
    batch_size
        Rows passed to one ``predict_scores`` call.
    progress
        Optional ``progress(done_rows, total_rows)``; called with 0 first, then after each
        batch, ending with ``total_rows``.

    Returns
    -------
    numpy.ndarray
        One float score in [0, 1] per row of ``df``, in order.

    Raises
    ------
    ModelError
        The model failed or returned unusable scores; the message names the model and the
        first bad row (1-based, as in the data file).

    Examples
    --------
    >>> import pandas as pd
    >>> from audit.models import ColumnScores, score_dataframe
    >>> score_dataframe(ColumnScores("p"), pd.DataFrame({"p": [0.2, 0.9]})).tolist()
    [0.2, 0.9]
    """
    if batch_size < 1:
        raise ConfigError(f"batch size must be at least 1, got {batch_size}")
    who = describe(model.identity)
    total = len(df)
    parts: list[np.ndarray] = []
    if progress is not None:
        progress(0, total)
    for start in range(0, total, batch_size):
        batch = df.iloc[start : start + batch_size]
        try:
            parts.append(check_scores(model.predict_scores(batch), len(batch), who))
        except BadScoreError as exc:
            raise exc.shifted(start) from None
        except ModelError:
            raise
        except Exception as exc:  # a user-supplied ScoreModel; never show a traceback
            raise ModelError(
                f"{who} failed on rows {start + 1}-{start + len(batch)}: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        if progress is not None:
            progress(start + len(batch), total)
    return np.concatenate(parts) if parts else np.empty(0, dtype=float)
