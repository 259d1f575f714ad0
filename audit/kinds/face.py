"""The ``face`` kind: face verification per demographic group, the way NIST FRVT Part 3 does
(:func:`audit.face.face_audit`).

Templates come from the platform's pre-computed ``embeddings``, its scores for listed ``pairs``,
or else the built-in face_recognition (dlib) model, which detects and encodes every image.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, Self, cast

from pydantic import Field, ValidationInfo, model_validator

from audit.kinds._entry import AuditKind, HttpRules, PolicyMetrics, ReportProfile
from audit.kinds._spec import (
    STATISTICS,
    CiLevel,
    Cli,
    File,
    KindSpec,
    Progress,
    Reference,
    Resamples,
    Seed,
    ci_level,
    namer,
    reference,
    resamples,
    seed,
    stage,
)

if TYPE_CHECKING:
    from audit.results import ResultDocument

__all__ = ["BUILT_IN_FIELDS", "KIND", "FaceSpec", "default_cache_dir"]

#: Settings that only the built-in model (face_recognition / dlib) uses.
BUILT_IN_FIELDS = ("detector", "upsample", "downscale", "jitters", "multiple_faces", "workers")

_IMAGES = "images"
_MODEL = "the model (default: built-in face_recognition / dlib; or one of)"
_BUILT_IN = "built-in model"
_THRESHOLD = "threshold (one of)"

_Count = Annotated[int, Cli(metavar="N", group=STATISTICS)]


def default_cache_dir() -> Path:
    """``$SOCIALAUDIT_CACHE/face-embeddings``, else ``$XDG_CACHE_HOME`` or ``~/.cache``."""
    base = os.environ.get("SOCIALAUDIT_CACHE")
    if base:
        return Path(base) / "face-embeddings"
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "socialaudit" / "face-embeddings"


class FaceSpec(KindSpec):
    """A face-recognition audit (``socialaudit face``)."""

    kind: Literal["face"] = "face"
    manifest: Annotated[str, File("input"), Cli(metavar="FILE", group=_IMAGES)] = Field(
        description="one row per image: .csv, .tsv, .parquet or .jsonl"
    )
    subject: Annotated[str, Cli(metavar="COL", group=_IMAGES)] = Field(
        "subject_id", description="subject id column"
    )
    image: Annotated[str, Cli(metavar="COL", group=_IMAGES)] = Field(
        "path", description="image path column"
    )
    images_root: Annotated[str | None, File("input"), Cli(metavar="DIR", group=_IMAGES)] = Field(
        None, description="folder relative image paths start from (default: the manifest's)"
    )
    groups: Annotated[list[str], Cli(metavar="COL[,COL...]", group=_IMAGES, csv=True)] = Field(
        min_length=1,
        description="demographic columns of the subject; several give their intersection too",
    )
    embeddings: Annotated[
        str | None, File("input"), Cli(metavar="FILE", group=_MODEL, one_of="templates")
    ] = Field(
        None,
        description="the platform's templates: .npy (row i = manifest row i) or .parquet; an "
        "all-NaN row means no template",
    )
    pairs: Annotated[
        str | None, File("input"), Cli(metavar="FILE", group=_MODEL, one_of="templates")
    ] = Field(
        None,
        description="the platform's scores for listed pairs: columns image_a, image_b, score",
    )
    score_type: Annotated[Literal["similarity", "distance"] | None, Cli(group=_MODEL)] = Field(
        None,
        description="with pairs: is a higher score more alike (similarity, the default) or less?",
    )
    pair_columns: Annotated[list[str] | None, Cli(metavar="A,B,SCORE", group=_MODEL, csv=True)] = (
        Field(None, description="with pairs: the two image columns and the score column")
    )
    detector: Annotated[Literal["hog", "cnn"] | None, Cli(group=_BUILT_IN)] = Field(
        None, description="face detector: hog (default) or cnn (slow)"
    )
    upsample: Annotated[int | None, Cli(metavar="N", group=_BUILT_IN)] = Field(
        None, ge=0, description="upsample before detection (default 1)"
    )
    downscale: Annotated[float | None, Cli(metavar="F", group=_BUILT_IN)] = Field(
        None,
        gt=0.0,
        le=1.0,
        description="shrink images by F before detection; 0.5 is ~4x faster (default 1.0)",
    )
    jitters: Annotated[int | None, Cli(metavar="N", group=_BUILT_IN)] = Field(
        None, ge=1, description="re-samplings per encoding (default 1)"
    )
    multiple_faces: Annotated[Literal["skip", "largest"] | None, Cli(group=_BUILT_IN)] = Field(
        None,
        description="an image with several faces: skip it (default) or use its largest face",
    )
    workers: Annotated[int | None, Cli(metavar="N", group=_BUILT_IN)] = Field(
        None, ge=1, description="encoding processes (default: one per CPU, at most 4)"
    )
    cache_dir: Annotated[str | None, File("output"), Cli(metavar="DIR", group=_BUILT_IN)] = Field(
        None,
        description="embedding cache, keyed by image content (default "
        "$SOCIALAUDIT_CACHE/face-embeddings, else ~/.cache/socialaudit/face-embeddings)",
    )
    no_cache: Annotated[bool, Cli(group=_BUILT_IN)] = Field(
        False, description="do not read or write the embedding cache"
    )
    target_fmr: Annotated[float | None, Cli(metavar="X", group=_THRESHOLD, one_of="threshold")] = (
        Field(
            None,
            gt=0.0,
            lt=1.0,
            description="calibrate one threshold on all impostor pairs to this FMR (default 1e-4)",
        )
    )
    tolerance: Annotated[float | None, Cli(metavar="X", group=_THRESHOLD, one_of="threshold")] = (
        Field(
            None,
            allow_inf_nan=False,
            description="fixed threshold: match when distance <= X (similarity >= X), e.g. 0.6",
        )
    )
    reference: Reference = reference("most subjects")
    resamples: Resamples = resamples("subjects")
    ci_level: CiLevel = ci_level()
    seed: Seed = seed()
    min_genuine_pairs: _Count = Field(
        30, ge=0, description="fewer genuine pairs in a group -> insufficient_evidence"
    )
    min_impostor_pairs: Annotated[int | None, Cli(metavar="N", group=STATISTICS)] = Field(
        None,
        ge=0,
        description="fewer impostor pairs -> insufficient_evidence (default: 3 / operating FMR)",
    )
    min_group_size: _Count = Field(
        10, ge=1, description="groups with fewer subjects are suppressed from the output"
    )
    block_size: _Count = Field(
        512, ge=1, description="templates per scoring block; memory ~ 60 x N^2 bytes per CPU"
    )

    @model_validator(mode="after")
    def _consistent(self, info: ValidationInfo) -> Self:
        """One way to templates, one threshold, and settings that fit them."""
        name = namer(info)
        if self.embeddings and self.pairs:
            raise ValueError(f"give either {name('embeddings')} or {name('pairs')}, not both")
        if self.target_fmr is not None and self.tolerance is not None:
            raise ValueError(f"give either {name('target_fmr')} or {name('tolerance')}, not both")
        given = [f for f in BUILT_IN_FIELDS if getattr(self, f) is not None]
        if (self.embeddings or self.pairs) and given:
            raise ValueError(
                f"{', '.join(map(name, given))} only apply to the built-in model, not with "
                f"{name('embeddings')}/{name('pairs')}"
            )
        if not self.pairs and (self.score_type or self.pair_columns):
            raise ValueError(
                f"{name('score_type')} and {name('pair_columns')} go with {name('pairs')}"
            )
        if self.pair_columns is not None and len(self.pair_columns) != 3:
            raise ValueError(f"{name('pair_columns')} needs three names: A,B,SCORE")
        return self


def run(spec: FaceSpec, progress: Progress | None = None) -> ResultDocument:
    """Run the face audit ``spec`` describes.

    The built-in model reports two stages, ``encoding images`` and ``comparing pairs``.
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
    from audit.metrics import BootstrapSettings

    options = FaceOptions(
        target_fmr=spec.target_fmr,
        tolerance=spec.tolerance,
        reference=spec.reference,
        min_genuine_pairs=spec.min_genuine_pairs,
        min_impostor_pairs=spec.min_impostor_pairs,
        min_group_size=spec.min_group_size,
        bootstrap=BootstrapSettings(spec.resamples, spec.ci_level, spec.seed),
        block=max(16, spec.block_size),
    )
    faces = load_face_manifest(
        spec.manifest,
        groups=list(spec.groups),
        image=spec.image,
        subject=spec.subject,
        images_root=spec.images_root,
    )
    source: Any
    if spec.embeddings:
        source = load_embeddings(spec.embeddings, faces)
    elif spec.pairs:
        a, b, score = spec.pair_columns or ("image_a", "image_b", "score")
        source = load_pair_scores(
            spec.pairs, faces, kind=spec.score_type or "similarity", columns=(a, b, score)
        )
    else:
        encoder = DlibEncoder(
            detector=spec.detector or "hog",
            upsample=1 if spec.upsample is None else spec.upsample,
            downscale=spec.downscale or 1.0,
            jitters=spec.jitters or 1,
        )
        source = encode_manifest(
            faces,
            encoder,
            workers=spec.workers or min(4, os.cpu_count() or 1),
            cache_dir=None if spec.no_cache else (spec.cache_dir or default_cache_dir()),
            multiple_faces=spec.multiple_faces or "skip",
            progress=stage(progress, "encoding images"),
        )
    doc = face_audit(faces, source, options, progress=stage(progress, "comparing pairs"))
    return cast("ResultDocument", doc)


@functools.cache
def policy_metrics() -> PolicyMetrics:
    """What the face audit's group table publishes (:data:`audit.face._audit.TABLE`): FMR,
    FNMR, failure to detect and multiple faces per group, FMR and FNMR against the reference,
    their max and max/min-ratio summaries."""
    from audit.face._audit import TABLE

    return PolicyMetrics.of_tables(TABLE)


def _pairs(doc: Any) -> int:
    """A face scan's records: pairs compared, genuine and impostor."""
    overall = doc.get("overall") or {}
    return int(overall.get("positives", 0)) + int(overall.get("negatives", 0))


_NO_CACHE = "the server keeps no embedding cache (it would hold biometric templates on its disk)"

KIND: AuditKind[FaceSpec] = AuditKind(
    name="face",
    summary="face recognition: detection failures and FMR/FNMR per demographic group",
    description="Audit face verification the way NIST FRVT Part 3 (NIST IR 8280) does: one "
    "threshold for everyone, then per demographic group the false-match rate (impostor "
    "pairs within the group) and false non-match rate (its genuine pairs), with "
    "subject-bootstrap intervals, the max/min FMR ratio, the cross-group FMR matrix, DET "
    "curves, and failure-to-detect rates. Bad images are reported, never fatal.",
    spec=FaceSpec,
    run=run,
    http=HttpRules(
        refused={"cache_dir": _NO_CACHE, "no_cache": _NO_CACHE},
        fixed={"no_cache": True},
        limits={"workers": {"le": 32}, "block_size": {"le": 4096}},
    ),
    policy_metrics=policy_metrics,
    report=ReportProfile("Face recognition", ("fmr", "fnmr", "ftd")),
    scan_records=_pairs,
)
