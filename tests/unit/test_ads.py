"""Ad-delivery audit: planted skews, verdicts, intervals, per-ad audiences, bad input."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from jsonschema import Draft202012Validator

from audit.ads import AdsOptions, ads_audit, load_delivery
from audit.exceptions import ConfigError, DataError
from audit.metrics import BootstrapSettings
from audit.results import dumps, load_schema

OPTIONS = AdsOptions(bootstrap=BootstrapSettings(400, 0.95, 0))


def _audience(n: int = 2000, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "user_id": [f"u{i}" for i in range(n)],
            "gender": np.where(np.arange(n) % 2 == 0, "F", "M"),
            "age": rng.choice(["18-34", "35-54", "55+"], n, p=[0.45, 0.45, 0.10]),
        }
    )


def _impressions(audience: pd.DataFrame, seed: int = 2) -> pd.DataFrame:
    """A housing ad shown to women at half the rate of men; a neutral ad shown evenly."""
    rng = np.random.default_rng(seed)
    rows = []
    for ad, women_factor in (("housing", 0.5), ("neutral", 1.0)):
        p = np.where(audience["gender"] == "F", 0.4 * women_factor, 0.4)
        for uid in audience["user_id"][rng.random(len(audience)) < p]:
            rows += [(ad, uid)] * int(rng.integers(1, 3))
    return pd.DataFrame(rows, columns=["ad_id", "user_id"])


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    aud = _audience()
    paths = {"audience": tmp_path / "audience.csv", "impressions": tmp_path / "imp.csv"}
    aud.to_csv(paths["audience"], index=False)
    _impressions(aud).to_csv(paths["impressions"], index=False)
    return paths


def _ad(doc: dict, ad: str) -> dict:
    return next(a for a in doc["ads"] if a["ad"] == ad)


def _g(records: list[dict], attribute, group) -> dict:
    return next(g for g in records if g["attribute"] == attribute and g["group"] == group)


def test_skewed_ad_fails_four_fifths_and_neutral_passes(files):
    doc = ads_audit(
        load_delivery(files["impressions"], files["audience"], groups=["gender"]), OPTIONS
    )
    housing, neutral = _ad(doc, "housing")["groups"], _ad(doc, "neutral")["groups"]
    f_h = _g(housing, "gender", "F")
    assert f_h["verdicts"]["four_fifths"] == "fail"
    assert f_h["metrics"]["impact_ratio"]["value"] == pytest.approx(0.5, abs=0.08)
    assert f_h["metrics"]["skew_ratio"]["value"] < 0.8 and f_h["verdicts"]["skew"] == "outside_band"
    assert _g(housing, "gender", "M")["verdicts"]["four_fifths"] == "pass"
    assert all(g["verdicts"]["four_fifths"] == "pass" for g in neutral)
    worst = next(s for s in doc["summary"] if s["metric"] == "worst_ad_delivery_impact_ratio")
    assert worst["ad"] == "housing" and worst["value"] < 0.8


def test_shares_match_direct_counts(files):
    aud = pd.read_csv(files["audience"])
    imp = pd.read_csv(files["impressions"])
    doc = ads_audit(
        load_delivery(files["impressions"], files["audience"], groups=["gender"]), OPTIONS
    )
    h = imp[imp["ad_id"] == "housing"].merge(aud, on="user_id")
    f = _g(_ad(doc, "housing")["groups"], "gender", "F")
    women = (aud["gender"] == "F").sum()
    assert f["n"] == women
    assert f["metrics"]["eligible_share"]["value"] == pytest.approx(women / len(aud))
    assert f["metrics"]["delivery_share"]["value"] == pytest.approx((h["gender"] == "F").mean())
    assert f["metrics"]["delivery_rate"]["value"] == pytest.approx(
        (h["gender"] == "F").sum() / women
    )
    reached = h.loc[h["gender"] == "F", "user_id"].nunique()
    assert f["metrics"]["reach_rate"]["value"] == pytest.approx(reached / women)
    assert f["positives"] == reached and f["negatives"] == women - reached
    # pooled over both ads: eligible pairs = 2 per user
    pooled = _g(doc["groups"], "gender", "F")
    both = imp.merge(aud, on="user_id")
    assert pooled["metrics"]["delivery_share"]["value"] == pytest.approx(
        (both["gender"] == "F").mean()
    )


def test_intervals_contain_estimates_and_document_validates(files):
    doc = ads_audit(
        load_delivery(files["impressions"], files["audience"], groups=["gender", "age"]), OPTIONS
    )
    Draft202012Validator(load_schema()).validate(json.loads(dumps(doc)))
    estimates = [m for g in doc["groups"] for m in g["metrics"].values()]
    estimates += [m for a in doc["ads"] for g in a["groups"] for m in g["metrics"].values()]
    estimates += [d["ratio"] for d in doc["disparities"]] + doc["summary"]
    checked = 0
    for e in estimates:
        if e["value"] is not None and e["ci_low"] is not None:
            assert e["ci_low"] - 1e-12 <= e["value"] <= e["ci_high"] + 1e-12
            checked += 1
    assert checked > 100
    assert any(g["attribute"] == ["gender", "age"] for g in doc["groups"])


def test_small_groups_suppressed_and_insufficient(tmp_path, files):
    aud = pd.read_csv(files["audience"])
    aud.loc[:5, "age"] = "90+"  # 6 users: suppressed
    aud.loc[6:30, "age"] = "75-89"  # 25 users: shown, below the evidence rule of 30
    aud.to_csv(files["audience"], index=False)
    doc = ads_audit(load_delivery(files["impressions"], files["audience"], groups=["age"]), OPTIONS)
    assert {"attribute": "age", "group": "90+", "reason": "fewer than 10 eligible users"} in doc[
        "suppressed_groups"
    ]
    old = _g(doc["groups"], "age", "75-89")
    assert old["verdicts"]["four_fifths"] == "insufficient_evidence"


def test_per_ad_audience_and_impressions_outside_it(tmp_path):
    aud = _audience(400)
    rows = [("jobs", u, g, a) for u, g, a in aud.itertuples(index=False)] + [
        ("loans", u, g, a) for u, g, a in aud.itertuples(index=False) if g == "M"
    ]
    per_ad = pd.DataFrame(rows, columns=["ad_id", "user_id", "gender", "age"])
    per_ad.to_csv(tmp_path / "aud.csv", index=False)
    imp = pd.DataFrame(
        {
            "ad_id": ["jobs", "jobs", "loans", "loans", "jobs"],
            "user_id": ["u0", "u1", "u1", "u0", "zz"],
        }
    )
    imp.to_csv(tmp_path / "imp.csv", index=False)
    d = load_delivery(tmp_path / "imp.csv", tmp_path / "aud.csv", groups=["gender"])
    assert d.per_ad_audience
    # u0 is a woman, not eligible for loans; zz is nobody
    assert d.data_quality["impressions_outside_audience"] == 1
    assert d.data_quality["impressions_unknown_user"] == 1
    doc = ads_audit(d, AdsOptions(bootstrap=BootstrapSettings(0)))
    loans = _ad(doc, "loans")
    assert loans["eligible"] == 200 and loans["impressions"] == 1
    assert doc["settings"]["eligibility"] == "per-ad rows of the audience file"


def test_bad_input_messages(tmp_path, files):
    aud = pd.read_csv(files["audience"])
    pd.concat([aud, aud.iloc[[7]]]).to_csv(tmp_path / "dup.csv", index=False)
    with pytest.raises(
        DataError, match=r"dup.csv, column 'user_id', row 2001: duplicate user 'u7'"
    ):
        load_delivery(files["impressions"], tmp_path / "dup.csv", groups=["gender"])
    with pytest.raises(DataError, match=r"no column 'race' \(named by --groups\)"):
        load_delivery(files["impressions"], files["audience"], groups=["race"])
    with pytest.raises(DataError, match=r"imp.csv, column 'campaign'"):
        load_delivery(files["impressions"], files["audience"], groups=["gender"], ad_col="campaign")
    with pytest.raises(ConfigError):
        load_delivery(files["impressions"], files["audience"], groups=[])
    per_ad = pd.DataFrame({"ad_id": ["a", "b"], "user_id": ["u1", "u1"], "gender": ["F", "M"]})
    per_ad.to_csv(tmp_path / "clash.csv", index=False)
    with pytest.raises(
        DataError, match=r"column 'gender', row 2: user 'u1' has a different gender"
    ):
        load_delivery(files["impressions"], tmp_path / "clash.csv", groups=["gender"])


@pytest.mark.parametrize(("women_reached", "verdict"), [(48, "pass"), (47, "fail")])
def test_delivery_at_exactly_four_fifths_passes(tmp_path, women_reached, verdict):
    """48 of 80 women against 60 of 80 men is exactly 4/5, not adverse impact under
    29 CFR 1607.4(D) (floats make it 0.7999999999999999); 47 of 80 is."""
    users = [(f"f{i}", "F") for i in range(80)] + [(f"m{i}", "M") for i in range(80)]
    pd.DataFrame(users, columns=["user_id", "gender"]).to_csv(tmp_path / "aud.csv", index=False)
    shown = [f"f{i}" for i in range(women_reached)] + [f"m{i}" for i in range(60)]
    pd.DataFrame({"ad_id": "job", "user_id": shown}).to_csv(tmp_path / "imp.csv", index=False)
    doc = ads_audit(
        load_delivery(tmp_path / "imp.csv", tmp_path / "aud.csv", groups=["gender"]), OPTIONS
    )
    women = _g(_ad(doc, "job")["groups"], "gender", "F")
    assert women["metrics"]["impact_ratio"]["exact"] == str(Fraction(women_reached, 60))
    assert women["verdicts"]["four_fifths"] == verdict
    Draft202012Validator(load_schema()).validate(json.loads(dumps(doc)))
