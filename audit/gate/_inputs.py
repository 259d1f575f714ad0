"""What the gate reads: result documents and baselines (a result document or a blessing).

Result documents are read and checked by :func:`audit.results.load_result_file`, the loader
the report uses too.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast

from audit.exceptions import DataError
from audit.results import check_result, load_result_file, read_json

__all__ = [
    "BLESSING_VERSION",
    "Baseline",
    "ResultInput",
    "as_baseline",
    "as_result",
    "load_baseline",
    "load_result_input",
]

#: Version of the blessing format written by :func:`audit.gate.render_blessing` (1.1.0 adds
#: ``exit_code``, the ``no_decision`` decision, each observation's ``exact``, ``change`` and
#: ``relative_change``, and ``recorded``: the numbers of change-only checks skipped for want of
#: a baseline; 1.0.0 blessings are still read).
BLESSING_VERSION = "1.1.0"


@dataclass(frozen=True)
class ResultInput:
    """A result document with the name it is shown under and, if read from a file, its hash."""

    doc: dict[str, Any]
    label: str
    path: str | None = None
    sha256: str | None = None

    @property
    def kind(self) -> str:
        return str(self.doc.get("kind"))


@dataclass(frozen=True)
class Baseline:
    """What a change threshold compares against: a result document or an earlier blessing."""

    doc: dict[str, Any]
    type: Literal["result", "blessing"]
    label: str
    path: str | None = None
    sha256: str | None = None


def _check_result(doc: Any, file: str | None) -> dict[str, Any]:
    return cast("dict[str, Any]", check_result(doc, file, reader="gate"))


def load_result_input(path: str | Path, label: str | None = None) -> ResultInput:
    """Read a result document from a file, keeping its SHA-256 for the blessing."""
    result = load_result_file(path, reader="gate")
    doc = cast("dict[str, Any]", result.doc)
    return ResultInput(doc, label or Path(path).stem, result.path, result.sha256)


def load_baseline(path: str | Path) -> Baseline:
    """Read a baseline: a result document, or a blessing written by an earlier gate run.

    A blessing whose decision was ``blocked`` is refused: a baseline stands for a release that
    passed the gate, and comparing against a blocked one would let a regression through. So is
    a ``no_decision`` one, unless its policy let it through (exit code 0).
    """
    doc, digest = read_json(path, "baseline")
    return as_baseline(doc, Path(path).stem, str(path), digest)


def as_result(doc: dict[str, Any] | ResultInput, index: int) -> ResultInput:
    if isinstance(doc, ResultInput):
        return doc
    checked = _check_result(doc, None)
    return ResultInput(checked, f"{checked['kind']}-{index + 1}")


def as_baseline(
    doc: Any,
    label: str,
    path: str | None = None,
    sha256: str | None = None,
) -> Baseline:
    if isinstance(doc, Baseline):
        return doc
    if isinstance(doc, dict) and "blessing_version" in doc:
        if not str(doc["blessing_version"]).startswith("1."):
            raise DataError(
                f"blessing version {doc['blessing_version']} is not supported", file=path
            )
        if not isinstance(doc.get("observations"), list):
            raise DataError("the blessing has no observations list", file=path)
        accepted = doc.get("decision") == "passed" or (
            doc.get("decision") == "no_decision" and doc.get("exit_code") == 0
        )
        if not accepted:
            raise DataError(
                f"this blessing records a {doc.get('decision')!r} decision; a baseline must be "
                "a release that passed the gate (pass its result document instead if you mean "
                "to compare with it anyway)",
                file=path,
            )
        return Baseline(doc, "blessing", label, path, sha256)
    if isinstance(doc, dict) and "schema_version" in doc:
        _check_result(doc, path)
        return Baseline(doc, "result", label, path, sha256)
    raise DataError(
        "not a baseline: expected a socialaudit result document or a gate blessing", file=path
    )
