from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from audit.exceptions import ConfigError, ModelError
from audit.models import ColumnScores, ScoreModel, score_dataframe


class CountingModel:
    """A user's own model class: scores the ``p`` column and counts its calls."""

    identity = {"kind": "custom", "name": "counting"}  # noqa: RUF012

    def __init__(self) -> None:
        self.batch_sizes: list[int] = []

    def predict_scores(self, batch: pd.DataFrame) -> np.ndarray:
        self.batch_sizes.append(len(batch))
        return batch["p"].to_numpy()


class ExplodingModel:
    identity = {"kind": "custom", "name": "exploding"}  # noqa: RUF012

    def predict_scores(self, batch: pd.DataFrame) -> np.ndarray:
        raise KeyError("feature_7")


def test_runs_in_batches_and_reports_progress(posts: pd.DataFrame) -> None:
    model = CountingModel()
    seen: list[tuple[int, int]] = []

    scores = score_dataframe(model, posts, batch_size=3, progress=lambda d, t: seen.append((d, t)))

    assert isinstance(model, ScoreModel)
    np.testing.assert_allclose(scores, posts["p"])
    assert model.batch_sizes == [3, 3, 2]
    assert seen == [(0, 8), (3, 8), (6, 8), (8, 8)]


def test_empty_frame_gives_no_scores() -> None:
    seen: list[tuple[int, int]] = []

    scores = score_dataframe(
        CountingModel(), pd.DataFrame({"p": []}), progress=lambda *a: seen.append(a)
    )

    assert scores.shape == (0,) and scores.dtype == float
    assert seen == [(0, 0)]


def test_out_of_range_score_names_model_and_file_row(posts: pd.DataFrame) -> None:
    posts.loc[4, "p"] = 7.0

    with pytest.raises(ModelError, match=r"model counting .* row 5: 7 is outside \[0, 1\]"):
        score_dataframe(CountingModel(), posts, batch_size=3)


def test_failure_of_a_custom_model_is_a_model_error(posts: pd.DataFrame) -> None:
    with pytest.raises(ModelError, match=r"model exploding failed on rows 1-8: KeyError"):
        score_dataframe(ExplodingModel(), posts)


def test_column_scores(posts: pd.DataFrame) -> None:
    np.testing.assert_allclose(score_dataframe(ColumnScores("p"), posts), posts["p"])
    with pytest.raises(ModelError, match=r"no scores column 'score' in the data"):
        score_dataframe(ColumnScores("score"), posts)


def test_batch_size_must_be_positive(posts: pd.DataFrame) -> None:
    with pytest.raises(ConfigError, match="batch size must be at least 1"):
        score_dataframe(CountingModel(), posts, batch_size=0)
