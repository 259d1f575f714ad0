from __future__ import annotations

import hashlib
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.svm import LinearSVC

from audit.exceptions import ModelError
from audit.models import SklearnModel, load_model, score_dataframe

TEXTS = [
    "you are an idiot",
    "I hate you",
    "stupid idiot",
    "shut up you fool",
    "what a moron",
    "I hate this idiot",
    "lovely weather today",
    "see you at the game",
    "thanks for the help",
    "great match last night",
    "happy birthday",
    "nice photo",
]
TOXIC = [1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0]


def _toxicity_pipeline(*steps: tuple[str, object]) -> Pipeline:
    pipe = Pipeline([*steps, ("tfidf", TfidfVectorizer()), ("clf", LogisticRegression())])
    return pipe.fit(TEXTS, TOXIC)


@pytest.fixture(scope="module")
def pipeline() -> Pipeline:
    return _toxicity_pipeline()


@pytest.fixture
def skops_file(tmp_path: Path, pipeline: Pipeline) -> Path:
    path = tmp_path / "toxicity.skops"
    sio.dump(pipeline, path)
    return path


@pytest.fixture
def custom_skops_file(tmp_path: Path, fake_models: str) -> Path:
    """A pipeline whose first step is a custom function: skops does not trust it."""
    import fake_platform_models

    pipe = _toxicity_pipeline(("lower", FunctionTransformer(fake_platform_models.lowercase)))
    path = tmp_path / "custom.skops"
    sio.dump(pipe, path)
    return path


def test_skops_pipeline_scores_like_predict_proba(
    skops_file: Path, pipeline: Pipeline, posts: pd.DataFrame
) -> None:
    model = load_model(str(skops_file), text_column="text")

    scores = score_dataframe(model, posts, batch_size=3)

    np.testing.assert_allclose(scores, pipeline.predict_proba(posts["text"].tolist())[:, 1])
    assert scores[0] > 0.5 > scores[1]  # "you are an idiot" vs "lovely weather"
    assert model.identity == {
        "kind": "skops",
        "path": str(skops_file),
        "sha256": hashlib.sha256(skops_file.read_bytes()).hexdigest(),
        "estimator": "Pipeline",
    }


def test_untrusted_type_is_refused_with_the_flag_to_trust_it(custom_skops_file: Path) -> None:
    with pytest.raises(ModelError) as info:
        load_model(str(custom_skops_file), text_column="text")

    message = str(info.value)
    assert "fake_platform_models.lowercase" in message
    assert "--trust-type fake_platform_models.lowercase" in message


def test_untrusted_type_loads_when_trusted(custom_skops_file: Path, posts: pd.DataFrame) -> None:
    model = SklearnModel.from_skops(
        custom_skops_file, text_column="text", trusted=["fake_platform_models.lowercase"]
    )

    scores = model.predict_scores(posts)

    assert scores.shape == (len(posts),)
    assert ((scores >= 0) & (scores <= 1)).all()


def test_not_a_skops_file(tmp_path: Path) -> None:
    path = tmp_path / "model.skops"
    path.write_text("not a zip")

    with pytest.raises(ModelError, match=r"model.skops is not a readable .skops file"):
        load_model(str(path))


@pytest.mark.parametrize("suffix", [".pkl", ".pickle", ".joblib"])
def test_pickle_is_refused_without_trust(tmp_path: Path, pipeline: Pipeline, suffix: str) -> None:
    path = tmp_path / f"toxicity{suffix}"
    joblib.dump(pipeline, path)

    with pytest.raises(ModelError, match=r"runs arbitrary code.*--trust-pickle"):
        load_model(str(path), text_column="text")


def test_pickle_loads_with_trust(tmp_path: Path, pipeline: Pipeline, posts: pd.DataFrame) -> None:
    path = tmp_path / "toxicity.joblib"
    joblib.dump(pipeline, path)

    model = load_model(str(path), text_column="text", trust_pickle=True)

    np.testing.assert_allclose(
        model.predict_scores(posts), pipeline.predict_proba(posts["text"].tolist())[:, 1]
    )
    assert model.identity["kind"] == "pickle"


def test_estimator_without_predict_proba_uses_its_0_1_predictions(posts: pd.DataFrame) -> None:
    svm = Pipeline([("tfidf", TfidfVectorizer()), ("clf", LinearSVC())]).fit(TEXTS, TOXIC)
    model = SklearnModel(svm, identity={"kind": "test", "name": "svm"}, text_column="text")

    scores = model.predict_scores(posts)

    assert set(scores.tolist()) <= {0.0, 1.0}
    assert scores[0] == 1.0


def test_string_labels_without_predict_proba_are_refused(posts: pd.DataFrame) -> None:
    labels = ["toxic" if y else "ok" for y in TOXIC]
    svm = Pipeline([("tfidf", TfidfVectorizer()), ("clf", LinearSVC())]).fit(TEXTS, labels)
    model = SklearnModel(svm, identity={"kind": "test", "name": "svm"}, text_column="text")

    with pytest.raises(ModelError, match=r"model svm has no predict_proba.*'toxic'"):
        model.predict_scores(posts)


def test_text_model_without_text_column_says_to_pass_text(
    pipeline: Pipeline, posts: pd.DataFrame
) -> None:
    model = SklearnModel(pipeline, identity={"kind": "test", "name": "toxicity"})

    # TfidfVectorizer reads a DataFrame's column names as three documents
    with pytest.raises(ModelError, match=r"model toxicity returned 3 scores for 8 rows.*--text"):
        model.predict_scores(posts)
