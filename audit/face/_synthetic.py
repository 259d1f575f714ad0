"""Synthetic face templates with planted per-group genuine and impostor distributions.

No registry package ships labelled face images with demographics, so the statistics of the
face audit are tested on templates whose per-group behaviour is set by hand: if a group is
planted with closer impostors, the audit must find a higher FMR for it, and so on.

The model (all vectors in ``R^dim``; ``z ~ N(0, I / dim)`` so that ``|z1 - z2| ~ sqrt(2)``):

* group ``g`` has a centre ``c_g = separation x z_g``;
* subject ``s`` of ``g`` has a centroid ``c_g + tau_g a_s z_s`` and an image spread
  ``sigma_g b_s``, where ``a_s, b_s`` are log-normal with log-sd ``spread`` (some subjects are
  harder to tell apart, some vary more between photos: Doddington's "zoo", 1998);
* an image is ``centroid + sigma_g b_s z``.

Two images of one subject are then about ``sqrt(2) sigma_g`` apart and two subjects of one group
about ``sqrt(2 tau_g^2 + 2 sigma_g^2)``; :class:`GroupSpec` takes those two *distances* and
solves for ``sigma_g`` and ``tau_g``. Subjects of different groups are further apart by the
centre distance, as NIST IR 8280 found cross-demographic impostor scores to be.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from audit.exceptions import ConfigError
from audit.face._manifest import FaceManifest, Templates, manifest_from_frame

__all__ = ["GroupSpec", "synthetic_face_set"]


@dataclass(frozen=True)
class GroupSpec:
    """Planted behaviour of one synthetic demographic group.

    Attributes
    ----------
    subjects
        Subjects in the group.
    images_per_subject
        Images per subject.
    genuine_distance
        Typical distance between two images of one subject (higher: more false non-matches).
    impostor_distance
        Typical distance between two subjects of this group (lower: more false matches).
        Must exceed ``genuine_distance``.
    ftd_rate
        Share of images the "detector" finds no face in (no template).
    spread
        Log-sd of the per-subject variability of both distances.
    """

    subjects: int = 100
    images_per_subject: int = 4
    genuine_distance: float = 0.4
    impostor_distance: float = 0.9
    ftd_rate: float = 0.0
    spread: float = 0.15

    def scales(self) -> tuple[float, float]:
        """``(sigma, tau)``: image spread and subject spread giving the planted distances."""
        if not 0 < self.genuine_distance < self.impostor_distance:
            raise ConfigError("need 0 < genuine_distance < impostor_distance")
        sigma = self.genuine_distance / math.sqrt(2.0)
        tau = math.sqrt(self.impostor_distance**2 / 2.0 - sigma**2)
        return sigma, tau


def synthetic_face_set(
    groups: Mapping[str | tuple[str, ...], GroupSpec],
    *,
    attributes: Sequence[str] = ("group",),
    dim: int = 128,
    separation: float = 0.5,
    seed: int = 0,
) -> tuple[FaceManifest, Templates]:
    """A manifest and templates with the planted group behaviour.

    Parameters
    ----------
    groups
        ``{group: spec}``; with several ``attributes``, keys are tuples of their values.
    attributes
        Names of the demographic columns.
    dim
        Template dimension (128, like face_recognition's).
    separation
        Scale of the distance between group centres.
    seed
        Random seed; the same seed gives the same set.

    Returns
    -------
    (FaceManifest, Templates)
        Rows are images (``path``, ``subject_id`` and the attribute columns); templates of
        "undetected" images are NaN with status ``no_face``.

    Examples
    --------
    >>> m, t = synthetic_face_set({"a": GroupSpec(subjects=3, images_per_subject=2)})
    >>> len(m), t.embeddings.shape
    (6, (6, 128))
    """
    rng = np.random.default_rng(seed)
    frames, blocks, missing = [], [], []
    for key, spec in groups.items():
        values = key if isinstance(key, tuple) else (key,)
        if len(values) != len(attributes):
            raise ConfigError(f"group {key!r} does not give one value per attribute {attributes}")
        label = "-".join(values)
        sigma, tau = spec.scales()
        centre = separation * rng.normal(0.0, 1.0 / math.sqrt(dim), dim)
        a = np.exp(spec.spread * rng.standard_normal(spec.subjects))
        b = np.exp(spec.spread * rng.standard_normal(spec.subjects))
        centroid = centre + (tau * a)[:, None] * rng.normal(
            0.0, 1.0 / math.sqrt(dim), (spec.subjects, dim)
        )
        k = spec.images_per_subject
        noise = rng.normal(0.0, 1.0 / math.sqrt(dim), (spec.subjects, k, dim))
        images = centroid[:, None, :] + (sigma * b)[:, None, None] * noise
        blocks.append(images.reshape(-1, dim))
        missing.append(rng.random(spec.subjects * k) < spec.ftd_rate)
        subject_ids = np.repeat([f"{label}-{i:05d}" for i in range(spec.subjects)], k)
        frame = pd.DataFrame(
            {
                "path": [
                    f"synthetic/{s}/{j}.jpg"
                    for s, j in zip(subject_ids, np.tile(range(k), spec.subjects), strict=True)
                ],
                "subject_id": subject_ids,
            }
        )
        for col, v in zip(attributes, values, strict=True):
            frame[col] = v
        frames.append(frame)
    df = pd.concat(frames, ignore_index=True)
    X = np.vstack(blocks)
    none = np.concatenate(missing)
    X[none] = np.nan
    manifest = manifest_from_frame(df, groups=list(attributes), source="synthetic")
    templates = Templates(
        embeddings=X,
        status=np.where(none, "no_face", "ok"),
        faces=np.where(none, 0, 1).astype(np.int64),
        detail=["no face found (synthetic)" if x else "" for x in none],
        model={"kind": "synthetic", "seed": str(seed), "dim": str(dim)},
        detected=True,
    )
    return manifest, templates
