"""Manifests, embeddings, pair scores and image encoding: broken files fail clearly, bad images
are counted and reported, never fatal."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from audit.exceptions import ConfigError, DataError
from audit.face import (
    FaceOptions,
    encode_manifest,
    face_audit,
    load_embeddings,
    load_face_manifest,
    load_pair_scores,
)
from audit.metrics._bootstrap import BootstrapSettings
from tests.unit.face.fakes import SquareEncoder, draw

RED, RED2, BLUE, BLUE2, GREEN = (200, 0, 0), (205, 5, 0), (0, 0, 200), (0, 5, 205), (0, 160, 0)


def write_manifest(tmp_path, rows, name="manifest.csv"):
    df = pd.DataFrame(rows, columns=["path", "subject_id", "group"])
    path = tmp_path / name
    df.to_csv(path, index=False)
    return path


@pytest.fixture
def image_set(tmp_path):
    """Three subjects drawn as coloured squares, plus every kind of bad image."""
    img = tmp_path / "img"
    img.mkdir()
    draw(img / "r1.png", [RED])
    draw(img / "r2.png", [RED2])
    draw(img / "b1.png", [BLUE])
    draw(img / "b2.png", [BLUE2])
    draw(img / "g1.png", [GREEN])  # subject g: one image only
    draw(img / "blank.png", [])  # no face
    draw(img / "two.png", [RED, (0, 0, 90)], size=20)  # several faces
    (img / "notes.png").write_text("this is not an image")  # unreadable
    good = (img / "b1.png").read_bytes()
    (img / "cut.png").write_bytes(good[: len(good) // 2])  # corrupt (truncated)
    rows = [
        ("img/r1.png", "r", "x"), ("img/r2.png", "r", "x"), ("img/b1.png", "b", "x"),
        ("img/b2.png", "b", "x"), ("img/g1.png", "g", "y"), ("img/blank.png", "g", "y"),
        ("img/two.png", "r", "x"), ("img/notes.png", "b", "x"), ("img/cut.png", "g", "y"),
        ("img/gone.png", "g", "y"),
    ]  # fmt: skip
    return write_manifest(tmp_path, rows)


def test_bad_images_are_counted_and_reported_never_fatal(image_set, tmp_path):
    manifest = load_face_manifest(image_set, groups=["group"])
    t = encode_manifest(manifest, SquareEncoder(), cache_dir=tmp_path / "cache")
    assert list(t.status) == [
        "ok", "ok", "ok", "ok", "ok", "no_face", "multiple_faces", "unreadable", "corrupt",
        "missing",
    ]  # fmt: skip
    assert t.faces.tolist() == [1, 1, 1, 1, 1, 0, 2, -1, -1, -1]
    assert t.usable.tolist() == [True] * 5 + [False] * 5
    doc = face_audit(
        manifest,
        t,
        FaceOptions(tolerance=0.1, min_group_size=1, bootstrap=BootstrapSettings(20, 0.9, 0)),
    )
    face = doc["face"]
    assert face["bad_images_total"] == 3
    assert {b["reason"]: b["row"] for b in face["bad_images"]} == {
        "unreadable": 8,
        "corrupt": 9,
        "missing": 10,
    }
    assert [(f["row"], f["reason"]) for f in face["detection_failures"]] == [
        (6, "no_face"),
        (7, "multiple_faces"),
    ]
    assert "2 faces" in face["detection_failures"][1]["detail"]
    assert face["single_template_rows"] == [5]  # g1.png: subject g's only usable image
    # rows, not paths or subject ids: in real sets those are often people's names
    assert all(set(x) == {"row", "reason", "detail"} for x in face["bad_images"])
    assert "g1.png" not in json.dumps(doc["face"]) and '"g"' not in json.dumps(doc["face"])
    assert face["counts"]["status"] == {
        "corrupt": 1, "missing": 1, "multiple_faces": 1, "no_face": 1, "ok": 5, "unreadable": 1,
    }  # fmt: skip
    overall = doc["overall"]["metrics"]
    # 7 readable images: one without a face, one with two
    assert overall["ftd"]["value"] == pytest.approx(1 / 7)
    assert overall["multiple_faces"]["value"] == pytest.approx(1 / 7)
    # the colours of one subject are close, of different subjects far: perfect separation
    assert overall["fmr"]["value"] == 0 and overall["fnmr"]["value"] == 0
    g = {r["group"]: r for r in doc["groups"]}
    assert g["y"]["metrics"]["ftd"]["value"] == pytest.approx(1 / 2)  # g1 ok, blank no face


def test_largest_face_policy_uses_the_bigger_square(tmp_path):
    img = tmp_path / "a.png"
    from PIL import Image

    canvas = Image.new("RGB", (120, 60), "white")
    canvas.paste(Image.new("RGB", (10, 10), BLUE), (5, 5))
    canvas.paste(Image.new("RGB", (30, 30), RED), (60, 10))
    canvas.save(img)
    manifest = load_face_manifest(write_manifest(tmp_path, [("a.png", "s", "x")]), groups=["group"])
    t = encode_manifest(manifest, SquareEncoder(), multiple_faces="largest")
    assert t.status[0] == "multiple_faces" and t.usable[0]
    np.testing.assert_allclose(t.embeddings[0, :3], np.array(RED) / 255)


def test_cache_is_keyed_by_image_content(image_set, tmp_path):
    manifest = load_face_manifest(image_set, groups=["group"])
    calls = tmp_path / "calls.txt"
    enc = SquareEncoder(str(calls))
    first = encode_manifest(manifest, enc, cache_dir=tmp_path / "cache")
    n_first = len(calls.read_text().splitlines())
    assert n_first == 7  # every readable image, once
    again = encode_manifest(manifest, enc, cache_dir=tmp_path / "cache")
    assert len(calls.read_text().splitlines()) == n_first  # all from the cache
    np.testing.assert_array_equal(first.embeddings, again.embeddings)
    assert list(first.status) == list(again.status)
    draw(tmp_path / "img" / "r1.png", [BLUE])  # now byte-identical to b1.png: a cache hit
    encode_manifest(manifest, enc, cache_dir=tmp_path / "cache")
    assert len(calls.read_text().splitlines()) == n_first
    draw(tmp_path / "img" / "r1.png", [(90, 90, 0)])  # same name, new content: encoded
    changed = encode_manifest(manifest, enc, cache_dir=tmp_path / "cache")
    assert len(calls.read_text().splitlines()) == n_first + 1
    np.testing.assert_allclose(changed.embeddings[0, :3], np.array([90, 90, 0]) / 255)


def test_worker_processes_give_the_same_templates(image_set, tmp_path):
    manifest = load_face_manifest(image_set, groups=["group"])
    seen = []
    par = encode_manifest(
        manifest, SquareEncoder(), workers=2, progress=lambda d, n: seen.append((d, n))
    )
    seq = encode_manifest(manifest, SquareEncoder(), workers=1)
    np.testing.assert_array_equal(par.embeddings, seq.embeddings)
    assert list(par.status) == list(seq.status)
    assert seen[-1] == (10, 10) and [d for d, _ in seen] == list(range(1, 11))


def test_manifest_errors_name_file_column_and_row(tmp_path):
    path = write_manifest(tmp_path, [("a.png", "s1", "x"), ("b.png", "s1", "y")])
    with pytest.raises(DataError, match=r"manifest.csv, column 'group', row 2: subject 's1'"):
        load_face_manifest(path, groups=["group"])
    with pytest.raises(DataError, match="no column 'race'"):
        load_face_manifest(path, groups=["race"])
    with pytest.raises(DataError, match="no column 'who'"):
        load_face_manifest(path, groups=["group"], subject="who")
    path = write_manifest(tmp_path, [("a.png", "s1", "x"), (None, "s2", "x")], "m2.csv")
    with pytest.raises(DataError, match="column 'path', row 2: image path is empty"):
        load_face_manifest(path, groups=["group"])
    with pytest.raises(ConfigError, match="--images-root"):
        load_face_manifest(path, groups=["group"], images_root=tmp_path / "nowhere")


@pytest.fixture
def small_manifest(tmp_path):
    rows = [("a.png", "s1", "x"), ("b.png", "s1", "x"), ("c.png", "s2", "x"), ("d.png", "s3", "y")]
    return load_face_manifest(write_manifest(tmp_path, rows), groups=["group"])


def test_npy_embeddings_are_row_aligned_and_nan_rows_mean_no_template(small_manifest, tmp_path):
    X = np.arange(12, dtype=float).reshape(4, 3)
    X[3] = np.nan
    np.save(tmp_path / "e.npy", X)
    t = load_embeddings(tmp_path / "e.npy", small_manifest)
    assert list(t.status) == ["ok", "ok", "ok", "no_template"]
    assert not t.detected
    assert t.inputs[0]["role"] == "embeddings" and len(t.inputs[0]["sha256"]) == 64
    np.save(tmp_path / "short.npy", X[:3])
    with pytest.raises(DataError, match="3 embeddings for 4 manifest rows"):
        load_embeddings(tmp_path / "short.npy", small_manifest)
    X[1, 1] = np.nan
    np.save(tmp_path / "partial.npy", X)
    with pytest.raises(DataError, match=r"partial\.npy, row 2: embedding has NaN"):
        load_embeddings(tmp_path / "partial.npy", small_manifest)


def test_parquet_embeddings_join_on_the_image_column(small_manifest, tmp_path):
    vectors = {"a.png": [1.0, 0.0], "b.png": [1.0, 0.1], "c.png": [0.0, 1.0], "d.png": [5.0, 5.0]}
    order = ["d.png", "b.png", "a.png", "c.png"]
    pd.DataFrame({"path": order, "embedding": [vectors[k] for k in order]}).to_parquet(
        tmp_path / "e.parquet"
    )
    t = load_embeddings(tmp_path / "e.parquet", small_manifest)
    np.testing.assert_array_equal(
        t.embeddings, np.array([vectors[k] for k in "abcd" for k in [f"{k}.png"]])
    )
    wide = pd.DataFrame(np.array(list(vectors.values())), columns=["e0", "e1"])
    wide.to_parquet(tmp_path / "w.parquet")
    np.testing.assert_array_equal(
        load_embeddings(tmp_path / "w.parquet", small_manifest).embeddings, wide.to_numpy()
    )
    pd.DataFrame({"path": order[:3], "embedding": [vectors[k] for k in order[:3]]}).to_parquet(
        tmp_path / "few.parquet"
    )
    with pytest.raises(DataError, match=r"'c\.png' has no embedding"):
        load_embeddings(tmp_path / "few.parquet", small_manifest)


def test_pair_scores_are_validated_and_missing_scores_reported(small_manifest, tmp_path):
    def pairs(rows, name="p.csv"):
        pd.DataFrame(rows, columns=["image_a", "image_b", "score"]).to_csv(
            tmp_path / name, index=False
        )
        return tmp_path / name

    p = load_pair_scores(
        pairs([("a.png", "b.png", 0.9), ("a.png", "c.png", None), ("c.png", "d.png", 0.1)]),
        small_manifest,
    )
    assert p.row_a.tolist() == [0, 2] and p.row_b.tolist() == [1, 3]
    assert p.bad_pairs == [{"row": 2, "reason": "no_score"}]
    np.testing.assert_array_equal(p.dissimilarity, [-0.9, -0.1])
    cases = [
        (
            [("a.png", "zz.png", 0.5)],
            "column 'image_b', row 1: image 'zz.png' is not in the manifest",
        ),
        ([("a.png", "a.png", 0.5)], "row 1: an image is paired with itself"),
        ([("a.png", "b.png", 0.5), ("b.png", "a.png", 0.4)], "row 2: this pair is listed twice"),
        ([("a.png", "b.png", "high")], "column 'score', row 1: score must be a number"),
    ]
    for k, (rows, message) in enumerate(cases):
        with pytest.raises(DataError, match=message):
            load_pair_scores(pairs(rows, f"bad{k}.csv"), small_manifest)
