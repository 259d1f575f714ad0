"""What a report is built from: result documents and gate decisions, read once at the boundary.

Result documents are checked by :func:`audit.results.check_result`, as the gate checks them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from audit.exceptions import DataError
from audit.results import check_result, read_json

__all__ = ["ReportInput", "load_input", "load_inputs"]

InputType = Literal["result", "gate"]


@dataclass(frozen=True)
class ReportInput:
    """One document a report is built from.

    Attributes
    ----------
    doc
        The parsed JSON document.
    type
        ``result`` for an audit result document, ``gate`` for a gate decision (a blessing).
    label
        Short name shown in the report: the file's stem, or ``<kind>-<index>``.
    path
        The file as the user named it, if read from a file.
    sha256
        SHA-256 of the file's bytes, if read from a file.
    """

    doc: dict[str, Any]
    type: InputType
    label: str
    path: str | None = None
    sha256: str | None = None

    @property
    def kind(self) -> str:
        """The audit kind, or ``gate`` for a gate decision."""
        return "gate" if self.type == "gate" else str(self.doc.get("kind"))


def _classify(doc: Any, file: str | None) -> InputType:
    if not isinstance(doc, dict):
        raise DataError(
            "not a socialaudit result document or gate decision (expected a JSON object)",
            file=file,
        )
    if "schema_version" in doc:
        check_result(doc, file, reader="report")
        return "result"
    if "decision" in doc:
        return "gate"
    raise DataError(
        "not a socialaudit result document (no schema_version) or gate decision (no decision); "
        "pass files written by `socialaudit <audit> --out` or `socialaudit gate --blessing`",
        file=file,
    )


def load_input(path: str | Path, label: str | None = None) -> ReportInput:
    """Read one result document or gate decision from a file, keeping its SHA-256.

    Parameters
    ----------
    path
        A JSON file written by an audit (``--out``) or by ``socialaudit gate --blessing``.
    label
        Name shown in the report; defaults to the file's stem.

    Raises
    ------
    DataError
        The file is missing, unreadable, not JSON, or neither kind of document.
    """
    doc, digest = read_json(path)
    kind = _classify(doc, str(path))
    return ReportInput(doc, kind, label or Path(path).stem, str(path), digest)


def load_inputs(items: Iterable[str | Path | Mapping[str, Any] | ReportInput]) -> list[ReportInput]:
    """Read several inputs: file paths, already-parsed documents or :class:`ReportInput`.

    Labels are made unique (``compas``, ``compas-2``) so every section can be named.
    """
    out: list[ReportInput] = []
    for i, item in enumerate(items):
        if isinstance(item, ReportInput):
            ri = item
        elif isinstance(item, Mapping):
            doc = dict(item)
            kind = _classify(doc, None)
            name = "gate" if kind == "gate" else str(doc["kind"])
            ri = ReportInput(doc, kind, f"{name}-{i + 1}")
        else:
            ri = load_input(item)
        out.append(ri)
    if not out:
        raise DataError("no result documents given: pass at least one RESULT.json")
    seen: dict[str, int] = {}
    unique = []
    for ri in out:
        n = seen.get(ri.label, 0) + 1
        seen[ri.label] = n
        if n > 1:
            ri = ReportInput(ri.doc, ri.type, f"{ri.label}-{n}", ri.path, ri.sha256)
        unique.append(ri)
    return unique
