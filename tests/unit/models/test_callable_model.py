from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from audit.exceptions import ModelError
from audit.models import CallableModel, ScoreModel, load_model, score_dataframe


def test_text_mode_scores_each_text(fake_models: str, posts: pd.DataFrame) -> None:
    model = CallableModel(f"{fake_models}:keyword_scores", text_column="text")

    scores = model.predict_scores(posts)

    assert isinstance(model, ScoreModel)
    assert scores.tolist() == [0.9, 0.1, 0.9, 0.1, 0.9, 0.1, 0.1, 0.1]
    assert model.identity == {"kind": "callable", "name": f"{fake_models}:keyword_scores"}


def test_records_mode_passes_plain_rows_and_takes_column_1(fake_models: str) -> None:
    frame = pd.DataFrame({"p": [0.2, np.nan, 0.7], "n": np.array([1, 2, 3], dtype=np.int64)})
    model = load_model(f"{fake_models}:record_scores")

    scores = model.predict_scores(frame)

    np.testing.assert_allclose(scores, [0.2, 0.5, 0.7])


def test_missing_text_column_is_named(fake_models: str, posts: pd.DataFrame) -> None:
    model = CallableModel(f"{fake_models}:keyword_scores", text_column="body")

    with pytest.raises(ModelError, match=r"'body'.*columns are text, language, p.*--text"):
        model.predict_scores(posts)


@pytest.mark.parametrize(
    ("function", "message"),
    [
        ("too_few", r"returned 7 scores for 8 rows"),
        ("with_nan", r"row 6: nan is missing or not finite"),
        ("logits", r"row 1: 3.2 is outside \[0, 1\].*predict_proba"),
        ("labels", r"row 1: 'toxic' is not a number"),
        ("number_strings", r"row 1: '0.5' is not a number"),
        ("broken", r"fake_platform_models:broken raised RuntimeError: model weights not loaded"),
    ],
)
def test_unusable_output_is_a_clear_model_error(
    fake_models: str, posts: pd.DataFrame, function: str, message: str
) -> None:
    model = CallableModel(f"{fake_models}:{function}", text_column="text")

    with pytest.raises(ModelError, match=message):
        score_dataframe(model, posts)


def test_bad_row_is_counted_over_the_whole_frame(fake_models: str, posts: pd.DataFrame) -> None:
    model = CallableModel(f"{fake_models}:with_nan", text_column="text")

    # "thanks!" is row 6 of the file, whichever batch it falls in
    for batch_size in (1, 3, 4, 100):
        with pytest.raises(ModelError, match=r"row 6\b"):
            score_dataframe(model, posts, batch_size=batch_size)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("no_such_platform_module:score", r"cannot import module 'no_such_platform_module'"),
        ("fake_platform_models:missing", r"has no 'missing'.*name after the colon"),
        ("fake_platform_models:NOT_A_FUNCTION", r"is a int, not a function"),
    ],
)
def test_unimportable_spec_is_refused_when_loading(
    fake_models: str, spec: str, message: str
) -> None:
    with pytest.raises(ModelError, match=message):
        load_model(spec)
