"""Fixtures of the report tests: result documents written once per session, and the bundle."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.unit.report import _docs

#: Fixed so the outputs are reproducible between runs.
GENERATED_AT = "2026-01-01T00:00:00Z"


@pytest.fixture(scope="session")
def docs_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("results")


@pytest.fixture(scope="session")
def moderation_doc(docs_dir: Path) -> dict[str, Any]:
    return _docs.moderation_result(docs_dir)


@pytest.fixture(scope="session")
def result_files(docs_dir: Path, moderation_doc: dict[str, Any]) -> dict[str, Path]:
    """Every kind of input, written to files as the CLI would."""
    return {
        "moderation": _docs.write(docs_dir, "moderation", moderation_doc),
        "face": _docs.write(docs_dir, "face", _docs.face_result(moderation_doc)),
        "pii": _docs.write(docs_dir, "pii", _docs.pii_result(moderation_doc)),
        "recommendation": _docs.write(
            docs_dir, "recommendation", _docs.recommendation_result(moderation_doc)
        ),
        "speech": _docs.write(docs_dir, "speech", _docs.unknown_result(moderation_doc)),
        "gate": _docs.write(docs_dir, "gate", _docs.blessing()),
    }


@pytest.fixture(scope="session")
def bundle(
    tmp_path_factory: pytest.TempPathFactory, result_files: dict[str, Path]
) -> dict[str, Path]:
    """HTML, Markdown, JSON and DSA export of every input together."""
    from audit.report import render_all

    out = tmp_path_factory.mktemp("bundle")
    return render_all(
        list(result_files.values()), out, ["html", "md", "json", "dsa"], generated_at=GENERATED_AT
    )


@pytest.fixture(scope="session")
def pdf(
    tmp_path_factory: pytest.TempPathFactory,
    moderation_doc: dict[str, Any],
    result_files: dict[str, Path],
) -> Path:
    """The PDF of a moderation audit (no intersections, to keep it short), a PII scan, a gate."""
    pytest.importorskip("weasyprint")
    from audit.report import render_all

    out = tmp_path_factory.mktemp("pdf")
    files = [
        _docs.write(out, "moderation", _docs.lean(moderation_doc)),
        result_files["pii"],
        result_files["gate"],
    ]
    return render_all(files, out, ["pdf"], generated_at=GENERATED_AT)["pdf"]
