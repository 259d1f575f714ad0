"""Face-recognition audit: detection failures and NIST-style FMR/FNMR per demographic group.

Read a manifest (one row per image: path, subject, demographic columns), get templates from the
built-in face_recognition model, from the platform's pre-computed embeddings, or take the
platform's own pair scores, then audit::

    from audit.face import FaceOptions, encode_manifest, face_audit, load_face_manifest

    manifest = load_face_manifest("faces.csv", groups=["race", "sex"])
    templates = encode_manifest(manifest, workers=4, cache_dir=".cache/face-embeddings")
    doc = face_audit(manifest, templates, FaceOptions(target_fmr=1e-4))

Names load lazily, so that encoding worker processes import only what encoding needs; dlib and
face_recognition are imported only when an image is encoded. See ``docs/face.md``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__all__ = [
    "DEFAULT_TARGET_FMR",
    "STATUSES",
    "DlibEncoder",
    "FaceEncoder",
    "FaceManifest",
    "FaceOptions",
    "Faces",
    "GroupSpec",
    "PairScores",
    "PairStats",
    "Templates",
    "encode_manifest",
    "face_audit",
    "load_embeddings",
    "load_face_manifest",
    "load_pair_scores",
    "manifest_from_frame",
    "read_image",
    "score_all_pairs",
    "score_listed_pairs",
    "synthetic_face_set",
]

_LAZY = {
    "DEFAULT_TARGET_FMR": "_audit",
    "FaceOptions": "_audit",
    "face_audit": "_audit",
    "DlibEncoder": "_encode",
    "FaceEncoder": "_encode",
    "Faces": "_encode",
    "encode_manifest": "_encode",
    "read_image": "_encode",
    "STATUSES": "_manifest",
    "FaceManifest": "_manifest",
    "PairScores": "_manifest",
    "Templates": "_manifest",
    "load_embeddings": "_manifest",
    "load_face_manifest": "_manifest",
    "load_pair_scores": "_manifest",
    "manifest_from_frame": "_manifest",
    "PairStats": "_pairs",
    "score_all_pairs": "_pairs",
    "score_listed_pairs": "_pairs",
    "GroupSpec": "_synthetic",
    "synthetic_face_set": "_synthetic",
}

if TYPE_CHECKING:
    from audit.face._audit import DEFAULT_TARGET_FMR, FaceOptions, face_audit
    from audit.face._encode import DlibEncoder, FaceEncoder, Faces, encode_manifest, read_image
    from audit.face._manifest import (
        STATUSES,
        FaceManifest,
        PairScores,
        Templates,
        load_embeddings,
        load_face_manifest,
        load_pair_scores,
        manifest_from_frame,
    )
    from audit.face._pairs import PairStats, score_all_pairs, score_listed_pairs
    from audit.face._synthetic import GroupSpec, synthetic_face_set


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"audit.face.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'audit.face' has no attribute {name!r}")
