"""``socialaudit face`` as a user runs it: exit codes, messages, the table, the JSON written."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from jsonschema import Draft202012Validator

from audit.cli import main
from audit.face import GroupSpec, synthetic_face_set
from audit.results import load_schema
from tests.conftest import SAMPLES

FACES = SAMPLES / "faces"


def run(argv, capsys):
    """``socialaudit ARGV``: its exit code (2 with the message on bad input, never a
    traceback; argparse's usage errors too) and what it printed."""
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def synthetic_files(tmp_path):
    manifest, templates = synthetic_face_set(
        {
            "a": GroupSpec(subjects=120),
            "b": GroupSpec(subjects=120, impostor_distance=0.8),
            "c": GroupSpec(subjects=120, genuine_distance=0.55, ftd_rate=0.05),
        },
        seed=11,
    )
    manifest.frame.to_csv(tmp_path / "faces.csv", index=False)
    np.save(tmp_path / "emb.npy", templates.embeddings)
    return tmp_path


def base(tmp, *extra):
    return [
        "face", "--manifest", str(tmp / "faces.csv"), "--groups", "group",
        "--resamples", "100", "--out", str(tmp / "r.json"), *extra,
    ]  # fmt: skip


def test_embeddings_audit_prints_the_table_and_writes_a_valid_document(synthetic_files, capsys):
    tmp = synthetic_files
    code, out, err = run(
        base(tmp, "--embeddings", str(tmp / "emb.npy"), "--target-fmr", "1e-3"), capsys
    )
    assert code == 0, err
    assert "face audit" in out and "calibrated to FMR 0.001" in out
    assert "fmr max min ratio" in out and "result written to" in out
    doc = json.loads((tmp / "r.json").read_text())
    Draft202012Validator(load_schema()).validate(doc)
    assert doc["kind"] == "face"
    groups = {g["group"]: g for g in doc["groups"]}
    assert groups["b"]["metrics"]["fmr"]["value"] > groups["a"]["metrics"]["fmr"]["value"]
    assert groups["c"]["metrics"]["fnmr"]["value"] > groups["a"]["metrics"]["fnmr"]["value"]
    assert [i["role"] for i in doc["provenance"]["inputs"]] == ["manifest", "embeddings"]
    assert doc["face"]["detection_failures_total"] > 0  # the 5% NaN rows: no template
    assert doc["provenance"]["model"]["kind"] == "embeddings"


def test_pair_scores_with_a_fixed_similarity_threshold(synthetic_files, capsys):
    tmp = synthetic_files
    frame = pd.read_csv(tmp / "faces.csv")
    X = np.load(tmp / "emb.npy")
    rng = np.random.default_rng(0)
    i, j = np.triu_indices(len(X), 1)
    pick = rng.choice(len(i), 20_000, replace=False)
    i, j = i[pick], j[pick]
    sim = 1.0 - np.linalg.norm(X[i] - X[j], axis=1)  # the platform's similarity
    pd.DataFrame(
        {
            "image_a": frame["path"][i].to_numpy(),
            "image_b": frame["path"][j].to_numpy(),
            "score": sim,
        }
    ).to_csv(tmp / "pairs.csv", index=False)
    code, out, err = run(base(tmp, "--pairs", str(tmp / "pairs.csv"), "--tolerance", "0.4"), capsys)
    assert code == 0, err
    assert "match when similarity >= 0.4 (fixed)" in out
    doc = json.loads((tmp / "r.json").read_text())
    assert doc["settings"]["score"] == "similarity"
    assert doc["overall"]["metrics"]["ftd"]["value"] is None


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--target-fmr", "1e-3", "--tolerance", "0.6"], "not allowed with argument"),
        (["--target-fmr", "2"], "must lie strictly between 0 and 1"),
        (
            ["--embeddings", "EMB", "--downscale", "0.5"],
            "--downscale only apply to the built-in model",
        ),
        (["--embeddings", "SHORT"], "short.npy: 10 embeddings for 1440 manifest rows"),
        (["--embeddings", "EMB", "--groups", "race"], "no column 'race' (named by --groups)"),
        (
            ["--embeddings", "EMB", "--reference", "group=z"],
            "reference group 'z' for 'group' does not occur",
        ),
        (["--score-type", "distance"], "--score-type and --pair-columns go with --pairs"),
    ],
)
def test_bad_input_exits_2_with_a_message(synthetic_files, capsys, extra, message):
    tmp = synthetic_files
    np.save(tmp / "short.npy", np.zeros((10, 128)))
    extra = [
        {"EMB": str(tmp / "emb.npy"), "SHORT": str(tmp / "short.npy")}.get(x, x) for x in extra
    ]
    code, _out, err = run(base(tmp, *extra), capsys)
    assert code == 2
    assert message in " ".join(err.split())
    assert "Traceback" not in err


def test_socialaudit_face_through_the_main_entry_point(synthetic_files, capsys):
    from audit import cli

    tmp = synthetic_files
    assert cli.main(base(tmp, "--embeddings", str(tmp / "emb.npy"), "--quiet")) == 0
    assert json.loads((tmp / "r.json").read_text())["kind"] == "face"
    assert cli.main(base(tmp, "--embeddings", str(tmp / "nope.npy"))) == 2
    assert "nope.npy: file not found" in " ".join(capsys.readouterr().err.split())


@pytest.mark.sample
def test_real_photos_through_the_built_in_model(tmp_path, tmp_path_factory, capsys):
    if not (FACES / "manifest.csv").is_file():
        pytest.skip("face photos not fetched (run scripts/fetch_face_images.py)")
    pytest.importorskip("face_recognition_models")
    cache = tmp_path_factory.getbasetemp() / "face-embeddings"  # shared with the unit test
    argv = [
        "face", "--manifest", str(FACES / "manifest.csv"), "--groups", "set",
        "--downscale", "0.25", "--workers", "1", "--cache-dir", str(cache),
        "--tolerance", "0.6", "--min-group-size", "1", "--resamples", "50",
        "--out", str(tmp_path / "faces.json"),
    ]  # fmt: skip
    code, out, err = run(argv, capsys)
    assert code == 0, err
    assert "match when distance <= 0.6" in out and "7 images of 2 subjects" in out
    doc = json.loads((tmp_path / "faces.json").read_text())
    assert doc["overall"]["positives"] == 15 and doc["overall"]["negatives"] == 6
    assert doc["overall"]["metrics"]["fmr"]["value"] == 0.0
    assert doc["overall"]["metrics"]["fnmr"]["value"] == 0.0
    assert doc["provenance"]["model"]["kind"] == "face_recognition"
    assert doc["provenance"]["packages"]["face-recognition"] == "1.3.0"
