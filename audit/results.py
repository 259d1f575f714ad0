"""The result document: one JSON document per audit run, with provenance.

The document follows the versioned JSON Schema in ``audit/schema/result-<version>.json``;
:class:`ResultDocument` is its core as types (a kind adds its own sections: ``moderation``,
``face``, ``pii``, ... — the schema allows them and the type does not list them; read one with
:func:`section`). The schema is checked when a document is written (:func:`write_result`) and
when one is read (:func:`load_result_file`, the one loader of the gate and the report): a
document that fails it is refused with the file and the JSON path of the problem.

The same inputs and seed give byte-identical JSON apart from ``provenance.generated_at``:
keys are sorted, floats are written by :func:`repr`, and NaN / infinity become ``null``.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import platform
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NotRequired, TypedDict, cast

from audit.exceptions import DataError

if TYPE_CHECKING:
    from jsonschema.protocols import Validator

__all__ = [
    "SCHEMA_VERSION",
    "CiSettings",
    "Disparity",
    "Estimate",
    "Group",
    "Overall",
    "Provenance",
    "ResultDocument",
    "ResultFile",
    "Settings",
    "SummaryRow",
    "SuppressedGroup",
    "check_result",
    "dumps",
    "load_result",
    "load_result_file",
    "load_schema",
    "package_versions",
    "provenance",
    "read_json",
    "section",
    "write_result",
]

SCHEMA_VERSION = "1.0.0"

#: Distributions whose versions are recorded in every result.
_TRACKED = ("socialaudit", "numpy", "pandas", "scipy", "scikit-learn", "fairlearn", "aif360")

# --------------------------------------------------------------------------- the document's core

#: An attribute (``race``) or an intersection (``["race", "sex"]``); a group value likewise.
Name = str | list[str]


class Estimate(TypedDict):
    """A number with its confidence interval (``None`` where undefined); ``exact`` (``"p/q"``)
    when the point value is a ratio of integer counts."""

    value: float | None
    ci_low: float | None
    ci_high: float | None
    exact: NotRequired[str]


class CiSettings(TypedDict):
    method: str
    resamples: int
    level: float
    seed: int


class Settings(TypedDict):
    """How the audit was run; a kind records more (``slices``, ``k``, ``source``, ...)."""

    reference: Literal["largest", "best"] | dict[str, str]
    min_positives: int
    min_negatives: int
    min_group_size: int
    ci: CiSettings


class Overall(TypedDict):
    n: int
    metrics: dict[str, Estimate]


class Group(TypedDict):
    """One group's metrics and verdicts (``verdicts.evidence``: ``sufficient`` or not)."""

    attribute: Name
    group: Name
    n: int
    positives: int
    negatives: int
    metrics: dict[str, Estimate]
    verdicts: dict[str, str]
    impact_ratio: NotRequired[Estimate]


class SuppressedGroup(TypedDict):
    """A group too small to publish: named, with the reason, never with numbers."""

    attribute: Name
    group: Name
    reason: str


class Disparity(TypedDict):
    attribute: Name
    group: Name
    reference: Name
    metric: str
    difference: Estimate
    ratio: Estimate
    verdict: Literal["within_band", "outside_band", "insufficient_evidence", "undefined"]


class SummaryRow(TypedDict):
    """A cross-group measure (``equalized_odds_difference``, ``fmr_max_min_ratio``, ...)."""

    attribute: Name
    metric: str
    value: float | None
    ci_low: float | None
    ci_high: float | None
    exact: NotRequired[str]
    groups_included: list[Any]


class Provenance(TypedDict):
    inputs: list[dict[str, str]]
    model: dict[str, str]
    policy_sha256: str | None
    seed: int
    packages: dict[str, str]
    python: str
    generated_at: str


class ResultDocument(TypedDict):
    """The core of a result document (see the module docstring for the kind's sections)."""

    schema_version: str
    kind: str
    settings: Settings
    overall: Overall
    groups: list[Group]
    suppressed_groups: list[SuppressedGroup]
    disparities: list[Disparity]
    summary: list[SummaryRow]
    provenance: Provenance


def section(doc: ResultDocument | Mapping[str, Any], name: str) -> dict[str, Any]:
    """A kind's own section of ``doc`` (``moderation``, ``face``, ...), ``{}`` if absent."""
    value = cast("Mapping[str, Any]", doc).get(name)
    return value if isinstance(value, dict) else {}


# --------------------------------------------------------------------------- writing


def package_versions(extra: tuple[str, ...] = ()) -> dict[str, str]:
    """Installed versions of the packages that shape the numbers."""
    out = {}
    for name in (*_TRACKED, *extra):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def provenance(
    *,
    inputs: list[dict[str, str]],
    model: dict[str, str],
    seed: int,
    policy_sha256: str | None = None,
    extra_packages: tuple[str, ...] = (),
) -> dict[str, Any]:
    """The provenance block: what went in, with which code, when."""
    return {
        "inputs": inputs,
        "model": model,
        "policy_sha256": policy_sha256,
        "seed": seed,
        "packages": package_versions(extra_packages),
        "python": platform.python_version(),
        "generated_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def _plain(obj: Any, generic: type) -> Any:
    if isinstance(obj, dict):
        return {str(k): _plain(v, generic) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_plain(v, generic) for v in obj]
    if isinstance(obj, generic):
        obj = obj.item()  # type: ignore[attr-defined]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def dumps(document: Mapping[str, Any]) -> str:
    """Serialise a result document deterministically."""
    import numpy as np  # numbers from the engines may be numpy scalars

    plain = _plain(dict(document), np.generic)
    return json.dumps(plain, sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def write_result(document: Mapping[str, Any], path: str | Path) -> Path:
    """Check a result document against the schema and write it, creating the folder.

    Returns
    -------
    Path
        The path written.

    Raises
    ------
    DataError
        The document does not follow the schema (naming the JSON path); nothing is written.
    """
    p = Path(path)
    text = dumps(document)
    check_result(json.loads(text), str(p), what="result to write")
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_suffix(p.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(p)
    return p


# --------------------------------------------------------------------------- reading


def load_schema() -> dict[str, Any]:
    """The JSON Schema of the current result document version, as shipped."""
    text = files("audit.schema").joinpath(f"result-{SCHEMA_VERSION}.json").read_text("utf-8")
    return dict(json.loads(text))


@functools.cache
def _validator() -> Validator:
    import numbers

    from jsonschema import Draft202012Validator, validators

    schema = load_schema()
    # Any kind: the kinds are listed once, in audit.kinds, and a newer socialaudit (same major
    # version) may write a kind this one does not know; the report shows it generically.
    schema["properties"]["kind"] = {"type": "string", "minLength": 1}
    # A document still in memory may hold numpy numbers and tuples; dumps() writes them as
    # JSON numbers and arrays, so they are checked as such.
    base = Draft202012Validator.TYPE_CHECKER

    def numpy_too(name: str, kind: type) -> Any:
        return lambda checker, x: (
            base.is_type(x, name) or (isinstance(x, kind) and not isinstance(x, bool))
        )

    types = base.redefine_many(
        {
            "integer": numpy_too("integer", numbers.Integral),
            "number": numpy_too("number", numbers.Real),
            "array": numpy_too("array", tuple),
        }
    )
    return validators.extend(Draft202012Validator, type_checker=types)(schema)


def _where(path: Any) -> str:
    out = "$"
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def check_result(
    doc: Any, file: str | None, *, reader: str = "socialaudit", what: str = "result document"
) -> ResultDocument:
    """Check that ``doc`` is a result document this version reads; return it, typed.

    Parameters
    ----------
    doc
        The parsed JSON.
    file
        Where it came from, for messages.
    reader
        Who is reading (``gate``, ``report``), for the message on a newer major version.
    what
        What the document is, for messages.

    Raises
    ------
    DataError
        Not a result document, a major schema version this one does not read, or a problem
        with the schema: the message names the JSON path of the first (``$.groups[3].n``).
    """
    if not isinstance(doc, dict) or "schema_version" not in doc:
        raise DataError("not a socialaudit result document (no schema_version)", file=file)
    if not str(doc["schema_version"]).startswith("1."):
        raise DataError(
            f"result schema version {doc['schema_version']} is not supported by this "
            f"{reader} (it reads 1.x); upgrade socialaudit",
            file=file,
        )
    # The commonest problems first, in plain words; then the whole schema.
    if not isinstance(doc.get("kind"), str):
        raise DataError(f"the {what} has no kind", file=file)
    for key in ("groups", "suppressed_groups", "disparities", "summary"):
        if not isinstance(doc.get(key, []), list):
            raise DataError(f"{key!r} must be a list", file=file)
    for key in ("settings", "overall", "provenance"):
        if not isinstance(doc.get(key, {}), dict):
            raise DataError(f"{key!r} must be an object", file=file)
    from jsonschema.exceptions import best_match

    error = best_match(_validator().iter_errors(doc))
    if error is not None:
        raise DataError(
            f"{what} does not follow the result schema {SCHEMA_VERSION}: at "
            f"{_where(error.absolute_path)}: {error.message}",
            file=file,
        )
    return cast(ResultDocument, doc)


def read_json(path: str | Path, what: str = "result") -> tuple[Any, str]:
    """Read a JSON file; returns the parsed value and the SHA-256 of its bytes.

    Raises
    ------
    DataError
        Missing, a folder, unreadable, or not JSON.
    """
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise DataError(f"{what} file not found", file=str(path)) from None
    except IsADirectoryError:
        raise DataError(f"is a folder, not a {what} file", file=str(path)) from None
    except OSError as exc:
        raise DataError(f"cannot read the {what} file ({exc.strerror})", file=str(path)) from None
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"not a JSON {what} document ({exc})", file=str(path)) from None
    return doc, hashlib.sha256(raw).hexdigest()


@dataclass(frozen=True)
class ResultFile:
    """A result document read from a file, checked, with the SHA-256 of the file's bytes."""

    doc: ResultDocument
    path: str
    sha256: str


def load_result_file(path: str | Path, *, reader: str = "socialaudit") -> ResultFile:
    """Read and check a result document (see :func:`check_result`)."""
    doc, digest = read_json(path)
    return ResultFile(check_result(doc, str(path), reader=reader), str(path), digest)


def load_result(path: str | Path) -> ResultDocument:
    """Read a result document written by :func:`write_result` (checked against the schema)."""
    return load_result_file(path).doc
