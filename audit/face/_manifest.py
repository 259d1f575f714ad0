"""Face audit inputs: the manifest, pre-computed embeddings, and the platform's pair scores.

Validation happens here, once. A broken *file* (a missing column, an embedding row count that
does not match, a pair naming an unknown image) raises :class:`~audit.exceptions.DataError`
naming the file, the column and the first bad row. A bad *image* never does: it is recorded in
:class:`Templates` with a status and reported in the result.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from audit.data import file_sha256, read_table
from audit.exceptions import ConfigError, DataError
from audit.inputs import is_s3, join, local_path
from audit.metrics._groups import MISSING

__all__ = [
    "DETECTION_FAILURES",
    "STATUSES",
    "UNREADABLE",
    "FaceManifest",
    "PairScores",
    "Templates",
    "load_embeddings",
    "load_face_manifest",
    "load_pair_scores",
    "manifest_from_frame",
]

#: Status of one manifest row after encoding.
STATUSES = ("ok", "no_face", "multiple_faces", "no_template", "unreadable", "corrupt", "missing")
#: Statuses of images the detector saw but could not turn into one template.
DETECTION_FAILURES = ("no_face", "multiple_faces", "no_template")
#: Statuses of files that could not be read as images at all.
UNREADABLE = ("unreadable", "corrupt", "missing")

ScoreKind = Literal["similarity", "distance"]


@dataclass
class FaceManifest:
    """A validated manifest: one row per image.

    Attributes
    ----------
    frame
        The rows as read.
    image_column, subject_column, group_columns
        Column names.
    root
        Folder (or ``s3://`` prefix) that relative image paths are resolved against.
    source
        The manifest's name as given (for messages).
    subject
        Subject code of each row, ``0 .. S-1``.
    subject_ids
        Subject id (as a string) of each code.
    subject_attributes
        One row per subject code: its demographic columns as strings (missing values become
        ``"<missing>"``).
    inputs
        Files read, with role and SHA-256, for provenance.
    """

    frame: pd.DataFrame
    image_column: str
    subject_column: str
    group_columns: list[str]
    root: Path | str
    source: str
    subject: NDArray[np.int64]
    subject_ids: list[str]
    subject_attributes: pd.DataFrame
    inputs: list[dict[str, str]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.frame)

    @property
    def images(self) -> list[str]:
        """The image column as written."""
        return self.frame[self.image_column].astype(str).tolist()

    def path(self, row: int) -> Path | str:
        """Where a row's image is: a local path or an ``s3://`` URI."""
        image = str(self.frame[self.image_column].iat[row])
        if is_s3(image) or Path(image).is_absolute():
            return image
        return join(self.root, image)


@dataclass
class Templates:
    """Per manifest row: a template (embedding) or the reason there is none.

    Attributes
    ----------
    embeddings
        Shape ``(rows, d)``; rows without a template are NaN.
    status
        One of :data:`STATUSES` per row.
    faces
        Faces the detector found per row (-1 when unknown: unreadable, or embeddings given).
    detail
        A short explanation per row for bad images ('' otherwise).
    model
        Identity of the model that produced the templates (provenance).
    inputs
        Input files beyond the manifest (provenance).
    detected
        Whether a face detector ran (so that failure-to-detect rates are defined).
    """

    embeddings: NDArray[np.float64]
    status: NDArray[np.str_]
    faces: NDArray[np.int64]
    detail: list[str]
    model: dict[str, str]
    inputs: list[dict[str, str]] = field(default_factory=list)
    detected: bool = True

    @property
    def usable(self) -> NDArray[np.bool_]:
        return np.asarray(np.isfinite(self.embeddings).all(axis=1))


@dataclass
class PairScores:
    """The platform's own comparison scores for listed pairs of manifest rows.

    Attributes
    ----------
    row_a, row_b
        Manifest rows (0-based) of each pair.
    score
        The platform's score, in its own scale.
    kind
        ``similarity`` (higher means more alike) or ``distance``.
    bad_pairs
        Pairs left out, with their 1-based row in the pairs file and the reason (no score).
    model, inputs
        Provenance.
    """

    row_a: NDArray[np.int64]
    row_b: NDArray[np.int64]
    score: NDArray[np.float64]
    kind: ScoreKind
    bad_pairs: list[dict[str, object]]
    model: dict[str, str]
    inputs: list[dict[str, str]] = field(default_factory=list)

    @property
    def dissimilarity(self) -> NDArray[np.float64]:
        """Scores turned into dissimilarities: a pair matches when this is <= the threshold."""
        return -self.score if self.kind == "similarity" else self.score


def _first(mask: NDArray[np.bool_] | pd.Series) -> int:
    return int(np.flatnonzero(np.asarray(mask))[0]) + 1


def _require(df: pd.DataFrame, column: str, file: str, flag: str) -> None:
    if column not in df.columns:
        cols = ", ".join(map(str, df.columns[:20]))
        raise DataError(
            f"no column {column!r} (named by {flag}); the file has: {cols}",
            file=file,
            column=column,
        )


def manifest_from_frame(
    frame: pd.DataFrame,
    *,
    groups: list[str],
    image: str = "path",
    subject: str = "subject_id",
    root: str | Path = ".",
    source: str = "manifest",
    inputs: list[dict[str, str]] | None = None,
) -> FaceManifest:
    """Validate a manifest already in memory (see :func:`load_face_manifest`)."""
    if not groups:
        raise ConfigError("name at least one demographic column with --groups")
    for col, flag in ((image, "--image"), (subject, "--subject")):
        _require(frame, col, source, flag)
    for col in groups:
        _require(frame, col, source, "--groups")
    df = frame.reset_index(drop=True)
    img = df[image]
    bad = img.isna() | (img.astype(str).str.strip() == "")
    if bad.any():
        raise DataError(
            "image path is empty; every row needs an image",
            file=source,
            column=image,
            row=_first(bad),
        )
    sid = df[subject]
    if sid.isna().any():
        raise DataError(
            "subject id is missing; every image needs its subject",
            file=source,
            column=subject,
            row=_first(sid.isna()),
        )
    sid = sid.astype(str)
    codes, ids = pd.factorize(sid, sort=True)
    attrs = df[groups].astype("object").where(df[groups].notna(), MISSING).astype(str)
    # Demographics describe the subject: pairs belong to a group through their subjects and
    # the bootstrap resamples subjects, so a subject must not change group between images.
    first = attrs.groupby(codes, sort=True).transform("first")
    clash = (attrs != first).any(axis=1)
    if clash.any():
        row = _first(clash)
        col = next(c for c in groups if attrs[c].iat[row - 1] != first[c].iat[row - 1])
        raise DataError(
            f"subject {sid.iat[row - 1]!r} has {col} = {attrs[col].iat[row - 1]!r} here but "
            f"{first[col].iat[row - 1]!r} on an earlier row; demographic columns describe the "
            "subject and must agree on all of a subject's images",
            file=source,
            column=col,
            row=row,
        )
    per_subject = attrs.groupby(codes, sort=True).first().reset_index(drop=True)
    return FaceManifest(
        frame=df,
        image_column=image,
        subject_column=subject,
        group_columns=list(groups),
        root=root if is_s3(root) else Path(root),
        source=source,
        subject=codes.astype(np.int64),
        subject_ids=[str(x) for x in ids],
        subject_attributes=per_subject,
        inputs=list(inputs or []),
    )


def load_face_manifest(
    path: str | Path,
    *,
    groups: list[str],
    image: str = "path",
    subject: str = "subject_id",
    images_root: str | Path | None = None,
) -> FaceManifest:
    """Read and validate a face manifest.

    Parameters
    ----------
    path
        CSV, TSV, Parquet or JSONL with one row per image.
    groups
        Demographic columns (of the subject).
    image
        Column with the image path, relative to ``images_root``.
    subject
        Column with the subject (identity) id.
    images_root
        Folder of the images; default: the manifest's folder.

    Raises
    ------
    DataError
        Missing file or column, empty image path, missing subject id, or a subject whose
        demographic values differ between its images.
    """
    name = str(path)
    df = read_table(path)
    root: Path | str
    if images_root is not None:
        root = images_root if is_s3(images_root) else Path(images_root)
        if isinstance(root, Path) and not root.is_dir():
            raise ConfigError(f"--images-root {images_root}: no such folder")
    elif is_s3(path):
        root = str(path).rsplit("/", 1)[0]  # the manifest's own prefix
    else:
        root = Path(path).resolve().parent
    return manifest_from_frame(
        df,
        groups=groups,
        image=image,
        subject=subject,
        root=root,
        source=name,
        inputs=[{"role": "manifest", "path": name, "sha256": file_sha256(path)}],
    )


def _embedding_matrix(df: pd.DataFrame, name: str, image: str) -> NDArray[np.float64]:
    if "embedding" in df.columns:
        try:
            rows = [np.asarray(v, dtype=np.float64).ravel() for v in df["embedding"]]
        except (TypeError, ValueError):
            raise DataError("cannot read the vectors", file=name, column="embedding") from None
        lengths = {len(r) for r in rows}
        if len(lengths) != 1:
            first = next(i for i, r in enumerate(rows) if len(r) != len(rows[0])) + 1
            raise DataError(
                f"embeddings differ in length ({sorted(lengths)})",
                file=name,
                column="embedding",
                row=first,
            )
        return np.vstack(rows)
    numeric = df.drop(columns=[c for c in (image,) if c in df.columns])
    bad = [c for c in numeric.columns if not pd.api.types.is_numeric_dtype(numeric[c])]
    if bad:
        raise DataError(
            "expected an 'embedding' column of vectors, or only numeric columns",
            file=name,
            column=str(bad[0]),
        )
    return numeric.to_numpy(np.float64)


def load_embeddings(
    path: str | Path, manifest: FaceManifest, *, model_name: str | None = None
) -> Templates:
    """Templates pre-computed by the platform's own model.

    Parameters
    ----------
    path
        ``.npy`` array of shape ``(rows, d)`` whose row ``i`` belongs to manifest row ``i``; or
        a Parquet file with an ``embedding`` column of vectors (or only numeric columns, one
        per dimension), row-aligned with the manifest or carrying the manifest's image column
        to join on. An all-NaN row means the platform produced no template for that image.
    manifest
        The validated manifest.
    model_name
        How to name the model in the result (default: the file name).

    Raises
    ------
    DataError
        Unreadable file, wrong number of rows, unknown images, partly-NaN or infinite rows.
    """
    name = str(path)
    p = local_path(path)
    if not p.is_file():
        raise DataError("file not found (check the path)", file=name)
    if p.suffix.lower() == ".npy":
        try:
            X = np.load(p, allow_pickle=False)
        except (ValueError, OSError) as exc:
            raise DataError(f"not a numeric .npy array ({exc})", file=name) from None
        if X.dtype.kind not in "fiu":
            raise DataError(f"array has dtype {X.dtype}; expected numbers", file=name)
    elif p.suffix.lower() in (".parquet", ".pq"):
        df = read_table(p)
        X = _embedding_matrix(df, name, manifest.image_column)
        if manifest.image_column in df.columns:
            keys = df[manifest.image_column].astype(str)
            if keys.duplicated().any():
                raise DataError(
                    "an image appears twice",
                    file=name,
                    column=manifest.image_column,
                    row=_first(keys.duplicated()),
                )
            where = pd.Series(np.arange(len(keys)), index=keys.to_numpy())
            images = pd.Series(manifest.images)
            missing = ~images.isin(where.index)
            if missing.any():
                row = _first(missing)
                raise DataError(
                    f"manifest row {row} image {images.iat[row - 1]!r} has no embedding here",
                    file=name,
                    column=manifest.image_column,
                )
            X = X[where.loc[images.to_numpy()].to_numpy()]
    else:
        raise DataError(f"unknown embeddings type {p.suffix!r}; use .npy or .parquet", file=name)
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise DataError(f"expected a 2-d array (rows x dimensions), got shape {X.shape}", file=name)
    if len(X) != len(manifest):
        raise DataError(
            f"{len(X)} embeddings for {len(manifest)} manifest rows; row i must belong to "
            f"manifest row i ({manifest.source})",
            file=name,
        )
    finite = np.isfinite(X)
    partial = finite.any(axis=1) & ~finite.all(axis=1)
    if partial.any() or np.isinf(X).any():
        bad = partial | np.isinf(X).any(axis=1)
        raise DataError(
            "embedding has NaN or infinite values; use an all-NaN row for 'no template'",
            file=name,
            row=_first(bad),
        )
    none = ~finite.all(axis=1)
    status = np.where(none, "no_template", "ok")
    return Templates(
        embeddings=X,
        status=status,
        faces=np.full(len(X), -1, dtype=np.int64),
        detail=["the platform's model produced no template" if x else "" for x in none],
        model={"kind": "embeddings", "path": model_name or name, "sha256": file_sha256(p)},
        inputs=[{"role": "embeddings", "path": name, "sha256": file_sha256(p)}],
        detected=False,
    )


def load_pair_scores(
    path: str | Path,
    manifest: FaceManifest,
    *,
    kind: ScoreKind = "similarity",
    columns: tuple[str, str, str] = ("image_a", "image_b", "score"),
) -> PairScores:
    """The platform's own scores for listed pairs of manifest images.

    Parameters
    ----------
    path
        CSV, TSV, Parquet or JSONL with one row per comparison.
    manifest
        The validated manifest; its image column must be unique.
    kind
        ``similarity`` (higher = more alike; the default) or ``distance``.
    columns
        The two image columns and the score column.

    Raises
    ------
    DataError
        A missing column, an image not in the manifest, a pair of an image with itself, a pair
        listed twice, or a non-numeric score. Missing scores are not errors: the pair is left
        out and reported.
    """
    name = str(path)
    df = read_table(path)
    col_a, col_b, col_s = columns
    for c in columns:
        _require(df, c, name, "--pairs")
    images = pd.Series(manifest.images)
    dup = images.duplicated()
    if dup.any():
        raise DataError(
            "the same image is listed twice, so pairs cannot name images unambiguously",
            file=manifest.source,
            column=manifest.image_column,
            row=_first(dup),
        )
    index = pd.Series(np.arange(len(images)), index=images.to_numpy())
    rows = []
    for c in (col_a, col_b):
        keys = df[c].astype(str)
        unknown = ~keys.isin(index.index)
        if unknown.any():
            row = _first(unknown)
            raise DataError(
                f"image {keys.iat[row - 1]!r} is not in the manifest ({manifest.source})",
                file=name,
                column=c,
                row=row,
            )
        rows.append(index.loc[keys.to_numpy()].to_numpy(np.int64))
    a, b = rows
    same = a == b
    if same.any():
        raise DataError("an image is paired with itself", file=name, column=col_b, row=_first(same))
    key = pd.Series(np.minimum(a, b) * len(images) + np.maximum(a, b))
    if key.duplicated().any():
        raise DataError(
            "this pair is listed twice (in either order); list each pair once",
            file=name,
            column=col_a,
            row=_first(key.duplicated()),
        )
    raw = df[col_s]
    score = pd.to_numeric(raw, errors="coerce")
    not_number = score.isna() & raw.notna()
    if not_number.any():
        row = _first(not_number)
        raise DataError(
            f"score must be a number, found {raw.iat[row - 1]!r}", file=name, column=col_s, row=row
        )
    s = score.to_numpy(np.float64)
    if np.isinf(s).any():
        raise DataError("score is infinite", file=name, column=col_s, row=_first(np.isinf(s)))
    missing = np.isnan(s)
    bad = [{"row": int(i) + 1, "reason": "no_score"} for i in np.flatnonzero(missing)]
    keep = ~missing
    sha = file_sha256(path)
    return PairScores(
        row_a=a[keep],
        row_b=b[keep],
        score=s[keep],
        kind=kind,
        bad_pairs=bad,
        model={"kind": "pair_scores", "path": name, "sha256": sha, "score": kind},
        inputs=[{"role": "pairs", "path": name, "sha256": sha}],
    )
