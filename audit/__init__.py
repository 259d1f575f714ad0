"""socialaudit: audit a social platform's ML systems for bias and privacy.

The public API. Importing it is cheap: heavy dependencies (fairlearn, aif360, presidio, dlib)
load only when an audit needs them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "AuditError",
    "BootstrapSettings",
    "ClassificationOptions",
    "ConfigError",
    "DataError",
    "EngineSettings",
    "FaceOptions",
    "ModelError",
    "ads_audit",
    "analyse_groups",
    "classification_audit",
    "face_audit",
    "load_labelled_set",
    "load_model",
    "moderation_audit",
    "pii_audit",
    "recommendation_audit",
    "write_result",
]

_LAZY = {
    "BootstrapSettings": "audit.metrics",
    "EngineSettings": "audit.metrics",
    "analyse_groups": "audit.metrics",
    "ClassificationOptions": "audit.classification",
    "classification_audit": "audit.classification",
    "moderation_audit": "audit.moderation",
    "load_labelled_set": "audit.data",
    "load_model": "audit.models",
    "write_result": "audit.results",
    "face_audit": "audit.face",
    "FaceOptions": "audit.face",
    "recommendation_audit": "audit.recommendation",
    "ads_audit": "audit.ads",
    "pii_audit": "audit.pii",
}

from audit.exceptions import AuditError, ConfigError, DataError, ModelError  # noqa: E402

if TYPE_CHECKING:
    from audit.classification import ClassificationOptions, classification_audit
    from audit.data import load_labelled_set
    from audit.metrics import BootstrapSettings, EngineSettings, analyse_groups
    from audit.models import load_model
    from audit.moderation import moderation_audit
    from audit.results import write_result


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'audit' has no attribute {name!r}")
