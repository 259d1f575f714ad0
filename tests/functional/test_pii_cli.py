"""``socialaudit pii`` and ``socialaudit pii-eval`` as a user runs them."""

from __future__ import annotations

import json

import pytest
from jsonschema import Draft202012Validator

from audit.results import load_schema
from tests.unit.pii._support import FIXTURE_RAW, corpus, pii_found_in_outputs, write_jsonl

SCHEMA = Draft202012Validator(load_schema())


def _main(argv):
    """``socialaudit ARGV``: exit code 2 with the message on bad input."""
    from audit import cli

    return cli.main(argv)


def run(argv, capsys):
    code = _main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture(scope="module")
def detector():
    from audit.pii import Detector, load_pii_config

    return Detector(load_pii_config(None))


@pytest.fixture(scope="module")
def posts():
    return corpus(80, seed=5)


@pytest.fixture
def posts_file(tmp_path, posts):
    return write_jsonl(
        tmp_path / "posts.jsonl", [{"id": f"p{i}", "text": p.text} for i, p in enumerate(posts)]
    )


def test_pii_scan_writes_result_findings_and_redacted_copies(tmp_path, posts_file, capsys):
    out = tmp_path / "out"
    code, stdout, _ = run(
        [
            "pii", "--source", str(posts_file), "--text-field", "text", "--id-field", "id",
            "--findings", str(out / "findings.jsonl"), "--redact-to", str(out / "redacted"),
            "--sample", "records=60,seed=2", "--out", str(out / "pii.json"),
        ],
        capsys,
    )  # fmt: skip
    assert code == 0, stdout
    assert "findings by entity type" in stdout and "result written to" in stdout
    doc = json.loads((out / "pii.json").read_text())
    SCHEMA.validate(doc)
    assert doc["pii"]["records"]["scanned"] == 60
    assert len((out / "findings.jsonl").read_text().splitlines()) == 60
    assert len((out / "redacted" / "posts.jsonl").read_text().splitlines()) == 60


def test_nothing_printed_or_written_holds_raw_pii(tmp_path, posts_file, posts, capsys, detector):
    out = tmp_path / "o"
    code, stdout, stderr = run(
        ["pii", "--source", str(posts_file), "--text-field", "text",
         "--findings", str(out / "f.jsonl"), "--out", str(out / "pii.json")],
        capsys,
    )  # fmt: skip
    assert code == 0
    (out / "stdout.txt").write_text(stdout + stderr, encoding="utf-8")
    planted = {p.text[s.start : s.end] for p in posts for s in p.spans if s.end - s.start >= 5}
    assert not [v for v in planted if v in stdout + stderr]
    assert pii_found_in_outputs(sorted(out.iterdir()), detector) == []


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--sample", "objects=3"], "--sample: objects"),
        (["--sample", "colour=red"], "--sample"),
        (["--config", "missing.yaml"], "PII config file not found"),
    ],
)
def test_bad_flags_exit_2_with_a_message(posts_file, capsys, extra, message):
    code, _, err = run(["pii", "--source", str(posts_file), "--text-field", "text", *extra], capsys)
    assert code == 2
    assert message in err and "Traceback" not in err


def test_missing_source_exit_2(tmp_path, capsys):
    code, _, err = run(["pii", "--source", str(tmp_path / "gone"), "--text-field", "t"], capsys)
    assert code == 2 and "no such file" in err


def test_bad_config_names_the_line(tmp_path, posts_file, capsys):
    cfg = tmp_path / "pii.yaml"
    cfg.write_text("version: 1\nentities: [PERSON]\nworkerz: 2\n", encoding="utf-8")
    code, _, err = run(
        ["pii", "--source", str(posts_file), "--text-field", "text", "--config", str(cfg)], capsys
    )
    assert code == 2 and "line 3" in err and "workerz" in err


def test_pii_eval(tmp_path, capsys):
    out = tmp_path / "eval.json"
    corpus_file = tmp_path / "corpus.jsonl"
    code, stdout, _ = run(
        ["pii-eval", "--raw-dir", str(FIXTURE_RAW), "--n", "120", "--resamples", "20",
         "--write-corpus", str(corpus_file), "--out", str(out)],
        capsys,
    )  # fmt: skip
    assert code == 0
    assert "PERSON recall by name set" in stdout and "span precision" in stdout
    doc = json.loads(out.read_text())
    SCHEMA.validate(doc)
    assert doc["pii_eval"]["ours"]["EMAIL_ADDRESS"]["gold"] > 0
    # The saved corpus evaluates the same.
    code, _, _ = run(
        ["pii-eval", "--corpus", str(corpus_file), "--resamples", "20", "--quiet",
         "--out", str(tmp_path / "again.json")],
        capsys,
    )  # fmt: skip
    again = json.loads((tmp_path / "again.json").read_text())
    assert again["pii_eval"]["ours"] == doc["pii_eval"]["ours"]


def test_pii_eval_without_raw_data_says_how_to_fetch(tmp_path, capsys):
    code, _, err = run(["pii-eval", "--raw-dir", str(tmp_path)], capsys)
    assert code == 2 and "fetch_pii_corpus.py" in err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "file not found"),
        (b'{"text": "a", "spans": []}\n\xff\xfe\n', "row 2: not valid UTF-8"),
        (b'{"text": "a", "spans": []}\n{"spans": []}\n', "row 2: not a labelled post"),
    ],
)
def test_pii_eval_names_a_bad_corpus_file_and_row(tmp_path, capsys, content, message):
    corpus_file = tmp_path / "corpus.jsonl"
    if content is not None:
        corpus_file.write_bytes(content)
    code, _, err = run(["pii-eval", "--corpus", str(corpus_file)], capsys)
    assert code == 2 and f"{corpus_file}" in err and message in err
    assert "Traceback" not in err
