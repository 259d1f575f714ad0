"""Span scoring by hand-checked examples, and the pii-eval result document."""

from __future__ import annotations

import pytest
from jsonschema import Draft202012Validator

from audit.pii._corpus import LabelledPost, Span
from audit.pii._engine import Finding
from audit.pii._eval import pii_eval, score_spans
from audit.results import load_schema
from tests.unit.pii._support import FIXTURE_RAW


def test_exact_and_overlap_scores():
    posts = [
        LabelledPost("Jane Doe lives in Paris", (Span("PERSON", 0, 8), Span("LOCATION", 18, 23))),
        LabelledPost("ask Ann", (Span("PERSON", 4, 7),)),
    ]
    preds = [
        [Finding("PERSON", 0, 4, 0.85), Finding("LOCATION", 18, 23, 0.85)],  # partial name
        [Finding("PERSON", 0, 3, 0.85)],  # wrong place
    ]
    s = score_spans(posts, preds, ["PERSON", "LOCATION", "EMAIL_ADDRESS"])
    person = s["PERSON"].as_dict()
    assert person["exact"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "matched": 0}
    assert person["overlap"]["precision"] == 0.5 and person["overlap"]["recall"] == 0.5
    assert s["LOCATION"].as_dict()["exact"]["f1"] == 1.0
    email = s["EMAIL_ADDRESS"].as_dict()
    assert email["exact"]["precision"] is None and email["gold"] == 0


def test_missed_type_has_zero_f1_not_undefined():
    posts = [LabelledPost("x a@b.co", (Span("EMAIL_ADDRESS", 2, 8),))]
    d = score_spans(posts, [[]], ["EMAIL_ADDRESS"])["EMAIL_ADDRESS"].as_dict()
    assert d["exact"]["recall"] == 0.0 and d["exact"]["f1"] == 0.0


@pytest.mark.slow
def test_pii_eval_document(pii_config, detector):
    doc = pii_eval(
        config=pii_config,
        raw_dir=FIXTURE_RAW,
        n=150,
        seed=1,
        resamples=50,
        min_group_size=1,
        min_positives=1,
    )
    Draft202012Validator(load_schema()).validate(doc)
    assert doc["kind"] == "pii"
    ours = doc["pii_eval"]["ours"]
    assert ours["EMAIL_ADDRESS"]["exact"]["f1"] == 1.0
    assert ours["CREDIT_CARD"]["exact"]["recall"] == 1.0
    metrics = {s["metric"] for s in doc["summary"]}
    assert {"person_recall_overlap", "credit_card_f1_exact", "iban_code_precision_exact"} <= metrics
    attrs = {g["attribute"] for g in doc["groups"]}
    assert attrs == {"name_set", "gender"}
    tpr = [g["metrics"]["tpr"]["value"] for g in doc["groups"]]
    assert all(0.0 <= v <= 1.0 for v in tpr)
