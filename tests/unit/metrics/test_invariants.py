"""The privacy and evidence invariants, tried on every audit kind's result document.

Each kind gets small synthetic data with one group too small to publish (suppressed) and one
group published but with too little evidence for a verdict (insufficient). On the document a
user would read, whatever the kind:

* a suppressed group appears in no group record and in no disparity, as group or reference;
* the reference of every disparity is a group with sufficient evidence;
* every cross-group summary includes only sufficient groups and lists the others as left out;
* naming the suppressed or the insufficient group as ``--reference`` is refused with a message
  that says why, and naming a sufficient group works as before.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from jsonschema import Draft202012Validator
from sklearn.metrics import roc_auc_score

from audit.ads import AdsOptions, ads_audit, load_delivery
from audit.classification import ClassificationOptions, classification_audit
from audit.data import load_labelled_set
from audit.exceptions import ConfigError
from audit.face import FaceOptions, GroupSpec, face_audit, synthetic_face_set
from audit.gate import evaluate
from audit.metrics import BootstrapSettings, EngineSettings
from audit.moderation import moderation_audit
from audit.policy import Policy
from audit.recommendation import RecommendationOptions, evaluation_from_lists, recommendation_audit
from audit.results import dumps, load_schema

BOOT = BootstrapSettings(40, 0.95, 0)
POWER = -5.0


class _Files:
    """Where this module writes its input files (pytest's temporary folder)."""

    root: Path | None = None


def _tmp() -> Path:
    assert _Files.root is not None
    return _Files.root


@pytest.fixture(scope="module", autouse=True)
def _files(tmp_path_factory: pytest.TempPathFactory):
    _Files.root = tmp_path_factory.mktemp("invariants")
    yield
    for cached in (_labelled_path, _recsys_files, _ads_files, _document):
        cached.cache_clear()
    _Files.root = None


# --------------------------------------------------------------------------- the data


def _labelled_frame(seed: int = 0) -> pd.DataFrame:
    """Posts by team: "thin" has 37 violating and 3 acceptable posts (and those 3 score high:
    a BPSN problem on three posts); "tiny" has 6 posts."""
    rng = np.random.default_rng(seed)
    sizes = {"big": 600, "mid": 400, "thin": 40, "tiny": 6}
    team = np.repeat(list(sizes), list(sizes.values()))
    y = rng.binomial(1, 0.4, len(team))
    thin = np.flatnonzero(team == "thin")
    y[thin] = 1
    y[thin[:3]] = 0
    score = np.clip(0.3 + 0.35 * y + rng.normal(0, 0.15, len(team)), 0, 1)
    score[thin[:3]] = 0.97
    return pd.DataFrame(
        {
            "label": y,
            "score": score.round(3),
            "team": team,
            "sex": rng.choice(["f", "m"], len(team)),
        }
    )


@cache
def _labelled_path() -> str:
    path = _tmp() / "posts.csv"
    _labelled_frame().to_csv(path, index=False)
    return str(path)


def _labelled():
    return load_labelled_set(_labelled_path(), label="label", score="score", groups=["team"])


def _engine(reference: Any) -> ClassificationOptions:
    engine = EngineSettings(reference=reference, bootstrap=BOOT)
    return ClassificationOptions(engine=engine, sweep=(), explain=False)


def run_classification(reference: Any = "largest") -> dict[str, Any]:
    return classification_audit(_labelled(), options=_engine(reference))


def run_moderation(reference: Any = "largest") -> dict[str, Any]:
    return moderation_audit(_labelled(), options=_engine(reference))


@cache
def _recsys_files() -> dict[str, Path]:
    """90 women, 90 men, 15 non-binary users (below --min-users 30) and 5 of gender X
    (suppressed); studios big and indie, "rare" with 10 items but 5 relevant judgments, and
    "tiny" with 5 items (suppressed)."""
    rng = np.random.default_rng(1)
    genders = ["F"] * 90 + ["M"] * 90 + ["N"] * 15 + ["X"] * 5
    users = pd.DataFrame(
        {
            "user_id": [f"u{i}" for i in range(len(genders))],
            "gender": genders,
            "age_group": rng.choice(["young", "old"], len(genders)),
        }
    )
    studio = ["big"] * 25 + ["indie"] * 25 + ["tiny"] * 5 + ["rare"] * 10
    items = pd.DataFrame({"item_id": range(len(studio)), "studio": studio})
    recs, truth = [], []
    for i, uid in enumerate(users["user_id"]):
        listed = rng.choice(len(studio), 10, replace=False)
        recs += [(uid, int(item), r + 1) for r, item in enumerate(listed)]
        held = 55 + i % 10 if i % 40 == 0 else int(rng.integers(0, 50))
        truth.append((uid, held, 4))
    paths = {name: _tmp() / f"{name}.csv" for name in ("users", "items", "recs", "truth")}
    users.to_csv(paths["users"], index=False)
    items.to_csv(paths["items"], index=False)
    pd.DataFrame(recs, columns=["user_id", "item_id", "rank"]).to_csv(paths["recs"], index=False)
    pd.DataFrame(truth, columns=["user_id", "item_id", "rating"]).to_csv(
        paths["truth"], index=False
    )
    return paths


def run_recommendation(reference: Any = "largest") -> dict[str, Any]:
    f = _recsys_files()
    ev = evaluation_from_lists(
        f["recs"],
        f["truth"],
        f["users"],
        user_groups=["gender", "age_group"],
        items=f["items"],
        creator_groups=["studio"],
        k=10,
    )
    options = RecommendationOptions(k=10, reference=reference, bootstrap=BOOT)
    return recommendation_audit(ev, options)


@cache
def _ads_files() -> tuple[Path, Path]:
    """1000 eligible users; age 75-89 has 25 (below --min-users 30), 90+ has 6 (suppressed)."""
    rng = np.random.default_rng(2)
    age = np.array(["18-34"] * 520 + ["35-54"] * 449 + ["75-89"] * 25 + ["90+"] * 6)
    aud = pd.DataFrame(
        {
            "user_id": [f"u{i}" for i in range(len(age))],
            "age": age,
            "gender": np.where(np.arange(len(age)) % 2 == 0, "F", "M"),
        }
    )
    rows = []
    for ad, p in (("housing", 0.3), ("jobs", 0.5)):
        rows += [(ad, u) for u in aud["user_id"][rng.random(len(aud)) < p]]
    a, i = _tmp() / "audience.csv", _tmp() / "impressions.csv"
    aud.to_csv(a, index=False)
    pd.DataFrame(rows, columns=["ad_id", "user_id"]).to_csv(i, index=False)
    return i, a


def run_ads(reference: Any = "largest") -> dict[str, Any]:
    imp, aud = _ads_files()
    delivery = load_delivery(imp, aud, groups=["age", "gender"])
    return ads_audit(delivery, AdsOptions(reference=reference, bootstrap=BOOT))


@cache
def _faces():
    return synthetic_face_set(
        {
            "big": GroupSpec(subjects=120),
            "big2": GroupSpec(subjects=120, impostor_distance=0.85),
            "thin": GroupSpec(subjects=15),  # 1680 impostor pairs: below the rule of three
            "tiny": GroupSpec(subjects=5),  # suppressed
        },
        seed=2,
    )


def run_face(reference: Any = "largest") -> dict[str, Any]:
    manifest, templates = _faces()
    return face_audit(
        manifest, templates, FaceOptions(target_fmr=1e-3, reference=reference, bootstrap=BOOT)
    )


@dataclass(frozen=True)
class Kind:
    run: Callable[..., dict[str, Any]]
    attribute: str
    suppressed: str
    insufficient: str
    sufficient: str
    rule: str  # what the refusal of the insufficient reference says


KINDS = {
    "classification": Kind(
        run_classification,
        "team",
        "tiny",
        "thin",
        "mid",
        r"has 3 label negatives; the audit needs 30 \(--min-negatives\)",
    ),
    "moderation": Kind(
        run_moderation,
        "team",
        "tiny",
        "thin",
        "mid",
        r"has 3 label negatives; the audit needs 30 \(--min-negatives\)",
    ),
    "recommendation": Kind(
        run_recommendation,
        "gender",
        "X",
        "N",
        "F",
        r"has 15 evaluated users; the audit needs 30 \(--min-users\)",
    ),
    "ads": Kind(
        run_ads,
        "age",
        "90+",
        "75-89",
        "35-54",
        r"has 25 eligible users; the audit needs 30 \(--min-users\)",
    ),
    "face": Kind(
        run_face,
        "group",
        "tiny",
        "thin",
        "big2",
        r"has \d+ impostor pairs; the audit needs 3000 \(--min-impostor-pairs\)",
    ),
}


@cache
def _document(kind: str) -> dict[str, Any]:
    return KINDS[kind].run()


# --------------------------------------------------------------------------- the invariants


def _key(x: Any) -> Any:
    return tuple(x) if isinstance(x, list) else x


def _sections(kind: str, doc: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The document's group records, and for ads each ad's records too."""
    out = [("pooled" if kind == "ads" else kind, doc)]
    out += [(f"ad {a['ad']}", a) for a in doc.get("ads", [])]
    return out


def assert_invariants(where: str, section: dict[str, Any]) -> None:
    suppressed = {(_key(s["attribute"]), _key(s["group"])) for s in section["suppressed_groups"]}
    groups = {(_key(g["attribute"]), _key(g["group"])): g for g in section["groups"]}
    assert not suppressed & groups.keys(), f"{where}: a suppressed group has a group record"
    for d in section.get("disparities", []):
        attr = _key(d["attribute"])
        assert (attr, _key(d["group"])) not in suppressed, f"{where}: {d}"
        assert (attr, _key(d["reference"])) not in suppressed, f"{where}: {d}"
        ref = groups[attr, _key(d["reference"])]
        assert ref["verdicts"]["evidence"] == "sufficient", f"{where}: reference {ref['group']}"
    for s in section["summary"]:
        if s["attribute"] == "catalogue" or s["metric"].startswith("worst_ad_"):
            continue  # catalogue-wide measures; a copy of one ad's summary
        attr = _key(s["attribute"])
        shown = {g for a, g in groups if a == attr}
        insufficient = {
            g
            for (a, g), rec in groups.items()
            if a == attr and rec["verdicts"]["evidence"] != "sufficient"
        }
        included = set(map(_key, s["groups_included"]))
        left_out = set(map(_key, s["groups_excluded_insufficient"]))
        undefined = set(map(_key, s.get("groups_excluded_undefined", [])))
        assert included <= shown - insufficient, f"{where}: {s['metric']} includes {included}"
        assert left_out == insufficient, f"{where}: {s['metric']} lists {left_out}"
        assert included | left_out | undefined == shown, f"{where}: {s['metric']}"


@pytest.mark.parametrize("kind", KINDS)
def test_suppressed_groups_are_nowhere_and_insufficient_ones_never_judge_others(kind):
    doc, k = _document(kind), KINDS[kind]
    Draft202012Validator(load_schema()).validate(json.loads(dumps(doc)))
    for where, section in _sections(kind, doc):
        # the planted groups are what they were planted to be: the checks below are not empty
        assert {"attribute": k.attribute, "group": k.suppressed} in [
            {"attribute": s["attribute"], "group": s["group"]} for s in section["suppressed_groups"]
        ], where
        (thin,) = [
            g
            for g in section["groups"]
            if g["attribute"] == k.attribute and g["group"] == k.insufficient
        ]
        assert thin["verdicts"]["evidence"] == "insufficient_evidence", where
        assert_invariants(where, section)
    compared = [d for d in doc["disparities"] if d["attribute"] == k.attribute]
    assert compared, "the kind compares groups with a reference"
    insufficient = [d for d in compared if d["group"] == k.insufficient]
    assert insufficient and {d["verdict"] for d in insufficient} == {"insufficient_evidence"}


def test_provider_groups_follow_the_same_rules():
    doc = _document("recommendation")
    providers = [g for g in doc["groups"] if g["side"] == "provider"]
    assert {"attribute": "studio", "group": "tiny", "side": "provider",
            "reason": "fewer than 10 catalogue items"} in doc["suppressed_groups"]  # fmt: skip
    rare = next(g for g in providers if g["group"] == "rare")
    assert rare["verdicts"] == {
        "evidence": "insufficient_evidence", "exposure_vs_relevance": "insufficient_evidence"
    }  # fmt: skip
    (s,) = [s for s in doc["summary"] if s["attribute"] == "studio"]
    assert sorted(s["groups_included"]) == ["big", "indie"]
    assert s["groups_excluded_insufficient"] == ["rare"]


@pytest.mark.parametrize("kind", KINDS)
def test_naming_a_suppressed_group_as_reference_is_refused(kind):
    k = KINDS[kind]
    with pytest.raises(ConfigError) as err:
        k.run({k.attribute: k.suppressed})
    msg = str(err.value)
    assert f"reference group {k.suppressed!r} for {k.attribute!r} is suppressed" in msg
    assert "name another group with --reference" in msg
    assert not re.search(r"\bhas \d+", msg)  # its counts stay unpublished


@pytest.mark.parametrize("kind", KINDS)
def test_naming_an_insufficient_group_as_reference_is_refused_with_the_rule(kind):
    k = KINDS[kind]
    with pytest.raises(ConfigError) as err:
        k.run({k.attribute: k.insufficient})
    msg = str(err.value)
    assert f"reference group {k.insufficient!r} for {k.attribute!r}" in msg
    assert re.search(k.rule, msg), msg


@pytest.mark.parametrize("kind", KINDS)
def test_naming_a_sufficient_group_as_reference_works_as_before(kind):
    k = KINDS[kind]
    doc = k.run({k.attribute: k.sufficient})
    compared = [d for d in doc["disparities"] if d["attribute"] == k.attribute]
    assert compared and {d["reference"] for d in compared} == {k.sufficient}
    values = {g["group"]: g["metrics"] for g in doc["groups"] if g["attribute"] == k.attribute}
    for d in compared:
        mine, ref = (
            values[d["group"]][d["metric"]]["value"],
            values[k.sufficient][d["metric"]]["value"],
        )
        assert d["difference"]["value"] == pytest.approx(mine - ref)
        if ref:
            assert d["ratio"]["value"] == pytest.approx(mine / ref)


# --------------------------------------------------------------------------- bias AUCs


def _power_mean(values: list[float]) -> float:
    return float(np.mean(np.power(values, POWER)) ** (1 / POWER))


def _sklearn_bias_aucs(frame: pd.DataFrame, group: str) -> dict[str, float]:
    y, s, m = frame["label"].to_numpy(), frame["score"].to_numpy(), (frame["team"] == group)
    m = m.to_numpy()
    bpsn = (~m & (y == 1)) | (m & (y == 0))
    bnsp = (~m & (y == 0)) | (m & (y == 1))
    return {
        "subgroup_auc": roc_auc_score(y[m], s[m]),
        "bpsn_auc": roc_auc_score(y[bpsn], s[bpsn]),
        "bnsp_auc": roc_auc_score(y[bnsp], s[bnsp]),
    }


def test_bias_auc_power_means_are_over_sufficient_groups_only():
    doc = _document("moderation")
    (block,) = doc["moderation"]["bias_aucs"]
    by_group = {g["group"]: g for g in block["groups"]}
    assert "tiny" not in by_group  # suppressed
    assert by_group["thin"]["verdicts"]["evidence"] == "insufficient_evidence"
    assert (by_group["thin"]["positives"], by_group["thin"]["negatives"]) == (37, 3)
    frame = _labelled_frame()
    independent = {g: _sklearn_bias_aucs(frame, g) for g in ("big", "mid", "thin")}
    for name, mean in block["generalized_means"].items():
        assert mean["groups_included"] == ["big", "mid"]
        assert mean["groups_excluded_insufficient"] == ["thin"]
        expected = _power_mean([independent[g][name] for g in ("big", "mid")])
        assert mean["value"] == pytest.approx(expected, abs=1e-9)
        assert mean["ci_low"] <= mean["value"] <= mean["ci_high"]
    # Three acceptable posts scoring 0.97 give "thin" a BPSN AUC near 0; counted, they would
    # drag the power mean of every group's BPSN down to about that.
    assert independent["thin"]["bpsn_auc"] < 0.1
    dragged = _power_mean([independent[g]["bpsn_auc"] for g in ("big", "mid", "thin")])
    assert dragged < 0.15
    assert block["generalized_means"]["bpsn_auc"]["value"] > 0.8
    means = sum(block["generalized_means"][k]["value"] for k in independent["big"])
    assert block["final_score"]["value"] == pytest.approx(
        0.25 * block["overall_auc"]["value"] + 0.25 * means
    )


def test_an_undefined_subgroup_auc_is_listed_as_left_out(tmp_path):
    frame = _labelled_frame()
    frame.loc[frame["team"] == "thin", "label"] = 1  # no acceptable posts: AUC undefined
    frame.to_csv(tmp_path / "posts.csv", index=False)
    data = load_labelled_set(tmp_path / "posts.csv", label="label", score="score", groups=["team"])
    engine = EngineSettings(min_positives=0, min_negatives=0, bootstrap=BOOT)
    doc = moderation_audit(data, options=ClassificationOptions(engine=engine, sweep=()))
    (block,) = doc["moderation"]["bias_aucs"]
    means = block["generalized_means"]
    assert {g["group"]: g["verdicts"]["evidence"] for g in block["groups"]} == {
        "big": "sufficient", "mid": "sufficient", "thin": "sufficient"
    }  # fmt: skip
    for name in ("subgroup_auc", "bpsn_auc"):  # both need the group's acceptable posts
        assert means[name]["groups_excluded_undefined"] == ["thin"]
        assert means[name]["groups_included"] == ["big", "mid"]
        expected = _power_mean([_sklearn_bias_aucs(frame, g)[name] for g in ("big", "mid")])
        assert means[name]["value"] == pytest.approx(expected, abs=1e-9)
    assert means["bnsp_auc"]["groups_included"] == ["big", "mid", "thin"]
    assert "groups_excluded_undefined" not in means["bnsp_auc"]


def test_gate_marks_an_insufficient_bias_auc_group_insufficient_not_failed():
    policy = Policy.model_validate(
        {
            "id": "t",
            "version": "1",
            "insufficient": "warn",
            "checks": [
                {"id": "bpsn", "source": "test", "kinds": ["moderation"], "metric": "bpsn_auc",
                 "aggregation": "bias_auc", "min": 0.8},
                {"id": "mean", "source": "test", "kinds": ["moderation"],
                 "metric": "generalized_mean_bpsn_auc", "aggregation": "bias_auc", "min": 0.8},
            ],
        }
    )  # fmt: skip
    decision = evaluate(policy, [_document("moderation")])
    out = {(o.check_id, o.observation.where()): o for o in decision.outcomes}
    thin = out["bpsn", "team=thin"]
    assert thin.observation.value < 0.1  # would fail the 0.8 floor if it were judged
    assert thin.status == "INSUFFICIENT" and thin.effect == "warn"
    assert "3 negatives, the audit needs 30" in thin.reason
    assert out["bpsn", "team=big"].status in ("PASS", "FAIL")
    mean = out["mean", "team"]
    assert mean.status == "PASS"
    assert "without sufficient evidence, left out: thin" in mean.reason
