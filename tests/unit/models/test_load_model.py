from __future__ import annotations

from pathlib import Path

import pytest

from audit.exceptions import ConfigError, ModelError
from audit.models import CallableModel, HttpModel, load_model


def test_url_gives_an_http_model_without_secrets_in_its_identity() -> None:
    model = load_model(
        "https://user:pw@models.example.com/v1/score?key=s3cret",
        text_column="text",
        http_options={"timeout": 2.0, "retries": 1},
    )

    assert isinstance(model, HttpModel)
    assert model.identity == {"kind": "http", "url": "https://models.example.com/v1/score"}
    assert (model.timeout, model.retries, model.text_column) == (2.0, 1, "text")


def test_module_function_gives_a_callable_model(fake_models: str) -> None:
    model = load_model(f"{fake_models}:keyword_scores", text_column="text")

    assert isinstance(model, CallableModel)


@pytest.mark.parametrize("name", ["missing.skops", "missing.pkl", "missing.joblib"])
def test_missing_file_is_named(tmp_path: Path, name: str) -> None:
    path = tmp_path / name

    with pytest.raises(ModelError, match=rf"{name} does not exist"):
        load_model(str(path), trust_pickle=True)


def test_unknown_spec_says_what_is_accepted() -> None:
    with pytest.raises(ModelError, match=r"model toxicity.onnx not found.*module:function"):
        load_model("toxicity.onnx")


def test_existing_file_of_unsupported_type(tmp_path: Path) -> None:
    path = tmp_path / "model.onnx"
    path.write_bytes(b"\0")

    with pytest.raises(ModelError, match=r"unsupported type.*\.skops"):
        load_model(str(path))


def test_unknown_http_option_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"unknown HTTP model option\(s\) timout"):
        load_model("http://127.0.0.1:8080/score", http_options={"timout": 1})


@pytest.mark.parametrize("url", ["http://", "http://host:port/score"])
def test_malformed_url_is_a_config_error(url: str) -> None:
    with pytest.raises(ConfigError, match=r"must be http\(s\)://host\[:port\]/path"):
        load_model(url)
