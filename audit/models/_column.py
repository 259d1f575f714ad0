"""Scores the platform already computed, read from a column of the test set."""

from __future__ import annotations

from typing import TYPE_CHECKING

from audit.exceptions import ModelError
from audit.models._protocol import check_scores, describe

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

__all__ = ["ColumnScores"]


class ColumnScores:
    """Use the scores in ``column`` instead of running a model.

    Parameters
    ----------
    column
        Name of the column that holds probabilities of the positive class.

    Examples
    --------
    >>> import pandas as pd
    >>> ColumnScores("score").predict_scores(pd.DataFrame({"score": [0.1, 0.8]})).tolist()
    [0.1, 0.8]
    """

    def __init__(self, column: str) -> None:
        self.column = column

    @property
    def identity(self) -> dict[str, str]:
        return {"kind": "column", "column": self.column}

    def predict_scores(self, batch: pd.DataFrame) -> np.ndarray:
        who = describe(self.identity)
        if self.column not in batch.columns:
            raise ModelError(
                f"no {who} in the data; columns are {', '.join(map(str, batch.columns))}"
            )
        return check_scores(batch[self.column].to_numpy(), len(batch), who)

    def __repr__(self) -> str:
        return f"ColumnScores({self.column!r})"
