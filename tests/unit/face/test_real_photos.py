"""End to end through dlib on the seven real photos of the face_recognition 1.3.0 sdist.

Five photos of Barack Obama (two partial faces), an RGBA copy of one of them, and one of Joe
Biden: 15 genuine pairs that must land below the threshold and 6 impostor pairs above it. Far
too few for any rate to mean anything (every verdict is insufficient_evidence); this checks the
pipeline, not the model. Fetch them with ``scripts/fetch_face_images.py``.
"""

from __future__ import annotations

import shutil
from itertools import combinations

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from audit.exceptions import ModelError
from audit.face import DlibEncoder, FaceOptions, encode_manifest, face_audit, load_face_manifest
from audit.metrics._bootstrap import BootstrapSettings
from tests.conftest import SAMPLES

pytestmark = pytest.mark.sample

FACES = SAMPLES / "faces"
# Quarter-resolution detection: HOG ~10x faster; these faces are 220-320 px wide, still ~60 px
# after shrinking, and encoding uses the full image (distances move by <= 0.031).
ENCODER = DlibEncoder(downscale=0.25)


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    if not (FACES / "manifest.csv").is_file():
        pytest.skip("face photos not fetched (run scripts/fetch_face_images.py)")
    try:
        from audit.face._encode import _face_recognition

        _face_recognition()
    except ModelError as exc:
        pytest.skip(f"built-in face model not installed: {exc}")
    cache = tmp_path_factory.getbasetemp() / "face-embeddings"  # shared with the CLI test
    manifest = load_face_manifest(FACES / "manifest.csv", groups=["set"])
    return manifest, encode_manifest(manifest, ENCODER, cache_dir=cache), cache


def pairs(manifest, templates):
    subjects = [manifest.subject_ids[s] for s in manifest.subject]
    genuine, impostor = [], []
    for i, j in combinations(range(len(subjects)), 2):
        d = float(np.linalg.norm(templates.embeddings[i] - templates.embeddings[j]))
        (genuine if subjects[i] == subjects[j] else impostor).append(d)
    return np.array(genuine), np.array(impostor)


def test_every_photo_gives_one_face_and_a_128d_template(photos):
    _, templates, _ = photos
    assert list(templates.status) == ["ok"] * 7
    assert templates.faces.tolist() == [1] * 7
    assert templates.embeddings.shape == (7, 128)
    assert templates.model["kind"] == "face_recognition" and templates.model["downscale"] == "0.25"


def test_genuine_pairs_fall_below_and_impostor_pairs_above_the_threshold(photos):
    manifest, templates, _ = photos
    genuine, impostor = pairs(manifest, templates)
    assert len(genuine) == 15 and len(impostor) == 6
    # face_recognition's default tolerance separates them with a wide margin
    assert genuine.max() < 0.5 < 0.75 < impostor.min()
    opts = {"min_group_size": 1, "bootstrap": BootstrapSettings(50, 0.95, 0)}
    for doc in (
        face_audit(manifest, templates, FaceOptions(tolerance=0.6, **opts)),
        face_audit(manifest, templates, FaceOptions(target_fmr=1e-4, **opts)),
    ):
        t = doc["face"]["threshold"]["value"]
        assert genuine.max() < t < impostor.min()
        overall = doc["overall"]
        assert overall["positives"] == 15 and overall["negatives"] == 6
        assert overall["metrics"]["fmr"]["value"] == 0.0
        assert overall["metrics"]["fnmr"]["value"] == 0.0
        assert overall["metrics"]["ftd"]["value"] == 0.0
        (group,) = doc["groups"]
        assert group["verdicts"]["evidence"] == "insufficient_evidence"
    # calibrated with 6 impostor pairs and target 1e-4, no false match is allowed: the
    # threshold sits just below the closest impostor pair
    assert t == pytest.approx(impostor.min(), abs=1e-12)


def test_the_rgba_copy_is_the_same_face(photos):
    manifest, templates, _ = photos
    images = manifest.images
    a, b = (
        templates.embeddings[images.index("obama2.jpg")],
        templates.embeddings[images.index("32bit.png")],
    )
    assert np.linalg.norm(a - b) < 0.1


def test_bad_images_next_to_real_ones_are_reported_not_fatal(photos, tmp_path):
    *_, cache = photos
    for f in FACES.glob("*.*"):
        shutil.copy(f, tmp_path / f.name)
    raw = (FACES / "obama.jpg").read_bytes()
    (tmp_path / "truncated.jpg").write_bytes(raw[: len(raw) // 3])
    (tmp_path / "notes.jpg").write_text("not an image")
    Image.new("RGB", (400, 400), "white").save(tmp_path / "blank.jpg")
    # Obama and Biden side by side: two faces in one image
    left = Image.open(FACES / "obama2.jpg").convert("RGB")
    right = Image.open(FACES / "biden.jpg").convert("RGB")
    both = Image.new("RGB", (left.width + right.width, max(left.height, right.height)), "white")
    both.paste(left, (0, 0))
    both.paste(right, (left.width, 0))
    both.save(tmp_path / "both.jpg")
    extra = pd.DataFrame(
        [
            ("truncated.jpg", "obama", "face_recognition-1.3.0", "corrupt"),
            ("notes.jpg", "biden", "face_recognition-1.3.0", "not an image"),
            ("blank.jpg", "biden", "face_recognition-1.3.0", "no face"),
            ("both.jpg", "biden", "face_recognition-1.3.0", "two faces"),
            ("missing.jpg", "biden", "face_recognition-1.3.0", "no such file"),
        ],
        columns=["path", "subject_id", "set", "note"],
    )
    table = pd.concat([pd.read_csv(FACES / "manifest.csv"), extra], ignore_index=True)
    table.to_csv(tmp_path / "manifest.csv", index=False)
    m = load_face_manifest(tmp_path / "manifest.csv", groups=["set"])
    t = encode_manifest(m, ENCODER, cache_dir=cache)  # the seven real photos come from the cache
    assert list(t.status[7:]) == ["corrupt", "unreadable", "no_face", "multiple_faces", "missing"]
    doc = face_audit(
        m, t, FaceOptions(tolerance=0.6, min_group_size=1, bootstrap=BootstrapSettings(0))
    )
    face = doc["face"]
    # listed by manifest row (8-12 are the extra files)
    assert [(b["row"], b["reason"]) for b in face["bad_images"]] == [
        (8, "corrupt"),
        (9, "unreadable"),
        (12, "missing"),
    ]
    assert [(f["row"], f["reason"]) for f in face["detection_failures"]] == [
        (10, "no_face"),
        (11, "multiple_faces"),
    ]
    assert doc["overall"]["metrics"]["ftd"]["value"] == pytest.approx(1 / 9)
    assert doc["overall"]["metrics"]["multiple_faces"]["value"] == pytest.approx(1 / 9)
    assert doc["overall"]["metrics"]["fmr"]["value"] == 0.0
    assert doc["overall"]["metrics"]["fnmr"]["value"] == 0.0
