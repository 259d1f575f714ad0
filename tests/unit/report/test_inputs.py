"""Reading what a report is built from: result documents and gate decisions, or a clear error."""

from __future__ import annotations

import json

import pytest

from audit.exceptions import DataError
from audit.report import load_input, load_inputs
from tests.unit.report import _docs


def test_a_result_and_a_blessing_are_told_apart(result_files):
    res = load_input(result_files["moderation"])
    gate = load_input(result_files["gate"])
    assert (res.type, res.kind, res.label) == ("result", "moderation", "moderation")
    assert (gate.type, gate.kind) == ("gate", "gate")
    assert len(res.sha256) == 64 and res.sha256 != gate.sha256


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "result file not found"),
        ("{not json", "not a JSON result document"),
        ("[1, 2]", "expected a JSON object"),
        ('{"kind": "moderation"}', "no schema_version"),
        ('{"schema_version": "2.0.0", "kind": "moderation"}', "reads 1.x"),
        ('{"schema_version": "1.0.0"}', "has no kind"),
        ('{"schema_version": "1.0.0", "kind": "x", "groups": {}}', "'groups' must be a list"),
    ],
)
def test_bad_files_name_the_file_and_the_problem(tmp_path, content, message):
    p = tmp_path / "r.json"
    if content is not None:
        p.write_text(content)
    with pytest.raises(DataError, match=message) as exc:
        load_input(p)
    assert str(p) in str(exc.value)


def test_a_folder_is_not_a_result(tmp_path):
    with pytest.raises(DataError, match="is a folder"):
        load_input(tmp_path)


def test_labels_are_made_unique_and_documents_accepted(moderation_doc, result_files):
    inputs = load_inputs([result_files["moderation"], result_files["moderation"], moderation_doc])
    assert [i.label for i in inputs] == ["moderation", "moderation-2", "moderation-3"]
    assert inputs[2].path is None and inputs[2].sha256 is None


def test_nothing_to_report_is_an_error():
    with pytest.raises(DataError, match="no result documents"):
        load_inputs([])


def test_any_document_with_a_decision_is_a_gate_decision(tmp_path):
    p = tmp_path / "decision.json"
    p.write_text(json.dumps({"decision": "passed"}))
    assert load_input(p).type == "gate"
    assert _docs.blessing()["decision"] == "blocked"
