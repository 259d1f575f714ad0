"""Scan forms from the request models: inputs by field type, bodies, errors by field."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from audit.scans import REQUESTS
from audit.web._forms import body_of, form_fields, validation_errors


def _fields(kind: str) -> dict[str, object]:
    return {f.name: f for f in form_fields(REQUESTS[kind])}


def test_inputs_follow_the_field_types() -> None:
    face = _fields("face")
    assert face["detector"].input == "select" and face["detector"].choices == ("hog", "cnn")
    assert face["target_fmr"].input == "number" and face["upsample"].step == "1"
    assert face["groups"].is_list and face["groups"].required
    cls = _fields("classification")
    assert cls["explain"].input == "checkbox" and cls["explain"].default == "true"
    assert cls["positive_outcome"].input == "select" and cls["positive_outcome"].required is False
    assert cls["threshold"].help == "positive when score >= threshold"  # not the CLI's X
    assert "kind" not in cls and "trust_pickle" not in cls  # refused over HTTP: no input


def test_a_form_is_the_body_a_client_would_send() -> None:
    fields = form_fields(REQUESTS["classification"])
    form = {
        "data": ["/d/set.csv"],
        "label": ["y"],
        "groups": ["race, sex,"],
        "score": ["s"],
        "explain": ["false", "true"],  # hidden false, then the ticked box
        "threshold": ["0.7"],
        "id": [""],
    }
    body = body_of("classification", fields, form)
    assert body == {
        "kind": "classification",
        "data": "/d/set.csv",
        "label": "y",
        "groups": ["race", "sex"],
        "score": "s",
        "explain": True,
        "threshold": "0.7",
    }
    request = REQUESTS["classification"].model_validate(body)
    assert request.threshold == 0.7  # type: ignore[attr-defined]
    unticked = body_of("classification", fields, {**form, "explain": ["false"]})
    assert unticked["explain"] is False


def test_errors_come_back_by_field_and_name_fields() -> None:
    model = REQUESTS["recommendation"]
    names = [f.name for f in form_fields(model)]
    body = {"kind": "recommendation", "users": "/d/u.csv", "user_groups": ["g"], "k": "x"}
    with pytest.raises(ValidationError) as exc:
        model.model_validate(body)
    errors = validation_errors(exc.value, names)
    assert set(errors.fields) == {"k"}
    with pytest.raises(ValidationError) as exc:
        model.model_validate({**body, "k": 5, "model": "popularity"})
    errors = validation_errors(exc.value, names)
    # filed next to the field it starts with, naming fields, not --flags
    assert errors.fields == {"model": ["model and interactions go together"]}
