"""Turning images into templates: detection and encoding, cached and in parallel.

The built-in model is face_recognition 1.3.0 over dlib (HOG or CNN detector, then the 128-d
ResNet encoder). Any other model plugs in through :class:`FaceEncoder`. dlib and
face_recognition are imported only inside the worker that encodes, so importing :mod:`audit`
stays fast.

Images are read here, not by the model, so that every model sees the same pixels (EXIF
orientation applied, converted to RGB) and every unreadable file is classified the same way:
``missing`` (no such file), ``unreadable`` (not an image) or ``corrupt`` (truncated or broken).

Encodings are cached per image *content* (SHA-256 of the bytes) and model settings, so renaming
or re-listing images costs nothing, and an edited image is encoded afresh.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import tempfile
import warnings
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from audit.exceptions import ConfigError, ModelError
from audit.inputs import read_bytes

if TYPE_CHECKING:
    from audit.face._manifest import FaceManifest, Templates

__all__ = [
    "DlibEncoder",
    "FaceEncoder",
    "Faces",
    "encode_manifest",
    "read_image",
]

Progress = Callable[[int, int], None]
MultiplePolicy = Literal["skip", "largest"]


@dataclass(frozen=True)
class Faces:
    """What a model found in one image.

    Attributes
    ----------
    boxes
        ``(k, 4)`` face boxes as ``(top, right, bottom, left)`` pixels.
    encodings
        ``(k, d)`` templates, one per box.
    """

    boxes: NDArray[np.float64]
    encodings: NDArray[np.float64]


@runtime_checkable
class FaceEncoder(Protocol):
    """A face model: finds the faces in an RGB image and encodes each.

    Implementations must be picklable (they are sent to worker processes) and deterministic.
    """

    def identity(self) -> dict[str, str]:
        """Name, settings and versions: the provenance entry and part of the cache key."""
        ...

    def encode(self, image: NDArray[np.uint8]) -> Faces:
        """Faces in an ``(h, w, 3)`` uint8 RGB image."""
        ...


def _version(*names: str) -> str:
    for name in names:
        with contextlib.suppress(metadata.PackageNotFoundError):
            return f"{name} {metadata.version(name)}"
    return "not installed"


_FR: Any = None


def _face_recognition() -> Any:
    """Import face_recognition, turning its silent ``quit()`` into a clear error."""
    global _FR
    if _FR is not None:
        return _FR
    hint = (
        'install it with: pip install dlib-bin==20.0.1.post1 "setuptools<82" Click Pillow '
        "face_recognition_models==0.3.0 && pip install --no-deps face-recognition==1.3.0"
    )
    out = io.StringIO()
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(out):
            warnings.simplefilter("ignore")  # pkg_resources' deprecation warning
            try:
                import pkg_resources  # noqa: F401  # face_recognition_models needs it
            except ImportError:
                raise ModelError(
                    "the built-in face model needs pkg_resources, which setuptools 82 "
                    f'removed; run: pip install "setuptools<82". To use it, {hint}'
                ) from None
            import face_recognition
    except ImportError as exc:
        raise ModelError(f"the built-in face model is not installed ({exc}); {hint}") from None
    except SystemExit:  # face_recognition prints a message and calls quit() (exit status 0)
        raise ModelError(
            f"face_recognition could not load its models ({out.getvalue().strip()}); {hint}"
        ) from None
    _FR = face_recognition
    return _FR


@dataclass(frozen=True)
class DlibEncoder:
    """face_recognition 1.3.0 (dlib): a detector, then the 128-d ResNet face encoder.

    Attributes
    ----------
    detector
        ``hog`` (CPU, the default) or ``cnn`` (dlib's MMOD detector: more robust, ~5-10x
        slower on a CPU).
    upsample
        Times the image is upsampled before detection (finds smaller faces, slower).
    downscale
        Factor (0, 1] applied before detection only; boxes are mapped back and encoding uses
        the full image. 0.5 makes HOG about 4x faster, at the cost of faces below ~80 px.
    jitters
        Re-samplings averaged per encoding (1 = face_recognition's default).
    landmarks
        ``small`` (5-point, the default) or ``large`` (68-point) landmark model for alignment.
    """

    detector: Literal["hog", "cnn"] = "hog"
    upsample: int = 1
    downscale: float = 1.0
    jitters: int = 1
    landmarks: Literal["small", "large"] = "small"

    def __post_init__(self) -> None:
        if self.detector not in ("hog", "cnn"):
            raise ConfigError(f"detector must be hog or cnn, got {self.detector!r}")
        if not 0.0 < self.downscale <= 1.0:
            raise ConfigError(f"downscale must lie in (0, 1], got {self.downscale}")
        if self.upsample < 0 or self.jitters < 1:
            raise ConfigError("upsample must be >= 0 and jitters >= 1")

    def identity(self) -> dict[str, str]:
        return {
            "kind": "face_recognition",
            **{k: str(v) for k, v in asdict(self).items()},
            "face_recognition": _version("face-recognition", "face_recognition"),
            "dlib": _version("dlib-bin", "dlib"),
            "face_recognition_models": _version("face_recognition_models"),
        }

    def encode(self, image: NDArray[np.uint8]) -> Faces:
        fr = _face_recognition()
        h, w = image.shape[:2]
        small = image
        if self.downscale < 1.0:
            from PIL import Image

            size = (max(1, round(w * self.downscale)), max(1, round(h * self.downscale)))
            small = np.asarray(Image.fromarray(image).resize(size, Image.Resampling.BILINEAR))
        locs = fr.face_locations(
            small, number_of_times_to_upsample=self.upsample, model=self.detector
        )
        if self.downscale < 1.0:
            f = 1.0 / self.downscale
            locs = [
                (
                    max(0, round(t * f)),
                    min(w - 1, round(r * f)),
                    min(h - 1, round(b * f)),
                    max(0, round(left * f)),
                )
                for t, r, b, left in locs
            ]
        if not locs:
            return Faces(np.zeros((0, 4)), np.zeros((0, 128)))
        enc = fr.face_encodings(
            image, known_face_locations=locs, num_jitters=self.jitters, model=self.landmarks
        )
        return Faces(np.asarray(locs, dtype=np.float64), np.asarray(enc, dtype=np.float64))


def read_image(data: bytes) -> NDArray[np.uint8]:
    """Decode image bytes to an ``(h, w, 3)`` RGB array, EXIF orientation applied.

    Raises
    ------
    PIL.UnidentifiedImageError
        Not an image.
    OSError, SyntaxError, ValueError
        A truncated or broken image.
    """
    from PIL import Image, ImageFile, ImageOps

    # face_recognition sets this to True on import, which decodes a truncated file with a grey
    # bottom and no error; a damaged image must be reported, not half-used.
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    with Image.open(io.BytesIO(data)) as im:
        im.load()
        upright = ImageOps.exif_transpose(im)
        return np.asarray(upright.convert("RGB"))


@dataclass(frozen=True)
class _Result:
    status: str  # "ok" (any number of faces), "unreadable", "corrupt" or "missing"
    boxes: NDArray[np.float64]
    encodings: NDArray[np.float64]
    detail: str = ""


_NONE = (np.zeros((0, 4)), np.zeros((0, 0)))


def _cache_file(cache_dir: Path, encoder: FaceEncoder, digest: str) -> Path:
    key = hashlib.sha256(
        (json.dumps(encoder.identity(), sort_keys=True) + digest).encode()
    ).hexdigest()
    return cache_dir / key[:2] / f"{key}.npz"


def _load_cached(path: Path) -> _Result | None:
    try:
        with np.load(path, allow_pickle=False) as z:
            return _Result(str(z["status"]), z["boxes"], z["encodings"], str(z["detail"]))
    except (OSError, ValueError, KeyError):
        return None  # absent or damaged: encode again


def _store(path: Path, result: _Result) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(
                fh,
                status=np.array(result.status),
                boxes=result.boxes,
                encodings=result.encodings,
                detail=np.array(result.detail),
            )
        os.replace(tmp, path)  # atomic: concurrent workers never see half a file
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def _encode_file(path: str, encoder: FaceEncoder, cache_dir: str | None) -> _Result:
    """Read, hash, look up, detect and encode one image. Runs in a worker process."""
    from PIL import Image, UnidentifiedImageError

    try:
        data = read_bytes(path)
    except FileNotFoundError:
        return _Result("missing", *_NONE, "file not found")
    except OSError as exc:
        return _Result("unreadable", *_NONE, f"cannot read the file ({exc.strerror or exc})")
    cached = None
    if cache_dir is not None:
        cached = _cache_file(Path(cache_dir), encoder, hashlib.sha256(data).hexdigest())
        hit = _load_cached(cached)
        if hit is not None:
            return hit
    try:
        image = read_image(data)
    except UnidentifiedImageError:
        result = _Result("unreadable", *_NONE, "not an image file Pillow can read")
    except Image.DecompressionBombError as exc:
        result = _Result("unreadable", *_NONE, f"refused: {exc}")
    except (OSError, SyntaxError, ValueError) as exc:
        result = _Result("corrupt", *_NONE, f"broken image data ({exc})")
    else:
        faces = encoder.encode(image)
        result = _Result("ok", faces.boxes, faces.encodings)
    if cached is not None:
        _store(cached, result)
    return result


def _run(
    paths: list[str],
    encoder: FaceEncoder,
    cache_dir: str | None,
    workers: int,
    progress: Progress | None,
) -> list[_Result]:
    out: list[_Result | None] = [None] * len(paths)
    if workers <= 1 or len(paths) <= 1:
        for i, p in enumerate(paths):
            out[i] = _encode_file(p, encoder, cache_dir)
            if progress is not None:
                progress(i + 1, len(paths))
    else:
        import multiprocessing

        # spawn, not fork: the parent may hold threads (BLAS, a progress bar), and dlib must be
        # imported fresh in each worker. AWS Lambda has no /dev/shm: use workers=1 there.
        ctx = multiprocessing.get_context("spawn")
        try:
            with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
                futures = {
                    pool.submit(_encode_file, p, encoder, cache_dir): i for i, p in enumerate(paths)
                }
                for done, fut in enumerate(as_completed(futures), start=1):
                    out[futures[fut]] = fut.result()
                    if progress is not None:
                        progress(done, len(paths))
        except BrokenProcessPool:
            raise ModelError(
                "an encoding worker process died (out of memory, or started from a script "
                "without an `if __name__ == '__main__':` guard); retry with workers=1 "
                "(--workers 1)"
            ) from None
    return [r for r in out if r is not None]


def encode_manifest(
    manifest: FaceManifest,
    encoder: FaceEncoder | None = None,
    *,
    workers: int = 1,
    cache_dir: str | Path | None = None,
    multiple_faces: MultiplePolicy = "skip",
    progress: Progress | None = None,
) -> Templates:
    """Detect and encode every image of a manifest.

    Parameters
    ----------
    manifest
        The validated manifest.
    encoder
        The face model; default :class:`DlibEncoder` with HOG.
    workers
        Processes to encode with (1: in this process).
    cache_dir
        Folder of the embedding cache, keyed by image content and model settings; ``None``
        disables it.
    multiple_faces
        An image with several faces is ``skip``-ped (no template; the default) or contributes
        its ``largest`` face. Either way it is counted and listed.
    progress
        Called with ``(images_done, images_total)``.

    Returns
    -------
    Templates
        One entry per manifest row; bad images have a status and no template, never an error.
    """
    from audit.face._manifest import Templates

    if multiple_faces not in ("skip", "largest"):
        raise ConfigError(f"multiple_faces must be skip or largest, got {multiple_faces!r}")
    if workers < 1:
        raise ConfigError(f"workers must be at least 1, got {workers}")
    encoder = encoder if encoder is not None else DlibEncoder()
    rows = [str(manifest.path(i)) for i in range(len(manifest))]
    unique = list(dict.fromkeys(rows))
    results = _run(
        unique, encoder, None if cache_dir is None else str(cache_dir), workers, progress
    )
    by_path = dict(zip(unique, results, strict=True))

    n = len(rows)
    dim = max((r.encodings.shape[1] for r in results if r.encodings.size), default=128)
    emb = np.full((n, dim), np.nan)
    status = np.empty(n, dtype=object)
    faces = np.full(n, -1, dtype=np.int64)
    detail: list[str] = []
    for i, p in enumerate(rows):
        r = by_path[p]
        if r.status != "ok":
            status[i] = r.status
            detail.append(r.detail)
            continue
        k = len(r.boxes)
        faces[i] = k
        if k == 0:
            status[i] = "no_face"
            detail.append("no face found")
        elif k == 1:
            status[i] = "ok"
            emb[i] = r.encodings[0]
            detail.append("")
        else:
            status[i] = "multiple_faces"
            if multiple_faces == "largest":
                t, right, b, left = r.boxes.T
                emb[i] = r.encodings[int(np.argmax((b - t) * (right - left)))]
                detail.append(f"{k} faces; the largest was used")
            else:
                detail.append(f"{k} faces; not compared")
    return Templates(
        embeddings=emb,
        status=status.astype(str),
        faces=faces,
        detail=detail,
        model={**encoder.identity(), "multiple_faces": multiple_faces},
        detected=True,
    )
