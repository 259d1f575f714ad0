"""The classification audit: threshold sweep, user metrics through fairlearn, decisions only."""

from __future__ import annotations

import numpy as np
import pytest
from fairlearn.metrics import MetricFrame
from sklearn.metrics import f1_score

from audit.classification import ClassificationOptions, classification_audit
from audit.data import load_labelled_set
from audit.metrics import BootstrapSettings, EngineSettings
from audit.models import ColumnScores
from tests.conftest import synthetic

FAST = EngineSettings(bootstrap=BootstrapSettings(50, 0.95, 0))


@pytest.fixture
def labelled(tmp_path):
    df = synthetic(3000)
    df["decision"] = (df["score"] >= 0.6).astype(int)
    df.to_csv(tmp_path / "d.csv", index=False)
    return df, str(tmp_path / "d.csv")


def test_sweep_point_equals_the_audit_at_that_threshold(labelled):
    _df, path = labelled
    data = load_labelled_set(path, label="label", score="score", groups=["group"])
    doc = classification_audit(
        data, options=ClassificationOptions(threshold=0.35, engine=FAST, explain=False)
    )
    sweep = doc["threshold_sweep"]
    k = sweep["thresholds"].index(0.35)
    for series in sweep["series"]:
        rec = next(g for g in doc["groups"] if g["group"] == series["group"])
        for m in ("tpr", "fpr", "selection_rate", "precision"):
            assert series[m][k] == pytest.approx(rec["metrics"][m]["value"], abs=1e-12)


def test_user_metric_goes_through_fairlearn(labelled):
    df, path = labelled
    data = load_labelled_set(path, label="label", score="score", groups=["group"])
    options = ClassificationOptions(
        engine=FAST, explain=False, custom_metrics={"f1": "sklearn.metrics:f1_score"}
    )
    doc = classification_audit(data, options=options)
    d = (df["score"] >= 0.5).astype(int)
    expected = MetricFrame(
        metrics=f1_score, y_true=df["label"], y_pred=d, sensitive_features=df["group"]
    ).by_group
    got = {r["group"]: r["metrics"]["f1"] for r in doc["custom_metrics"]}
    for g, v in expected.items():
        assert got[g] == pytest.approx(v, abs=1e-12)


def test_decisions_only_skip_the_sweep_and_use_the_decisions(labelled):
    df, path = labelled
    data = load_labelled_set(path, label="label", decision="decision", groups=["group"])
    doc = classification_audit(data, options=ClassificationOptions(engine=FAST, explain=False))
    assert "threshold_sweep" not in doc
    assert doc["settings"]["decision_rule"] == "decisions given in the data"
    sr = df.groupby("group")["decision"].mean()
    for g in doc["groups"]:
        assert g["metrics"]["selection_rate"]["value"] == pytest.approx(sr[g["group"]])


def test_a_model_gives_the_same_numbers_as_its_scores(labelled):
    _, path = labelled
    data = load_labelled_set(path, label="label", score="score", groups=["group", "sex"])
    opts = ClassificationOptions(engine=FAST, explain=False)
    from_column = classification_audit(data, options=opts)
    from_model = classification_audit(data, ColumnScores("score"), options=opts)
    assert from_column["groups"] == from_model["groups"]
    assert from_model["provenance"]["model"] == {"kind": "column", "column": "score"}


def test_aif360_explanations_and_indices(labelled):
    _, path = labelled
    data = load_labelled_set(path, label="label", score="score", groups=["group"])
    doc = classification_audit(data, options=ClassificationOptions(engine=FAST))
    ex = doc["explanations"]
    assert 0 <= ex["indices"]["theil_index"] < np.log(len(data.y_true))
    assert ex["indices"]["between_group_theil_index"]["group"] >= 0
    texts = [s for s in ex["sentences"] if s["metric"] == "disparate_impact"]
    assert {s["group"] for s in texts} == {"b", "c"} and all(s["reference"] == "a" for s in texts)
    assert all("Disparate impact" in s["text"] for s in texts)
    # flags are adverse by default: disparate impact compares the rates of NOT being flagged
    sr = {g["group"]: g["metrics"]["selection_rate"]["value"] for g in doc["groups"]}
    for s in texts:
        stated = float(s["text"].rsplit(":", 1)[1])
        assert stated == pytest.approx((1 - sr[s["group"]]) / (1 - sr["a"]), abs=1e-9)


def test_threshold_outside_unit_interval_is_refused():
    from audit.exceptions import ConfigError

    with pytest.raises(ConfigError, match=r"\[0, 1\]"):
        ClassificationOptions(threshold=1.2)
