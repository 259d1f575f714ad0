"""The socialaudit command as a user runs it: exit codes, messages, files written."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pandas as pd
import pytest
from jsonschema import Draft202012Validator

from audit.cli import main
from audit.results import load_schema
from tests.conftest import FIXTURES, ROOT

SMALL = str(FIXTURES / "moderation_small.csv")


def run(argv, capsys):
    code = main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


def base(tmp_path, *extra):
    return [
        "moderation", "--data", SMALL, "--id", "id", "--label", "label", "--score", "score",
        "--groups", "group,gender", "--language", "lang", "--resamples", "200",
        "--out", str(tmp_path / "r.json"), *extra,
    ]  # fmt: skip


def test_moderation_writes_a_valid_document(tmp_path, capsys):
    code, out, _ = run(base(tmp_path), capsys)
    assert code == 0
    assert "result written to" in out and "muslim" in out
    doc = json.loads((tmp_path / "r.json").read_text())
    Draft202012Validator(load_schema()).validate(doc)
    attrs = {json.dumps(g["attribute"]) for g in doc["groups"]}
    assert attrs == {'"group"', '"gender"', '["group", "gender"]', '"lang"'}
    # the tiny gender group is suppressed, and said to be
    assert {"attribute": "gender", "group": "x", "reason": "fewer than 10 rows"} in doc[
        "suppressed_groups"
    ]
    assert not any(g["group"] == "x" for g in doc["groups"] if g["attribute"] == "gender")
    # per-language accuracy and error rates (DSA Art. 42(2)(c))
    langs = {g["group"]: g for g in doc["groups"] if g["attribute"] == "lang"}
    assert set(langs) == {"de", "en", "fr"}
    assert all(set(g["metrics"]) >= {"accuracy", "fpr", "fnr"} for g in langs.values())
    # the planted disparity: muslim posts are wrongly flagged far more often
    grp = {g["group"]: g for g in doc["groups"] if g["attribute"] == "group"}
    assert (
        grp["muslim"]["metrics"]["fpr"]["value"] > 3 * grp["christian"]["metrics"]["fpr"]["value"]
    )
    aucs = doc["moderation"]["bias_aucs"][0]
    worst = min(aucs["groups"], key=lambda g: g["bpsn_auc"]["value"])
    assert worst["group"] == "muslim"
    assert doc["provenance"]["inputs"][0]["sha256"]
    assert doc["explanations"]["sentences"]


def test_same_inputs_and_seed_give_identical_json(tmp_path, capsys):
    run(base(tmp_path, "--no-explain"), capsys)
    first = (tmp_path / "r.json").read_text()
    time.sleep(1.1)
    run(base(tmp_path, "--no-explain"), capsys)
    second = (tmp_path / "r.json").read_text()

    def strip(text):
        doc = json.loads(text)
        doc["provenance"].pop("generated_at")
        return json.dumps(doc, sort_keys=True)

    assert strip(first) == strip(second)
    assert [ln for ln in first.splitlines() if "generated_at" not in ln] == [
        ln for ln in second.splitlines() if "generated_at" not in ln
    ]


def test_text_model_and_identity_swaps(tmp_path, capsys, monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "tests" / "functional"))
    templates = tmp_path / "t.csv"
    terms = tmp_path / "i.csv"
    pd.DataFrame({"template": ["I am {identity}.", "My neighbours are {identity}."]}).to_csv(
        templates, index=False
    )
    pd.DataFrame({"term": ["Muslim", "Christian", "Jewish"], "axis": ["religion"] * 3}).to_csv(
        terms, index=False
    )
    argv = [
        "moderation", "--data", SMALL, "--label", "label", "--text", "text",
        "--model", "fake_text_model:biased", "--groups", "group", "--resamples", "50",
        "--templates", str(templates), "--identities", str(terms),
        "--out", str(tmp_path / "m.json"), "--no-explain",
    ]  # fmt: skip
    code, _, err = run(argv, capsys)
    assert code == 0, err
    swap = json.loads((tmp_path / "m.json").read_text())["moderation"]["identity_swap"]
    (axis,) = swap["axes"]
    assert axis["flip_rate"] == 1.0 and axis["highest_term"] == "Muslim"
    assert axis["max_spread"] == pytest.approx(0.7)
    doc = json.loads((tmp_path / "m.json").read_text())
    assert doc["provenance"]["model"] == {"kind": "callable", "name": "fake_text_model:biased"}


def test_groups_file_join_gives_the_same_numbers(tmp_path, capsys):
    df = pd.read_csv(SMALL)
    df.drop(columns=["group", "gender"]).to_csv(tmp_path / "scores.csv", index=False)
    df[["id", "group", "gender"]].to_csv(tmp_path / "groups.csv", index=False)
    run(base(tmp_path), capsys)
    joined = base(tmp_path)
    joined[joined.index("--data") + 1] = str(tmp_path / "scores.csv")
    joined[joined.index("--out") + 1] = str(tmp_path / "j.json")
    code, _, err = run([*joined, "--groups-file", str(tmp_path / "groups.csv")], capsys)
    assert code == 0, err
    a = json.loads((tmp_path / "r.json").read_text())
    b = json.loads((tmp_path / "j.json").read_text())
    assert a["groups"] == b["groups"] and a["disparities"] == b["disparities"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (["--label", "nope"], "no column 'nope' (named by --label)"),
        (["--threshold", "1.5"], "must lie in [0, 1]"),
        (["--data", "missing.csv"], "missing.csv: file not found"),
        (["--reference", "group=atheist"], "reference group 'atheist'"),
        (["--model", "model.pkl", "--score", None], "--trust-pickle"),
    ],
)
def test_bad_input_exits_2_with_a_message_and_no_traceback(tmp_path, capsys, change, message):
    argv = base(tmp_path)
    for flag, value in zip(change[::2], change[1::2], strict=True):
        if value is None:
            i = argv.index(flag)
            del argv[i : i + 2]
        elif flag in argv:
            argv[argv.index(flag) + 1] = value
        else:
            argv += [flag, value]
    if "model.pkl" in change:
        (tmp_path / "model.pkl").write_bytes(b"not really")
        argv[argv.index("model.pkl")] = str(tmp_path / "model.pkl")
    with pytest.raises(SystemExit) if "--threshold" in change else _nothing():
        code, _, err = run(argv, capsys)
        assert code == 2
        assert message in " ".join(err.split())
        assert "Traceback" not in err
        assert not (tmp_path / "r.json").exists()


class _nothing:  # noqa: N801
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


def test_bad_score_names_file_column_and_row(tmp_path, capsys):
    df = pd.read_csv(SMALL)
    df["score"] = df["score"].astype(object)
    df.loc[6, "score"] = "high"
    df.to_csv(tmp_path / "bad.csv", index=False)
    argv = base(tmp_path)
    argv[argv.index("--data") + 1] = str(tmp_path / "bad.csv")
    code, _, err = run(argv, capsys)
    assert code == 2
    assert "bad.csv, column 'score', row 7: score must be a number, found 'high'" in " ".join(
        err.split()
    )


def test_a_run_prints_nothing_but_ours(tmp_path):
    """aif360 logs warnings about optional packages on import; none may reach the user."""
    out = subprocess.run(
        [sys.executable, "-m", "audit.cli", *base(tmp_path), "--quiet"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stderr
    assert out.stderr == ""
    assert out.stdout.strip() == f"result written to {tmp_path / 'r.json'}"


def test_help_is_fast_and_light():
    """--help must not import pandas, fairlearn or aif360 (cold start of CLI and API)."""
    code = (
        "import sys, time; t=time.perf_counter(); from audit.cli import _parser; "
        "from audit import classification_audit as _; "
        "print(time.perf_counter()-t, *sorted(m for m in ('pandas','fairlearn','aif360') "
        "if m in sys.modules))"
    )
    # importing the public API lazily must not pull heavy modules either
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            code.replace("from audit import classification_audit as _; ", "import audit; "),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert out[1:] == [], f"heavy modules imported: {out[1:]}"
    help_run = subprocess.run(
        [sys.executable, "-m", "audit.cli", "classification", "--help"],
        capture_output=True,
        text=True,
    )
    assert help_run.returncode == 0 and "--groups-file" in help_run.stdout
