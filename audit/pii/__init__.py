"""PII audit of stored posts: Presidio detection, Macie-style findings, redaction, evaluation.

Importing this package is cheap: Presidio, spaCy and Faker load only when a detector is built,
a scan runs or a corpus is generated.

Examples
--------
>>> from audit.pii import load_pii_config, pii_audit  # doctest: +SKIP
>>> cfg = load_pii_config(None)  # doctest: +SKIP
>>> doc = pii_audit("posts/", text_field="text", id_field="id", config=cfg)  # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from audit.pii._mask import mask_value
from audit.pii._sampling import SampleSpec, parse_sample

__all__ = [
    "EVAL_ENTITIES",
    "Detector",
    "DetectorPool",
    "Finding",
    "LabelledPost",
    "PartialScan",
    "PiiConfig",
    "SampleSpec",
    "build_presidio_default_analyzer",
    "default_config_path",
    "generate_corpus",
    "load_pii_config",
    "load_raw_data",
    "mask_value",
    "merge_partials",
    "parse_sample",
    "pii_audit",
    "pii_eval",
    "scan_raw_records",
    "scan_records",
]

_LAZY = {
    # The config model loads YAML and builds a pydantic schema: not needed to read a sample.
    "PiiConfig": "audit.pii._config",
    "default_config_path": "audit.pii._config",
    "load_pii_config": "audit.pii._config",
    "Detector": "audit.pii._engine",
    "DetectorPool": "audit.pii._engine",
    "Finding": "audit.pii._engine",
    "build_presidio_default_analyzer": "audit.pii._engine",
    "PartialScan": "audit.pii._scan",
    "merge_partials": "audit.pii._scan",
    "pii_audit": "audit.pii._scan",
    "scan_raw_records": "audit.pii._scan",
    "scan_records": "audit.pii._scan",
    "EVAL_ENTITIES": "audit.pii._corpus",
    "LabelledPost": "audit.pii._corpus",
    "generate_corpus": "audit.pii._corpus",
    "load_raw_data": "audit.pii._corpus",
    "pii_eval": "audit.pii._eval",
}

if TYPE_CHECKING:
    from audit.pii._config import PiiConfig, default_config_path, load_pii_config
    from audit.pii._corpus import EVAL_ENTITIES, LabelledPost, generate_corpus, load_raw_data
    from audit.pii._engine import Detector, DetectorPool, Finding, build_presidio_default_analyzer
    from audit.pii._eval import pii_eval
    from audit.pii._scan import (
        PartialScan,
        merge_partials,
        pii_audit,
        scan_raw_records,
        scan_records,
    )


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'audit.pii' has no attribute {name!r}")
