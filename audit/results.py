"""The result document: one JSON document per audit run, with provenance.

The document follows the versioned JSON Schema in ``audit/schema/result-<version>.json``.
The same inputs and seed give byte-identical JSON apart from ``provenance.generated_at``:
keys are sorted, floats are written by :func:`repr`, and NaN / infinity become ``null``.
"""

from __future__ import annotations

import json
import math
import platform
from datetime import UTC, datetime
from importlib import metadata
from importlib.resources import files
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "SCHEMA_VERSION",
    "dumps",
    "load_result",
    "load_schema",
    "package_versions",
    "provenance",
    "write_result",
]

SCHEMA_VERSION = "1.0.0"

#: Distributions whose versions are recorded in every result.
_TRACKED = ("socialaudit", "numpy", "pandas", "scipy", "scikit-learn", "fairlearn", "aif360")


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


def _plain(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_plain(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def dumps(document: dict[str, Any]) -> str:
    """Serialise a result document deterministically."""
    return (
        json.dumps(_plain(document), sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False)
        + "\n"
    )


def write_result(document: dict[str, Any], path: str | Path) -> Path:
    """Write a result document, creating the folder; returns the path written."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_suffix(p.suffix + ".tmp")
    tmp.write_text(dumps(document), encoding="utf-8")
    tmp.replace(p)
    return p


def load_result(path: str | Path) -> dict[str, Any]:
    """Read a result document written by :func:`write_result`."""
    from audit.exceptions import DataError

    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError("result file not found", file=str(path)) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"not a JSON result document ({exc})", file=str(path)) from None
    if not isinstance(doc, dict) or "schema_version" not in doc:
        raise DataError("not a socialaudit result document (no schema_version)", file=str(path))
    return doc


def load_schema() -> dict[str, Any]:
    """The JSON Schema of the current result document version."""
    text = files("audit.schema").joinpath(f"result-{SCHEMA_VERSION}.json").read_text("utf-8")
    return json.loads(text)
