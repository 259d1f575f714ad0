"""The face audit finds planted demographic differentials and reports them honestly."""

from __future__ import annotations

import json

import numpy as np
import pytest
from jsonschema import Draft202012Validator

from audit.exceptions import DataError
from audit.face import (
    FaceOptions,
    GroupSpec,
    PairScores,
    Templates,
    _pairs,
    face_audit,
    manifest_from_frame,
    synthetic_face_set,
)
from audit.face._audit import _rates, _Subjects
from audit.face._pairs import score_all_pairs
from audit.metrics._bootstrap import BootstrapSettings
from audit.results import dumps, load_schema

PLANTED = {
    "ref": GroupSpec(subjects=250, genuine_distance=0.45),
    # identical to ref: no differential must be claimed for it
    "twin": GroupSpec(subjects=250, genuine_distance=0.45),
    # impostors closer together: more false matches at the one global threshold
    "close": GroupSpec(subjects=250, genuine_distance=0.45, impostor_distance=0.82),
    # photos of one person vary more, and 10% of images have no detectable face
    "noisy": GroupSpec(subjects=250, genuine_distance=0.55, ftd_rate=0.1),
}


def options(**kw):
    base = {
        "target_fmr": 1e-3,
        "reference": {"group": "ref"},
        "bootstrap": BootstrapSettings(300, 0.95, 0),
    }
    return FaceOptions(**{**base, **kw})


@pytest.fixture(scope="module")
def planted():
    manifest, templates = synthetic_face_set(PLANTED, seed=3, separation=0.3)
    return manifest, templates, face_audit(manifest, templates, options())


def by_group(doc, attribute="group"):
    return {
        (tuple(g["group"]) if isinstance(g["group"], list) else g["group"]): g
        for g in doc["groups"]
        if g["attribute"] == attribute
    }


def disparity(doc, group, metric):
    (d,) = [x for x in doc["disparities"] if x["group"] == group and x["metric"] == metric]
    return d


def summary(doc, metric, attribute="group"):
    (s,) = [x for x in doc["summary"] if x["metric"] == metric and x["attribute"] == attribute]
    return s


def test_planted_false_match_differential_is_recovered(planted):
    *_, doc = planted
    g = by_group(doc)
    assert g["close"]["metrics"]["fmr"]["value"] > 10 * g["ref"]["metrics"]["fmr"]["value"]
    d = disparity(doc, "close", "fmr")
    assert d["ratio"]["ci_low"] > 3 and d["verdict"] == "outside_band"
    s = summary(doc, "fmr_max_min_ratio")
    assert s["value"] > 10 and s["ci_low"] > 3
    assert sorted(s["groups_included"]) == ["close", "noisy", "ref", "twin"]


def test_planted_false_non_match_differential_is_recovered(planted):
    *_, doc = planted
    g = by_group(doc)
    worst = max(g.values(), key=lambda r: r["metrics"]["fnmr"]["value"])
    assert worst["group"] == "noisy"
    assert disparity(doc, "noisy", "fnmr")["ratio"]["ci_low"] > 3
    assert summary(doc, "fnmr_max")["value"] == worst["metrics"]["fnmr"]["value"]


def test_a_group_planted_identical_is_not_called_different(planted):
    *_, doc = planted
    for metric in ("fmr", "fnmr"):
        ratio = disparity(doc, "twin", metric)["ratio"]
        assert ratio["ci_low"] < 1 < ratio["ci_high"]


def test_planted_failure_to_detect_rate_is_recovered(planted):
    *_, doc = planted
    g = by_group(doc)
    ftd = g["noisy"]["metrics"]["ftd"]
    assert ftd["ci_low"] < 0.1 < ftd["ci_high"]
    assert g["ref"]["metrics"]["ftd"]["value"] == 0.0
    assert doc["face"]["detection_failures_total"] == g["noisy"]["n"] - g["noisy"]["templates"]
    assert {f["reason"] for f in doc["face"]["detection_failures"]} == {"no_face"}


def test_threshold_meets_the_target_on_all_impostor_pairs(planted):
    *_, doc = planted
    thr = doc["face"]["threshold"]
    assert thr["mode"] == "target_fmr" and thr["target_fmr"] == 1e-3
    assert thr["false_matches"] <= 1e-3 * thr["impostor_pairs"]
    assert thr["achieved_fmr"] > 0.9e-3  # and is not needlessly strict
    assert doc["settings"]["threshold"] == thr["value"]
    assert doc["overall"]["metrics"]["fmr"]["value"] == pytest.approx(thr["achieved_fmr"])


def test_group_counts_equal_brute_force_over_all_pairs():
    planted = [("p", {}), ("q", {"impostor_distance": 0.8}), ("r", {"genuine_distance": 0.55})]
    specs = {k: GroupSpec(subjects=40, ftd_rate=0.1, **kw) for k, kw in planted}
    manifest, templates = synthetic_face_set(specs, seed=8, separation=0.2)
    doc = face_audit(manifest, templates, options(target_fmr=1e-2, reference="largest"))
    use = templates.usable
    X = templates.embeddings[use]
    subj = manifest.subject[use]
    grp = manifest.frame["group"].to_numpy()[use]
    t = doc["face"]["threshold"]["value"]
    i, j = np.triu_indices(len(X), 1)
    d = np.linalg.norm(X[i] - X[j], axis=1)
    same_group = grp[i] == grp[j]
    genuine = subj[i] == subj[j]
    for name, g in by_group(doc).items():
        inside = same_group & (grp[i] == name)
        assert g["negatives"] == np.sum(inside & ~genuine)
        assert g["false_matches"] == np.sum(inside & ~genuine & (d <= t))
        assert g["positives"] == np.sum(inside & genuine)
        assert g["false_non_matches"] == np.sum(inside & genuine & (d > t))


def test_fmr_matrix_diagonal_is_each_groups_fmr_and_cross_group_is_lower(planted):
    *_, doc = planted
    (m,) = doc["face"]["fmr_matrix"]
    g = by_group(doc)
    fmr = np.array(m["fmr"], dtype=float)
    for k, name in enumerate(m["groups"]):
        assert fmr[k, k] == pytest.approx(g[name]["metrics"]["fmr"]["value"])
        assert m["log10_fmr"][k][k] == pytest.approx(np.log10(fmr[k, k]))
    off = fmr[~np.eye(len(fmr), dtype=bool)]
    assert np.nanmax(off) < np.min(np.diag(fmr))
    assert np.array_equal(m["impostor_pairs"], np.array(m["impostor_pairs"]).T)


def test_det_curves_pass_through_the_operating_point(planted):
    *_, doc = planted
    g = by_group(doc)
    t = doc["face"]["threshold"]["value"]
    for curve in doc["face"]["det"]:
        assert len(curve["thresholds"]) <= 200
        if curve["group"] in g:
            k = int(np.searchsorted(curve["thresholds"], t))
            # the curve's FNMR just above the threshold bounds the group's FNMR
            assert curve["fnmr"][k] <= g[curve["group"]]["metrics"]["fnmr"]["value"] + 1e-12
    assert doc["face"]["det"][0]["group"] == "all"


def test_document_is_valid_and_deterministic(planted):
    manifest, templates, doc = planted
    Draft202012Validator(load_schema()).validate(json.loads(dumps(doc)))
    assert doc["kind"] == "face"
    assert doc["settings"]["positives"].startswith("genuine pairs")
    assert doc["settings"]["negatives"].startswith("impostor pairs")
    again = face_audit(manifest, templates, options())
    for d in (doc, again):
        d["provenance"] = {**d["provenance"], "generated_at": "-"}
    assert dumps(doc) == dumps(again)


def test_bootstrap_weights_equal_duplicating_subjects(planted):
    """A resample drawing subject s w_s times is the data set with w_s copies of s, where
    copies are never compared with each other: check the algebra against that data set."""
    rng = np.random.default_rng(0)
    manifest, templates = synthetic_face_set(
        {"a": GroupSpec(subjects=12), "b": GroupSpec(subjects=9, impostor_distance=0.8)}, seed=1
    )
    cell = (manifest.subject_attributes["group"] == "b").to_numpy().astype(np.int64)
    X, subj = templates.embeddings, manifest.subject
    stats = score_all_pairs(X, subj, cell, threshold=0.62)
    S = len(cell)
    w = rng.integers(0, 3, S).astype(float)
    member = np.stack([np.ones(S), cell == 0, cell == 1], axis=1).astype(float)
    subjects = _Subjects(
        cell=cell,
        images=np.bincount(subj).astype(float),
        readable=np.bincount(subj).astype(float),
        no_face=np.zeros(S),
        multiple=np.zeros(S),
        templates=np.bincount(subj).astype(float),
        genuine=stats.genuine_pairs.astype(float),
        false_non_matches=stats.false_non_matches.astype(float),
    )
    cell_member = np.array([[1, 1, 0], [1, 0, 1]], dtype=float)
    got = _rates(w[None, :], subjects, stats, member, cell_member, True)
    # the explicit data set: copy c of subject s becomes subject (s, c)
    rows = [
        (s, c, r) for s in range(S) for c in range(int(w[s])) for r in np.flatnonzero(subj == s)
    ]
    cs = np.array([s * 10 + c for s, c, _ in rows])
    orig = np.array([s for s, _, _ in rows])
    idx = np.array([r for _, _, r in rows])
    i, j = np.triu_indices(len(rows), 1)
    d = np.linalg.norm(X[idx[i]] - X[idx[j]], axis=1)
    compared = orig[i] != orig[j]  # or the same copy: genuine
    genuine = cs[i] == cs[j]
    for col, keep in enumerate([np.ones(len(i), bool), cell[orig[i]] == 0, cell[orig[i]] == 1]):
        both = keep & (cell[orig[i]] == cell[orig[j]]) if col else keep
        imp = both & compared
        assert got.impostor[0, col] == pytest.approx(imp.sum())
        assert got.false_matches[0, col] == pytest.approx((imp & (d <= 0.62)).sum())
        assert got.genuine[0, col] == pytest.approx((both & genuine).sum())
        assert got.false_non_matches[0, col] == pytest.approx((both & genuine & (d > 0.62)).sum())


def test_small_groups_are_suppressed_and_thin_evidence_is_not_a_verdict():
    manifest, templates = synthetic_face_set(
        {
            "big": GroupSpec(subjects=200),
            "big2": GroupSpec(subjects=200, impostor_distance=0.85),
            "thin": GroupSpec(subjects=15),
            "tiny": GroupSpec(subjects=5),
        },
        seed=2,
    )
    doc = face_audit(
        manifest, templates, FaceOptions(target_fmr=1e-3, bootstrap=BootstrapSettings(50, 0.95, 0))
    )
    g = by_group(doc)
    assert "tiny" not in g
    assert {"attribute": "group", "group": "tiny", "reason": "fewer than 10 subjects"} in doc[
        "suppressed_groups"
    ]
    assert doc["settings"]["min_negatives"] == 3000  # rule of three at FMR 1e-3
    assert g["thin"]["negatives"] < 3000
    assert g["thin"]["verdicts"] == {
        "evidence": "insufficient_evidence",
        "fmr": "insufficient_evidence",
        "fnmr": "insufficient_evidence",
    }
    s = summary(doc, "fmr_max_min_ratio")
    assert sorted(s["groups_included"]) == ["big", "big2"]
    assert s["groups_excluded_insufficient"] == ["thin"]
    (m,) = doc["face"]["fmr_matrix"]
    assert "tiny" not in m["groups"]
    assert all(c["group"] != "tiny" for c in doc["face"]["det"])


def test_two_attributes_give_their_intersection():
    specs = {
        (r, s): GroupSpec(subjects=60, impostor_distance=0.8 if r == "x" and s == "f" else 0.9)
        for r in ("x", "y")
        for s in ("f", "m")
    }
    manifest, templates = synthetic_face_set(specs, attributes=("race", "sex"), seed=4)
    doc = face_audit(
        manifest, templates, FaceOptions(target_fmr=1e-3, bootstrap=BootstrapSettings(50, 0.95, 0))
    )
    assert doc["settings"]["slices"] == [["race"], ["sex"], ["race", "sex"]]
    inter = by_group(doc, ["race", "sex"])
    assert set(inter) == {("x", "f"), ("x", "m"), ("y", "f"), ("y", "m")}
    worst = max(inter.values(), key=lambda r: r["metrics"]["fmr"]["value"])
    assert worst["group"] == ["x", "f"]
    assert [m["attribute"] for m in doc["face"]["fmr_matrix"]] == ["race", "sex", ["race", "sex"]]


def test_platform_similarity_scores_give_the_same_audit_as_embeddings():
    manifest, templates = synthetic_face_set(
        {"a": GroupSpec(subjects=40), "b": GroupSpec(subjects=40, impostor_distance=0.8)}, seed=5
    )
    X = templates.embeddings
    i, j = np.triu_indices(len(X), 1)
    sim = -np.linalg.norm(X[i] - X[j], axis=1)  # a similarity: higher is more alike
    sim[:3] = np.nan  # the platform failed on three pairs
    keep = ~np.isnan(sim)
    pairs = PairScores(
        i[keep],
        j[keep],
        sim[keep],
        "similarity",
        [{"row": k + 1, "reason": "no_score"} for k in range(3)],
        {"kind": "pair_scores"},
    )
    opts = FaceOptions(target_fmr=1e-2, bootstrap=BootstrapSettings(0, 0.95, 0))
    from_pairs = face_audit(manifest, pairs, opts)
    # the same comparisons through embeddings: drop the same three pairs by hand
    ref = score_all_pairs(X, manifest.subject, np.array([0] * 40 + [1] * 40), target_fmr=1e-2)
    assert from_pairs["face"]["threshold"]["rule"].startswith("match when similarity >=")
    assert from_pairs["settings"]["threshold"] == pytest.approx(-ref.threshold, abs=0.02)
    assert from_pairs["face"]["bad_pairs_total"] == 3
    g = by_group(from_pairs)
    assert g["a"]["metrics"]["ftd"]["value"] is None  # no detector ran
    assert g["b"]["metrics"]["fmr"]["value"] > g["a"]["metrics"]["fmr"]["value"]
    assert g["a"]["positives"] + g["b"]["positives"] == int(
        (manifest.subject[i] == manifest.subject[j])[keep].sum()
    )


def test_fixed_tolerance_audits_the_default_threshold():
    manifest, templates = synthetic_face_set(
        {"a": GroupSpec(subjects=50, impostor_distance=0.75)}, seed=6
    )
    doc = face_audit(
        manifest, templates, FaceOptions(tolerance=0.6, bootstrap=BootstrapSettings(0))
    )
    thr = doc["face"]["threshold"]
    assert thr["mode"] == "fixed" and thr["value"] == 0.6 and thr["target_fmr"] is None
    assert doc["settings"]["tolerance"] == 0.6
    assert thr["achieved_fmr"] > 0
    assert doc["settings"]["min_negatives"] == max(30, int(np.ceil(3 / thr["achieved_fmr"])))


def test_too_many_false_matches_to_keep_drop_the_fmr_interval_only(monkeypatch):
    manifest, templates = synthetic_face_set(
        {"a": GroupSpec(subjects=40), "b": GroupSpec(subjects=40)}, seed=7
    )
    opts = FaceOptions(target_fmr=0.05, bootstrap=BootstrapSettings(50, 0.95, 0))
    full = face_audit(manifest, templates, opts)
    monkeypatch.setattr(_pairs, "ENTRY_CAP", 10)
    capped = face_audit(manifest, templates, opts)
    for a, b in zip(by_group(full).values(), by_group(capped).values(), strict=True):
        assert a["metrics"]["fmr"]["value"] == b["metrics"]["fmr"]["value"]
        assert b["metrics"]["fmr"]["ci_low"] is None
        assert b["metrics"]["fnmr"] == a["metrics"]["fnmr"]
    assert "no interval" in capped["face"]["intervals_note"]


def test_one_usable_subject_is_a_clear_error():
    manifest, templates = synthetic_face_set({"a": GroupSpec(subjects=2)}, seed=0)
    emb = templates.embeddings.copy()
    emb[manifest.subject == 1] = np.nan
    t = Templates(emb, templates.status, templates.faces, templates.detail, templates.model)
    with pytest.raises(DataError, match="no impostor comparisons"):
        face_audit(manifest, t, FaceOptions())


def test_options_refuse_both_threshold_kinds():
    from audit.exceptions import ConfigError

    with pytest.raises(ConfigError, match="not both"):
        FaceOptions(target_fmr=1e-3, tolerance=0.6)
    with pytest.raises(ConfigError, match=r"\(0, 1\)"):
        FaceOptions(target_fmr=1.0)


def test_subjects_with_one_image_are_listed_and_still_impostors():
    import pandas as pd

    frame = pd.DataFrame(
        {"path": [f"{k}.jpg" for k in range(5)], "subject_id": ["a", "a", "b", "c", "c"], "g": "x"}
    )
    manifest = manifest_from_frame(frame, groups=["g"])
    X = np.array([[0, 0], [0, 0.1], [1, 0], [0, 1], [0.1, 1]], dtype=float)
    t = Templates(X, np.array(["ok"] * 5), np.ones(5, dtype=np.int64), [""] * 5, {"kind": "test"})
    doc = face_audit(
        manifest, t, FaceOptions(tolerance=0.5, min_group_size=1, bootstrap=BootstrapSettings(0))
    )
    assert doc["face"]["single_template_rows"] == [3]  # b's only image
    assert doc["face"]["counts"]["subjects_with_one_template"] == 1
    assert doc["overall"]["negatives"] == 2 * 1 + 2 * 2 + 1 * 2
    assert doc["overall"]["positives"] == 2


def test_a_ratio_over_a_group_without_errors_is_flagged_unbounded_not_hidden():
    manifest, templates = synthetic_face_set(
        {
            "sharp": GroupSpec(subjects=60, genuine_distance=0.2),
            "blurry": GroupSpec(subjects=60, genuine_distance=0.6),
        },
        seed=9,
    )
    doc = face_audit(
        manifest,
        templates,
        FaceOptions(tolerance=0.6, min_impostor_pairs=30, bootstrap=BootstrapSettings(50, 0.95, 0)),
    )
    g = by_group(doc)
    assert g["sharp"]["metrics"]["fnmr"]["value"] == 0 < g["blurry"]["metrics"]["fnmr"]["value"]
    s = summary(doc, "fnmr_max_min_ratio")
    assert s["value"] is None and "unbounded: group 'sharp' has no FNMR errors" in s["note"]
    assert summary(doc, "fnmr_max")["value"] == g["blurry"]["metrics"]["fnmr"]["value"]
