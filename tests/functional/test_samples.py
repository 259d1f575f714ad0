"""Real data fetched at set-up (`make data`): COMPAS and RedditBias with a real model."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from fairlearn import metrics as flm
from sklearn.metrics import roc_auc_score

from audit.cli import main


@pytest.fixture(scope="module")
def compas_result(tmp_path_factory, samples):
    out = tmp_path_factory.mktemp("compas") / "compas.json"
    argv = [
        "classification", "--data", str(samples / "compas.csv"), "--id", "id",
        "--label", "two_year_recid", "--score", "score", "--groups", "race,sex",
        "--out", str(out), "--quiet",
    ]  # fmt: skip
    assert main(argv) == 0
    return samples, json.loads(out.read_text())


def test_compas_reproduces_propublica(compas_result):
    _, doc = compas_result
    race = {g["group"]: g for g in doc["groups"] if g["attribute"] == "race"}
    black, white = race["African-American"], race["Caucasian"]
    assert (black["n"], white["n"]) == (3175, 2103)
    # ProPublica (2016), "How We Analyzed the COMPAS Recidivism Algorithm"
    assert black["metrics"]["fpr"]["value"] == pytest.approx(0.423, abs=5e-4)
    assert black["metrics"]["fnr"]["value"] == pytest.approx(0.285, abs=5e-4)
    assert white["metrics"]["fpr"]["value"] == pytest.approx(0.220, abs=5e-4)
    assert white["metrics"]["fnr"]["value"] == pytest.approx(0.496, abs=5e-4)
    for g in (black, white):
        for m in ("fpr", "fnr"):
            assert g["metrics"][m]["ci_low"] < g["metrics"][m]["value"] < g["metrics"][m]["ci_high"]
    # Black defendants are labelled high risk far more often: adverse impact
    assert black["verdicts"]["four_fifths"] == "fail"


def test_compas_numbers_equal_fairlearn_metricframe(compas_result):
    samples, doc = compas_result
    df = pd.read_csv(samples / "compas.csv")
    d = (df["score"] >= 0.5).astype(int)
    assert (d == df["decision"]).all()  # score >= 0.5 is ProPublica's Medium/High
    mf = flm.MetricFrame(
        metrics={"fpr": flm.false_positive_rate, "fnr": flm.false_negative_rate,
                 "selection_rate": flm.selection_rate},
        y_true=df["two_year_recid"], y_pred=d, sensitive_features=df["race"],
    )  # fmt: skip
    race = {g["group"]: g for g in doc["groups"] if g["attribute"] == "race"}
    for group, row in mf.by_group.iterrows():
        for m in ("fpr", "fnr", "selection_rate"):
            assert race[group]["metrics"][m]["value"] == pytest.approx(row[m], abs=1e-9)


def test_compas_small_groups_are_insufficient_or_suppressed(compas_result):
    _, doc = compas_result
    race = {g["group"]: g for g in doc["groups"] if g["attribute"] == "race"}
    for small in ("Asian", "Native American"):
        assert race[small]["verdicts"]["evidence"] == "insufficient_evidence"
        assert race[small]["verdicts"]["four_fifths"] == "insufficient_evidence"
    suppressed = {tuple(s["group"]) for s in doc["suppressed_groups"]}
    assert ("Native American", "Female") in suppressed
    eod = next(
        s
        for s in doc["summary"]
        if s["attribute"] == "race" and s["metric"] == "equalized_odds_difference"
    )
    assert "Asian" in eod["groups_excluded_insufficient"]


def test_redditbias_with_a_real_moderation_model(samples, tmp_path):
    pytest.importorskip("profanity_check")
    out = tmp_path / "m.json"
    argv = [
        "moderation", "--data", str(samples / "redditbias.csv"), "--id", "id",
        "--label", "label", "--text", "text", "--model", "profanity_check:predict_prob",
        "--groups", "target", "--resamples", "100", "--no-explain",
        "--templates", str(samples / "identity_templates.csv"),
        "--identities", str(samples / "identity_terms.csv"), "--out", str(out), "--quiet",
    ]  # fmt: skip
    assert main(argv) == 0
    doc = json.loads(out.read_text())
    from profanity_check import predict_prob

    df = pd.read_csv(samples / "redditbias.csv")
    s = np.asarray(predict_prob(df["text"].astype(str).tolist()))
    y = df["label"].to_numpy()
    block = doc["moderation"]["bias_aucs"][0]
    for rec in block["groups"]:
        m = (df["target"] == rec["group"]).to_numpy()
        bpsn = (~m & (y == 1)) | (m & (y == 0))
        assert rec["subgroup_auc"]["value"] == pytest.approx(roc_auc_score(y[m], s[m]), abs=1e-9)
        assert rec["bpsn_auc"]["value"] == pytest.approx(roc_auc_score(y[bpsn], s[bpsn]), abs=1e-9)
    swap = {a["axis"]: a for a in doc["moderation"]["identity_swap"]["axes"]}
    assert swap["sexual_orientation"]["flip_rate"] > swap["religion"]["flip_rate"]


@pytest.mark.sample
def test_worked_example_blocks_the_biased_model_and_catches_the_regression(samples, tmp_path):
    """docs/worked-example.md: the default policy blocks the biased model, passes the
    post-processed one, and — only against its blessing — blocks a later release that flips 8 %
    of Black defendants' favourable decisions (impact ratio 0.944 → 0.868)."""
    import subprocess
    import sys

    from tests.conftest import ROOT

    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "worked_example.py"), "--samples", str(samples),
         "--out", str(tmp_path), "--resamples", "200"],
        capture_output=True, text=True, check=False, cwd=ROOT,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    outcome = proc.stdout.split("== outcome")[-1].split()
    assert " ".join(outcome) == (
        "biased exit 1 BLOCKED unaware exit 0 passed postprocessed exit 0 passed "
        "regressed, no baseline exit 0 passed regressed vs postprocessed exit 1 BLOCKED"
    )
    caught = [
        line for line in proc.stdout.splitlines()
        if line.startswith("FAIL          impact-ratio-regression")
    ]  # fmt: skip
    assert len(caught) == 1
    assert caught[0].startswith(
        "FAIL          impact-ratio-regression  impact_ratio race=African-American 0.868 "
    )
    assert "(baseline 0.944, change -0.0753)" in caught[0]
