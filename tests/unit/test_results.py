"""The result document: checked against its schema when written and when read, by one loader
that the gate and the report share; a broken document is refused naming the JSON path."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from audit.exceptions import DataError
from audit.results import check_result, load_result, load_result_file, write_result
from tests.unit.test_gate import group, result, summary


def _doc() -> dict[str, Any]:
    return result(
        groups=[group("race", "a", fpr=0.1), group("race", "b", fpr=0.3)],
        summary=[summary("race", "fpr_difference", 0.2)],
    )


def test_a_written_result_reads_back_the_same(tmp_path: Path) -> None:
    doc = _doc()
    doc["groups"][0]["n"] = np.int64(500)  # numbers straight from the engines
    doc["groups"][0]["metrics"]["fpr"]["value"] = np.float64("nan")
    path = write_result(doc, tmp_path / "r.json")
    back = load_result(path)
    assert back["groups"][0]["n"] == 500 and back["groups"][0]["metrics"]["fpr"]["value"] is None
    assert back["summary"] == doc["summary"]


@pytest.mark.parametrize(
    ("change", "where", "problem"),
    [
        (lambda d: d["groups"][1].update(n="ten"), "$.groups[1].n", "'ten' is not of type"),
        (lambda d: d["provenance"].pop("seed"), "$.provenance", "'seed' is a required property"),
        (
            lambda d: d["groups"][0]["metrics"]["fpr"].update(extra=1),
            "$.groups[0].metrics.fpr",
            "Additional properties are not allowed",
        ),
        (
            lambda d: d["suppressed_groups"].append(
                {"attribute": "race", "group": "c", "reason": "x", "n": 3}
            ),
            "$.suppressed_groups[0]",
            "should not be valid",  # a suppressed group never carries numbers
        ),
    ],
)  # fmt: skip
def test_a_broken_document_is_refused_at_write_naming_the_json_path(
    tmp_path: Path, change: Any, where: str, problem: str
) -> None:
    doc = _doc()
    change(doc)
    target = tmp_path / "r.json"
    with pytest.raises(DataError) as exc:
        write_result(doc, target)
    message = str(exc.value)
    assert message.startswith(f"{target}: ") and f"at {where}: " in message and problem in message
    assert not target.exists() and not list(tmp_path.iterdir())


def test_a_broken_file_is_refused_at_load_by_the_gate_and_the_report_alike(tmp_path: Path) -> None:
    from audit.gate import load_result_input
    from audit.report import load_input

    doc = _doc()
    doc["disparities"] = [{"attribute": "race", "group": "b", "metric": "fpr"}]
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(doc))
    messages = []
    for load in (load_result_file, load_result_input, load_input):
        with pytest.raises(DataError) as exc:
            load(path)
        messages.append(str(exc.value))
    assert messages[0] == messages[1] == messages[2]
    assert messages[0].startswith(f"{path}: ") and "at $.disparities[0]: " in messages[0]
    assert "'reference' is a required property" in messages[0]


def test_the_kind_is_any_name_so_a_newer_kind_still_reads(tmp_path: Path) -> None:
    # Kinds are listed once, in audit.kinds; a document of a kind this version does not know
    # (written by a newer one) is still a result document.
    path = tmp_path / "speech.json"
    path.write_text(json.dumps(result("speech")))
    assert load_result(path)["kind"] == "speech"
    with pytest.raises(DataError, match="has no kind"):
        check_result({**result(), "kind": None}, "x.json")
    with pytest.raises(DataError, match=r"not supported by this gate \(it reads 1\.x\)"):
        check_result({**result(), "schema_version": "2.0.0"}, "x.json", reader="gate")


def test_the_cli_exits_2_on_a_broken_result(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from audit.cli import main
    from tests.conftest import ROOT

    doc = _doc()
    doc["groups"][0]["group"] = 7
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(doc))
    for argv in (
        ["gate", "--policy", str(ROOT / "policies" / "default.yaml"), str(path)],
        ["report", str(path), "--out", str(tmp_path / "report"), "--format", "json"],
    ):
        assert main(argv) == 2
        err = " ".join(capsys.readouterr().err.split())
        assert f"{path}: result document does not follow the result schema" in err
        assert "at $.groups[0].group" in err and "Traceback" not in err
