"""One audit, described as data: the spec the CLI flags and ``audit.yaml`` files both fill in.

Keeping the spec in one pydantic model means a flag and a config key cannot drift apart, and
every value is validated once, with the field named in the error.

The recommendation and face audits are run from their settings by :func:`run_recommendation`
and :func:`run_face`, whose keyword arguments are the CLI flags with underscores. Both the CLI
and the HTTP scans call them, and both check their inputs with
:func:`check_recommendation_inputs` / :func:`check_face_inputs`, each naming the fields its own
way (``--user-groups`` on the command line, ``user_groups`` in a request body). This module
imports no audit engine at the top: the API validates requests with it.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from audit.exceptions import ConfigError

__all__ = [
    "AUDIT_KINDS",
    "FACE_BUILT_IN_FIELDS",
    "AuditSpec",
    "check_face_inputs",
    "check_recommendation_inputs",
    "cli_flag",
    "format_validation_error",
    "run_audit",
    "run_face",
    "run_recommendation",
]

AUDIT_KINDS = ("classification", "moderation")


class AuditSpec(BaseModel):
    """Everything one classification or moderation audit needs (see ``socialaudit KIND -h``)."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["classification", "moderation"]
    name: str | None = None
    data: str
    label: str
    positive_label: str | None = None
    groups: list[str] = Field(min_length=1)
    groups_file: str | None = None
    id: str | None = None
    language: str | None = None
    text: str | None = None
    score: str | None = None
    decision: str | None = None
    model: str | None = None
    threshold: float = Field(0.5, ge=0.0, le=1.0)
    trust_pickle: bool = False
    trust_types: list[str] = Field(default_factory=list)
    batch_size: int = Field(1024, gt=0)
    reference: Literal["largest", "best"] | dict[str, str] = "largest"
    positive_outcome: Literal["adverse", "favourable"] = "adverse"
    resamples: int = Field(1000, ge=0)
    ci_level: float = Field(0.95, gt=0.0, lt=1.0)
    seed: int = 0
    min_positives: int = Field(30, ge=0)
    min_negatives: int = Field(30, ge=0)
    min_group_size: int = Field(10, ge=1)
    metrics: dict[str, str] = Field(default_factory=dict)
    explain: bool = True
    templates: str | None = None
    identities: str | None = None
    out: str | None = None

    @model_validator(mode="after")
    def _one_model(self) -> AuditSpec:
        given = [k for k in ("score", "decision", "model") if getattr(self, k)]
        if len(given) != 1:
            raise ValueError("give exactly one of score, decision or model")
        if bool(self.templates) != bool(self.identities):
            raise ValueError("templates and identities go together")
        if self.templates and self.kind != "moderation":
            raise ValueError("templates are a moderation option")
        return self

    def resolved(self, base: Path) -> AuditSpec:
        """The spec with relative file paths taken relative to ``base`` (a config's folder)."""
        paths = {}
        for key in ("data", "groups_file", "templates", "identities", "out"):
            value = getattr(self, key)
            if value and not Path(value).is_absolute() and "://" not in value:
                paths[key] = str(base / value)
        model_file = (self.model or "").endswith((".skops", ".pkl", ".pickle", ".joblib"))
        if model_file and not Path(self.model or "").is_absolute():
            paths["model"] = str(base / (self.model or ""))
        return self.model_copy(update=paths)


def format_validation_error(exc: ValidationError, where: str) -> str:
    """One line per problem, naming the field: ``where: audits.0.threshold: ...``."""
    lines = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        lines.append(f"{where}: {loc}: {msg}" if loc else f"{where}: {msg}")
    return "\n".join(lines)


def run_audit(
    spec: AuditSpec, progress: Callable[[int, int], None] | None = None
) -> dict[str, Any]:
    """Load the data and the model named by ``spec``, run the audit, return the result."""
    from audit.classification import ClassificationOptions, classification_audit
    from audit.data import load_labelled_set
    from audit.metrics import BootstrapSettings, EngineSettings

    data = load_labelled_set(
        spec.data,
        label=spec.label,
        groups=spec.groups,
        score=spec.score,
        decision=spec.decision,
        id_column=spec.id,
        groups_file=spec.groups_file,
        language=spec.language,
        text=spec.text,
        positive_label=spec.positive_label,
    )
    options = ClassificationOptions(
        threshold=spec.threshold,
        engine=EngineSettings(
            reference=spec.reference,
            positive_outcome=spec.positive_outcome,
            min_positives=spec.min_positives,
            min_negatives=spec.min_negatives,
            min_group_size=spec.min_group_size,
            bootstrap=BootstrapSettings(spec.resamples, spec.ci_level, spec.seed),
        ),
        custom_metrics=spec.metrics,
        explain=spec.explain,
        batch_size=spec.batch_size,
    )
    model = None
    if spec.model:
        from audit.models import load_model

        model = load_model(
            spec.model,
            text_column=spec.text,
            trust_pickle=spec.trust_pickle,
            trusted_types=tuple(spec.trust_types),
        )
    if spec.kind == "moderation":
        from audit.moderation import load_identity_templates, moderation_audit

        suite = None
        if spec.templates and spec.identities:
            suite = load_identity_templates(spec.templates, spec.identities)
        return moderation_audit(data, model, options, templates=suite, progress=progress)
    if spec.text and model is None:
        raise ConfigError("text is only used by a model: give model as well")
    return classification_audit(data, model, options, progress=progress)


# --------------------------------------------------------------------------- recommendation, face

Reference = Literal["largest", "best"] | Mapping[str, str]
#: How a boundary names a field in its messages: ``cli_flag`` on the command line, ``str`` (the
#: field name itself) in an HTTP request body.
FieldName = Callable[[str], str]
#: Face settings that only the built-in model (face_recognition / dlib) uses.
FACE_BUILT_IN_FIELDS = ("detector", "upsample", "downscale", "jitters", "multiple_faces", "workers")


def cli_flag(field: str) -> str:
    """``user_groups`` -> ``--user-groups``: how the CLI names a field."""
    return "--" + field.replace("_", "-")


def check_recommendation_inputs(values: Mapping[str, Any], name: FieldName = cli_flag) -> None:
    """Check that ``values`` name one way into a recommendation audit, lists or a model.

    Parameters
    ----------
    values
        The settings by field name (missing fields count as not given).
    name
        How to name a field in the message.

    Raises
    ------
    ConfigError
        Both ways or neither, half of one, or ``popularity_col`` with a model.
    """
    given = {k for k in ("recommendations", "truth", "model", "interactions") if values.get(k)}
    recs, truth, model, log = map(name, ("recommendations", "truth", "model", "interactions"))
    lists = bool(given & {"recommendations", "truth"})
    trained = bool(given & {"model", "interactions"})
    if lists and trained:
        raise ConfigError(f"give either {recs} and {truth}, or {model} and {log}")
    if not lists and not trained:
        raise ConfigError(
            f"nothing to audit: give {recs} and {truth} (the platform's lists), or {model} and "
            f"{log}"
        )
    if lists and not {"recommendations", "truth"} <= given:
        raise ConfigError(f"{recs} and {truth} go together")
    if trained and not {"model", "interactions"} <= given:
        raise ConfigError(f"{model} and {log} go together")
    if values.get("popularity_col") and trained:
        raise ConfigError(
            f"{name('popularity_col')} is for {recs}; with {model} popularity is counted from "
            "the training split"
        )


def run_recommendation(
    *,
    users: str,
    user_groups: Sequence[str],
    recommendations: str | None = None,
    truth: str | None = None,
    model: str | None = None,
    interactions: str | None = None,
    holdout: int = 1,
    batch_size: int = 1024,
    items: str | None = None,
    creator_group: Sequence[str] = (),
    popularity_col: str | None = None,
    user_col: str = "user_id",
    item_col: str = "item_id",
    rank_col: str = "rank",
    rating_col: str = "rating",
    time_col: str = "timestamp",
    k: int = 10,
    relevance_threshold: float | None = None,
    graded: bool = False,
    reference: Reference = "largest",
    resamples: int = 1000,
    ci_level: float = 0.95,
    seed: int = 0,
    min_users: int = 30,
    min_positives: int = 30,
    min_group_size: int = 10,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Run a recommendation audit named by the settings of ``socialaudit recommendation``.

    Either the platform's ranked lists (``recommendations`` + ``truth``), or a recommender
    (``model``: ``popularity``, ``itemknn``, ``puresvd`` or ``package.module:name``) trained
    and asked for top-k lists on a time split of ``interactions``. Each argument is the CLI
    flag of the same name (see ``socialaudit recommendation -h``); ``reference`` is already
    parsed (``largest``, ``best`` or ``{attribute: group}``).

    Returns
    -------
    dict
        The result document of :func:`audit.recommendation.recommendation_audit`.

    Raises
    ------
    ConfigError
        The inputs do not name one way in (:func:`check_recommendation_inputs`), or a bad
        setting.
    DataError
        A file or column cannot be used.
    ModelError
        ``model`` cannot be loaded.
    """
    from audit.metrics import BootstrapSettings
    from audit.recommendation import (
        Columns,
        RecommendationOptions,
        Relevance,
        evaluation_from_lists,
        evaluation_from_model,
        load_recommender,
        recommendation_audit,
    )

    check_recommendation_inputs(
        {
            "recommendations": recommendations,
            "truth": truth,
            "model": model,
            "interactions": interactions,
            "popularity_col": popularity_col,
        }
    )
    options = RecommendationOptions(
        k=k,
        reference=reference,
        min_users=min_users,
        min_positives=min_positives,
        min_group_size=min_group_size,
        bootstrap=BootstrapSettings(resamples, ci_level, seed),
    )
    common: dict[str, Any] = {
        "user_groups": list(user_groups),
        "items": items,
        "creator_groups": list(creator_group),
        "columns": Columns(user_col, item_col, rank_col, rating_col, time_col),
        "relevance": Relevance(relevance_threshold, graded),
        "k": k,
    }
    if recommendations and truth:
        ev = evaluation_from_lists(
            recommendations, truth, users, popularity_column=popularity_col, **common
        )
    else:
        assert model and interactions  # checked above
        ev = evaluation_from_model(
            load_recommender(model, seed=seed),
            interactions,
            users,
            holdout=holdout,
            batch_size=batch_size,
            progress=progress,
            **common,
        )
    return recommendation_audit(ev, options)


def check_face_inputs(values: Mapping[str, Any], name: FieldName = cli_flag) -> None:
    """Check that ``values`` name one face model and one threshold, with settings that fit.

    Parameters
    ----------
    values
        The settings by field name (missing fields count as not given).
    name
        How to name a field in the message.

    Raises
    ------
    ConfigError
        No group column; both ``embeddings`` and ``pairs``; both ``target_fmr`` and
        ``tolerance``; built-in model settings with ``embeddings`` or ``pairs``;
        ``score_type`` or ``pair_columns`` without ``pairs``; ``pair_columns`` not three names.
    """
    if not values.get("groups"):
        raise ConfigError(f"{name('groups')} needs at least one column")
    if values.get("embeddings") and values.get("pairs"):
        raise ConfigError(f"give either {name('embeddings')} or {name('pairs')}, not both")
    if values.get("target_fmr") is not None and values.get("tolerance") is not None:
        raise ConfigError(f"give either {name('target_fmr')} or {name('tolerance')}, not both")
    given = [f for f in FACE_BUILT_IN_FIELDS if values.get(f) is not None]
    if (values.get("embeddings") or values.get("pairs")) and given:
        raise ConfigError(
            f"{', '.join(map(name, given))} only apply to the built-in model, not with "
            f"{name('embeddings')}/{name('pairs')}"
        )
    if not values.get("pairs") and (values.get("score_type") or values.get("pair_columns")):
        raise ConfigError(
            f"{name('score_type')} and {name('pair_columns')} go with {name('pairs')}"
        )
    pair_columns = values.get("pair_columns")
    if pair_columns is not None and len(pair_columns) != 3:
        raise ConfigError(f"{name('pair_columns')} needs three names: A,B,SCORE")


def run_face(
    *,
    manifest: str,
    groups: Sequence[str],
    subject: str = "subject_id",
    image: str = "path",
    images_root: str | None = None,
    embeddings: str | None = None,
    pairs: str | None = None,
    score_type: Literal["similarity", "distance"] | None = None,
    pair_columns: Sequence[str] | None = None,
    detector: Literal["hog", "cnn"] | None = None,
    upsample: int | None = None,
    downscale: float | None = None,
    jitters: int | None = None,
    multiple_faces: Literal["skip", "largest"] | None = None,
    workers: int | None = None,
    cache_dir: str | Path | None = None,
    target_fmr: float | None = None,
    tolerance: float | None = None,
    reference: Reference = "largest",
    resamples: int = 1000,
    ci_level: float = 0.95,
    seed: int = 0,
    min_genuine_pairs: int = 30,
    min_impostor_pairs: int | None = None,
    min_group_size: int = 10,
    block_size: int = 512,
    progress: Callable[[str, int, int], None] | None = None,
) -> dict[str, Any]:
    """Run a face audit named by the settings of ``socialaudit face``.

    Templates come from the platform's pre-computed ``embeddings``, or the platform's scores
    for listed ``pairs``, or else from the built-in face_recognition model (slow: every image
    is detected and encoded). Each argument is the CLI flag of the same name (see
    ``socialaudit face -h``), with these differences: ``reference`` is already parsed;
    ``cache_dir`` is the embedding cache to use, ``None`` for none (the CLI resolves its
    default and ``--no-cache``); ``progress`` is called with ``(stage, done, total)``, stage
    ``"encoding images"`` or ``"comparing pairs"``.

    Returns
    -------
    dict
        The result document of :func:`audit.face.face_audit`.

    Raises
    ------
    ConfigError
        Settings that do not fit together (:func:`check_face_inputs`) or a bad setting.
    DataError
        A file or column cannot be used.
    """
    from audit.face import (
        DlibEncoder,
        FaceOptions,
        encode_manifest,
        face_audit,
        load_embeddings,
        load_face_manifest,
        load_pair_scores,
    )
    from audit.metrics._bootstrap import BootstrapSettings

    check_face_inputs(
        {
            "groups": groups,
            "embeddings": embeddings,
            "pairs": pairs,
            "score_type": score_type,
            "pair_columns": pair_columns,
            "target_fmr": target_fmr,
            "tolerance": tolerance,
            "detector": detector,
            "upsample": upsample,
            "downscale": downscale,
            "jitters": jitters,
            "multiple_faces": multiple_faces,
            "workers": workers,
        }
    )

    def stage(label: str) -> Callable[[int, int], None] | None:
        return None if progress is None else functools.partial(progress, label)

    options = FaceOptions(
        target_fmr=target_fmr,
        tolerance=tolerance,
        reference=reference,
        min_genuine_pairs=min_genuine_pairs,
        min_impostor_pairs=min_impostor_pairs,
        min_group_size=min_group_size,
        bootstrap=BootstrapSettings(resamples, ci_level, seed),
        block=max(16, block_size),
    )
    faces = load_face_manifest(
        manifest, groups=list(groups), image=image, subject=subject, images_root=images_root
    )
    source: Any
    if embeddings:
        source = load_embeddings(embeddings, faces)
    elif pairs:
        a, b, score = pair_columns or ("image_a", "image_b", "score")
        source = load_pair_scores(
            pairs, faces, kind=score_type or "similarity", columns=(a, b, score)
        )
    else:
        encoder = DlibEncoder(
            detector=detector or "hog",
            upsample=1 if upsample is None else upsample,
            downscale=downscale or 1.0,
            jitters=jitters or 1,
        )
        source = encode_manifest(
            faces,
            encoder,
            workers=workers or min(4, os.cpu_count() or 1),
            cache_dir=cache_dir,
            multiple_faces=multiple_faces or "skip",
            progress=stage("encoding images"),
        )
    return face_audit(faces, source, options, progress=stage("comparing pairs"))
