"""An example value for every field of every scan request, for the OpenAPI document (and so
for ``/docs``' "Try it out"): one valid request per kind, and examples of the optional fields
it leaves out.

Local paths are under ``/srv/socialaudit/data`` (a data root the server would be given); on AWS
they would be ``s3://`` URIs. ``tests/functional/test_console.py`` checks that every field has
one and that each kind's :data:`REQUEST_EXAMPLES` body is a valid request.
"""

from __future__ import annotations

from typing import Any

__all__ = ["FIELD_EXAMPLES", "REQUEST_EXAMPLES", "field_example"]

_DATA = "/srv/socialaudit/data"

#: One valid request per kind (files aside: they need not exist to show the shape).
REQUEST_EXAMPLES: dict[str, dict[str, Any]] = {
    "inventory": {"kind": "inventory", "source": f"{_DATA}/posts/", "text_field": "text"},
    "classification": {
        "kind": "classification",
        "name": "credit model, Q3",
        "data": f"{_DATA}/test-set.csv",
        "label": "label",
        "groups": ["gender", "age_band"],
        "score": "score",
        "policy": "policies/default.yaml",
    },
    "moderation": {
        "kind": "moderation",
        "name": "toxicity classifier, weekly",
        "data": f"{_DATA}/comments.csv",
        "label": "toxic",
        "groups": ["identity"],
        "score": "toxicity",
        "language": "lang",
        "policy": "policies/dsa-moderation.yaml",
    },
    "recommendation": {
        "kind": "recommendation",
        "name": "home feed",
        "recommendations": f"{_DATA}/recs.csv",
        "truth": f"{_DATA}/truth.csv",
        "users": f"{_DATA}/users.csv",
        "user_groups": ["gender"],
        "items": f"{_DATA}/items.csv",
        "creator_group": ["studio"],
    },
    "ads": {
        "kind": "ads",
        "name": "housing ads",
        "impressions": f"{_DATA}/impressions.csv",
        "audience": f"{_DATA}/audience.csv",
        "groups": ["gender"],
    },
    "face": {
        "kind": "face",
        "name": "face verification, release 12",
        "manifest": f"{_DATA}/faces.csv",
        "groups": ["skin_type"],
        "embeddings": f"{_DATA}/embeddings.npy",
        "target_fmr": 0.0001,
    },
    "pii": {
        "kind": "pii",
        "name": "stored posts, weekly",
        "source": f"{_DATA}/posts/",
        "text_field": "text",
        "id_field": "id",
    },
}

#: Examples of the fields a request example leaves out, by field (the same for every kind).
FIELD_EXAMPLES: dict[str, Any] = {
    "name": "weekly audit",
    "policy": "policies/default.yaml",
    "positive_label": "yes",
    "groups_file": f"{_DATA}/groups.csv",
    "id": "row_id",
    "text": "comment_text",
    "language": "lang",
    "decision": "removed",
    "model": "https://models.internal.example/score",
    "templates": f"{_DATA}/identity_templates.csv",
    "identities": f"{_DATA}/identity_terms.csv",
    "interactions": f"{_DATA}/ratings.csv",
    "popularity_col": "plays",
    "relevance_threshold": 4.0,
    "images_root": f"{_DATA}/faces/",
    "pairs": f"{_DATA}/pairs.csv",
    "score_type": "similarity",
    "pair_columns": ["image_a", "image_b", "score"],
    "detector": "hog",
    "upsample": 1,
    "downscale": 0.5,
    "jitters": 1,
    "workers": 2,
    "multiple_faces": "skip",
    "tolerance": 0.6,
    "min_impostor_pairs": 30000,
    "sample": {"objects": 0.1, "records_per_object": 1000, "random_start": True, "seed": 7},
    "findings": f"{_DATA}/findings/",
    "redact_to": f"{_DATA}/redacted/",
    "config": "policies/pii-default.yaml",
    "reference": "largest",
}

_MODEL_EXAMPLES = {"recommendation": "popularity"}


def field_example(kind: str, name: str, default: Any) -> Any:
    """The example of field ``name`` of ``kind``'s request: from its request example, else
    :data:`FIELD_EXAMPLES`, else its default (``None`` when it has none of these)."""
    if name == "model" and kind in _MODEL_EXAMPLES:
        return _MODEL_EXAMPLES[kind]
    body = REQUEST_EXAMPLES.get(kind, {})
    if name in body:
        return body[name]
    if name in FIELD_EXAMPLES:
        return FIELD_EXAMPLES[name]
    return default
