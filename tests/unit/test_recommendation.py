"""Recommendation audit: hand-made lists with known answers, bad input, models, MovieLens."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from jsonschema import Draft202012Validator

from audit.exceptions import ConfigError, DataError, ModelError
from audit.metrics import BootstrapSettings
from audit.recommendation import (
    Columns,
    RecommendationOptions,
    Relevance,
    evaluation_from_lists,
    evaluation_from_model,
    leave_last_out,
    load_recommender,
    recommendation_audit,
)
from audit.recommenders import ItemKNNRecommender, PopularityRecommender
from audit.results import dumps, load_schema

W2 = 1 / math.log2(3)  # weight of rank 2
OPTIONS = RecommendationOptions(
    k=3, min_users=5, min_positives=5, bootstrap=BootstrapSettings(300, 0.95, 0)
)

# 24 men whose held-out item is their top item; 16 women, half of them find theirs at rank 2 and
# half not at all; 3 users of gender X (too few to publish).
LISTS = {"M": [0, 1, 5], "F": [2, 6, 7], "X": [0, 5, 9]}


def _people() -> pd.DataFrame:
    genders = ["M"] * 24 + ["F"] * 16 + ["X"] * 3
    return pd.DataFrame(
        {
            "user_id": [f"u{i}" for i in range(len(genders))],
            "gender": genders,
            "age_group": ["young" if i % 2 else "old" for i in range(len(genders))],
        }
    )


def _truth_item(user: int, gender: str) -> int:
    if gender == "M":
        return 0
    if gender == "X":
        return 5
    return 6 if user % 2 == 0 else 9


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    users = _people()
    recs, truth = [], []
    for i, (uid, g) in enumerate(zip(users["user_id"], users["gender"], strict=True)):
        recs += [(uid, item, r + 1) for r, item in enumerate(LISTS[g])]
        truth.append((uid, _truth_item(i, g), 4))
    # 20 items: 0-4 and 10-14 from big studios, the rest independent; item 0 is played most.
    items = pd.DataFrame(
        {
            "item_id": range(20),
            "studio": (["big"] * 5 + ["indie"] * 5) * 2,
            "plays": range(20, 0, -1),
        }
    )
    paths = {
        "users": tmp_path / "users.csv",
        "items": tmp_path / "items.csv",
        "recs": tmp_path / "recs.csv",
        "truth": tmp_path / "truth.csv",
    }
    users.to_csv(paths["users"], index=False)
    items.to_csv(paths["items"], index=False)
    pd.DataFrame(recs, columns=["user_id", "item_id", "rank"]).to_csv(paths["recs"], index=False)
    pd.DataFrame(truth, columns=["user_id", "item_id", "rating"]).to_csv(
        paths["truth"], index=False
    )
    return paths


def _audit(files: dict[str, Path], **kw) -> dict:
    ev = evaluation_from_lists(
        files["recs"],
        files["truth"],
        files["users"],
        user_groups=["gender", "age_group"],
        items=files["items"],
        creator_groups=["studio"],
        k=3,
        **kw,
    )
    return recommendation_audit(ev, OPTIONS)


def _group(doc: dict, attribute, group) -> dict:
    [g] = [g for g in doc["groups"] if g["attribute"] == attribute and g["group"] == group]
    return g


def _estimates(doc: dict):
    for g in doc["groups"]:
        yield from g["metrics"].values()
    for d in doc["disparities"]:
        yield d["difference"]
        yield d["ratio"]
    yield from doc["summary"]


def test_user_groups_match_hand_computation(files):
    doc = _audit(files)
    m, f = _group(doc, "gender", "M")["metrics"], _group(doc, "gender", "F")["metrics"]
    assert m["ndcg"]["value"] == pytest.approx(1.0)
    assert m["precision"]["value"] == pytest.approx(1 / 3)
    assert f["ndcg"]["value"] == pytest.approx(W2 / 2)
    assert f["recall"]["value"] == pytest.approx(0.5)
    assert f["hit_rate"]["value"] == pytest.approx(0.5)
    assert f["precision"]["value"] == pytest.approx(1 / 6)
    assert doc["overall"]["n"] == 43
    assert doc["overall"]["metrics"]["ndcg"]["value"] == pytest.approx((24 + 8 * W2 + 3 * W2) / 43)
    assert _group(doc, "gender", "F")["positives"] == 16
    assert doc["settings"]["k"] == 3


def test_disparities_against_the_largest_group(files):
    doc = _audit(files)
    [d] = [
        d
        for d in doc["disparities"]
        if d["attribute"] == "gender" and d["metric"] == "ndcg" and d["group"] == "F"
    ]
    assert d["reference"] == "M"
    assert d["ratio"]["value"] == pytest.approx(W2 / 2)
    assert d["difference"]["value"] == pytest.approx(W2 / 2 - 1)
    assert d["verdict"] == "outside_band"
    assert _group(doc, "gender", "F")["verdicts"]["ndcg_vs_reference"] == "outside_band"
    [s] = [s for s in doc["summary"] if s["attribute"] == "gender" and s["metric"] == "ndcg_ratio"]
    assert s["value"] == pytest.approx(W2 / 2)
    assert s["groups_included"] == ["F", "M"]


def test_small_groups_are_suppressed_not_published(files):
    doc = _audit(files)
    assert {
        "attribute": "gender",
        "group": "X",
        "side": "user",
        "reason": "fewer than 10 evaluated users",
    } in doc["suppressed_groups"]
    assert not any(g["group"] == "X" for g in doc["groups"] if g["attribute"] == "gender")
    # the intersection is reported too; its cells of 8 women are suppressed
    inter = [g for g in doc["groups"] if g["attribute"] == ["gender", "age_group"]]
    assert {tuple(g["group"]) for g in inter} == {("M", "old"), ("M", "young")}
    hidden = [
        s["group"] for s in doc["suppressed_groups"] if s["attribute"] == ["gender", "age_group"]
    ]
    assert ["F", "old"] in hidden and ["F", "young"] in hidden


def test_insufficient_evidence_is_not_a_verdict(files):
    ev = evaluation_from_lists(
        files["recs"], files["truth"], files["users"], user_groups=["gender"], k=3
    )
    opts = RecommendationOptions(k=3, min_users=20, bootstrap=BootstrapSettings(0))
    doc = recommendation_audit(ev, opts)
    f = _group(doc, "gender", "F")
    assert f["verdicts"] == {
        "evidence": "insufficient_evidence",
        "ndcg_vs_reference": "insufficient_evidence",
    }
    assert f["metrics"]["ndcg"]["ci_low"] is None  # no resamples, no interval


def test_intervals_contain_the_estimates(files):
    doc = _audit(files)
    checked = 0
    for est in _estimates(doc):
        if est["value"] is None or est["ci_low"] is None:
            continue
        assert est["ci_low"] - 1e-12 <= est["value"] <= est["ci_high"] + 1e-12, est
        checked += 1
    assert checked > 50


def test_provider_exposure_matches_hand_computation(files):
    doc = _audit(files)
    big_exposure = 24 * (1 + W2) + 16 * 1 + 3 * 1  # items 0, 1, 2
    indie_exposure = 24 * 0.5 + 16 * (W2 + 0.5) + 3 * (W2 + 0.5)  # items 5, 6, 7, 9
    total = big_exposure + indie_exposure
    big, indie = _group(doc, "studio", "big"), _group(doc, "studio", "indie")
    assert big["side"] == "provider" and big["n"] == 10
    assert big["metrics"]["exposure_share"]["value"] == pytest.approx(big_exposure / total)
    assert indie["metrics"]["exposure_share"]["value"] == pytest.approx(indie_exposure / total)
    assert big["metrics"]["catalogue_share"]["value"] == pytest.approx(0.5)
    assert big["metrics"]["relevance_share"]["value"] == pytest.approx(24 / 43)
    assert indie["metrics"]["exposure_to_relevance_ratio"]["value"] == pytest.approx(
        (indie_exposure / total) / (19 / 43)
    )
    assert big["positives"] == 24 and indie["positives"] == 19
    assert "popularity_tier" in doc["settings"]["provider_attributes"]


def test_catalogue_measures(files):
    doc = _audit(files, popularity_column="plays")
    cat = {s["metric"]: s for s in doc["summary"] if s["attribute"] == "catalogue"}
    assert cat["coverage"]["value"] == pytest.approx(7 / 20)
    exposure = np.zeros(20)
    for g, n in (("M", 24), ("F", 16), ("X", 3)):
        for r, item in enumerate(LISTS[g]):
            exposure[item] += n / math.log2(r + 2)
    mad = np.abs(exposure[:, None] - exposure[None, :]).mean()
    assert cat["gini_exposure"]["value"] == pytest.approx(mad / (2 * exposure.mean()))
    plays = np.arange(20, 0, -1)
    sizes = {"M": 24, "F": 16, "X": 3}
    arp = sum(n * plays[LISTS[g]].mean() for g, n in sizes.items()) / 43
    assert cat["arp"]["value"] == pytest.approx(arp)
    # short head = the 20% most played items (0-3); the rest is the long tail
    aplt = sum(n * np.mean([i > 3 for i in LISTS[g]]) for g, n in sizes.items()) / 43
    assert cat["aplt"]["value"] == pytest.approx(aplt)
    assert doc["settings"]["popularity_source"] == "items column 'plays'"


def test_document_validates_against_the_schema(files):
    doc = _audit(files)
    import json

    Draft202012Validator(load_schema()).validate(json.loads(dumps(doc)))
    assert doc["kind"] == "recommendation"
    assert {i["role"] for i in doc["provenance"]["inputs"]} == {
        "recommendations",
        "truth",
        "users",
        "items",
    }


def test_graded_relevance_with_a_threshold(files):
    truth = pd.read_csv(files["truth"])
    truth["rating"] = np.where(truth.index % 4 == 0, 2, 5)  # every 4th judgment not relevant
    # Two men also rated a listed item low: judged, not relevant, so not a hit.
    low = pd.DataFrame({"user_id": ["u1", "u3"], "item_id": [1, 5], "rating": [1, 1]})
    pd.concat([truth, low]).to_csv(files["truth"], index=False)
    doc = _audit(files, relevance=Relevance(threshold=3, graded=True))
    assert doc["settings"]["relevance"]["kind"] == "graded"
    assert doc["data_quality"]["users_with_only_nonrelevant_heldout"] == 11
    assert doc["overall"]["n"] == 43 - 11
    assert doc["overall"]["negatives"] == 2
    # Men rated their top item 5: the ideal list is that one item, so NDCG is 1 and
    # precision counts only the relevant item.
    m = _group(doc, "gender", "M")["metrics"]
    assert m["ndcg"]["value"] == pytest.approx(1.0)
    assert m["precision"]["value"] == pytest.approx(1 / 3)


# --------------------------------------------------------------------------- bad input


def _write(path: Path, rows: list[tuple], columns: list[str]) -> Path:
    pd.DataFrame(rows, columns=columns).to_csv(path, index=False)
    return path


def test_duplicate_rank_names_file_column_and_row(files, tmp_path):
    bad = _write(
        tmp_path / "dup.csv",
        [("u0", 0, 1), ("u0", 1, 2), ("u0", 5, 2)],
        ["user_id", "item_id", "rank"],
    )
    with pytest.raises(DataError) as err:
        evaluation_from_lists(bad, files["truth"], files["users"], user_groups=["gender"])
    msg = str(err.value)
    assert str(bad) in msg and "column 'rank'" in msg and "row 3" in msg
    assert "1 duplicate (user, rank)" in msg


def test_bad_rank_value(files, tmp_path):
    bad = _write(tmp_path / "r.csv", [("u0", 0, 1), ("u0", 1, 0)], ["user_id", "item_id", "rank"])
    with pytest.raises(DataError, match=r"column 'rank', row 2: rank must be a whole number"):
        evaluation_from_lists(bad, files["truth"], files["users"], user_groups=["gender"])


def test_missing_column_lists_what_the_file_has(files):
    with pytest.raises(DataError, match=r"no column 'position' \(named by --rank-col\)"):
        evaluation_from_lists(
            files["recs"],
            files["truth"],
            files["users"],
            user_groups=["gender"],
            columns=Columns(rank="position"),
        )
    with pytest.raises(DataError, match=r"users.csv, column 'sex'.*--user-groups"):
        evaluation_from_lists(files["recs"], files["truth"], files["users"], user_groups=["sex"])


def test_duplicate_user_in_users_file(files, tmp_path):
    users = pd.read_csv(files["users"])
    pd.concat([users, users.iloc[[3]]]).to_csv(tmp_path / "u.csv", index=False)
    with pytest.raises(DataError, match=r"column 'user_id', row 44: 1 duplicate user id"):
        evaluation_from_lists(
            files["recs"], files["truth"], tmp_path / "u.csv", user_groups=["gender"]
        )


def test_unknown_users_and_users_without_heldout_are_counted(files, tmp_path):
    recs = pd.read_csv(files["recs"])
    extra = pd.DataFrame({"user_id": ["ghost", "ghost"], "item_id": [1, 2], "rank": [1, 2]})
    pd.concat([recs, extra]).to_csv(files["recs"], index=False)
    truth = pd.read_csv(files["truth"])
    truth[truth["user_id"] != "u0"].to_csv(files["truth"], index=False)
    doc = _audit(files)
    q = doc["data_quality"]
    assert q["recommendation_rows_unknown_user"] == 2
    assert q["users_with_list_but_no_heldout"] == 1
    assert doc["overall"]["n"] == 42
    assert any("'ghost'" in m for m in q["messages"])


def test_rating_needed_for_a_threshold(files, tmp_path):
    pd.read_csv(files["truth"]).drop(columns="rating").to_csv(tmp_path / "t.csv", index=False)
    with pytest.raises(DataError, match=r"no column 'rating' \(named by --rating-col\)"):
        evaluation_from_lists(
            files["recs"],
            tmp_path / "t.csv",
            files["users"],
            user_groups=["gender"],
            relevance=Relevance(threshold=4),
        )


def test_creator_group_needs_items(files):
    with pytest.raises(ConfigError, match="--creator-group needs --items"):
        evaluation_from_lists(
            files["recs"],
            files["truth"],
            files["users"],
            user_groups=["gender"],
            creator_groups=["studio"],
        )


# --------------------------------------------------------------------------- model path


def test_leave_last_out_is_per_user_by_time():
    log = pd.DataFrame(
        {
            "user": ["a", "a", "a", "b", "b", "c"],
            "item": ["1", "2", "3", "1", "2", "9"],
            "time": [3.0, 1.0, 2.0, 5.0, 5.0, 1.0],
        }
    )
    train, held, short = leave_last_out(log, 1)
    assert sorted(zip(held["user"], held["item"], strict=True)) == [("a", "1"), ("b", "2")]
    assert short == 1  # c has a single interaction: nothing to learn from if held out
    assert set(train.loc[train["user"] == "c", "item"]) == {"9"}
    with pytest.raises(ConfigError):
        leave_last_out(log, 0)


class FixedLists:
    """A fake platform recommender: the same list for everyone, minus what they have seen."""

    def __init__(self, ranking: list[int], broken: bool = False) -> None:
        self.identity = {"kind": "fake", "name": "fixed"}
        self.ranking, self.broken = ranking, broken
        self.seen: dict = {}

    def fit(self, interactions: pd.DataFrame) -> FixedLists:
        self.seen = interactions.groupby("user_id")["item_id"].agg(set).to_dict()
        return self

    def recommend(self, users, k):
        lists = [[i for i in self.ranking if i not in self.seen.get(u, set())][:k] for u in users]
        return lists[:-1] if self.broken else lists


def _log(tmp_path: Path) -> Path:
    users = _people()
    rows = []
    for n, uid in enumerate(users["user_id"]):
        # every user saw items 7 then 8; the last (held-out) interaction is 0 for even users
        rows += [(uid, 7, 4, 100), (uid, 8, 3, 200), (uid, 0 if n % 2 == 0 else 3, 5, 300 + n)]
    return _write(tmp_path / "log.csv", rows, ["user_id", "item_id", "rating", "timestamp"])


def test_model_path_splits_fits_and_audits(files, tmp_path):
    ev = evaluation_from_model(
        FixedLists([7, 0, 1, 2]),
        _log(tmp_path),
        files["users"],
        user_groups=["gender"],
        k=2,
    )
    doc = recommendation_audit(
        ev, RecommendationOptions(k=2, min_users=5, min_positives=5, bootstrap=BootstrapSettings(0))
    )
    # 7 was seen, so lists are [0, 1]: even users find their held-out 0 at rank 1
    assert doc["overall"]["metrics"]["hit_rate"]["value"] == pytest.approx(22 / 43)
    assert doc["settings"]["evaluation"]["kind"] == "leave_last_n_out"
    assert doc["settings"]["popularity_source"] == "number of training interactions per item"
    assert doc["provenance"]["model"] == {"kind": "fake", "name": "fixed"}


def test_model_returning_too_few_lists(files, tmp_path):
    with pytest.raises(ModelError, match=r"returned 42 lists for 43 users"):
        evaluation_from_model(
            FixedLists([0, 1], broken=True), _log(tmp_path), files["users"], user_groups=["gender"]
        )


def test_load_recommender():
    assert isinstance(load_recommender("popularity"), PopularityRecommender)
    assert load_recommender("tests.unit.test_recommendation:_fixed").identity["name"] == "fixed"
    with pytest.raises(ConfigError, match="use popularity, itemknn, puresvd"):
        load_recommender("nonsense")
    with pytest.raises(ModelError, match="cannot be loaded"):
        load_recommender("no_such_module:thing")
    with pytest.raises(ModelError, match="is not a recommender"):
        load_recommender("math:pi")


def _fixed() -> FixedLists:
    return FixedLists([1, 2, 3])


def test_sample_recommenders_skip_seen_items():
    log = pd.DataFrame(
        {"user_id": [1, 1, 2, 2, 3, 3, 3], "item_id": ["a", "b", "a", "c", "a", "b", "d"]}
    )
    pop = PopularityRecommender().fit(log)
    assert pop.recommend([1, 2, 99], 2) == [["c", "d"], ["b", "d"], []]
    knn = ItemKNNRecommender(neighbours=2).fit(log)
    recs = knn.recommend([1, 2], 3)
    assert all(not {"a", "b"} & set(recs[0]) for _ in [0])
    assert recs == knn.recommend([1, 2], 3)  # deterministic


def test_mostpop_ties_at_rank_k_follow_item_order():
    """60 items seen once each, one seen twice: the tie for the last places of a top-5 list
    goes to the lowest item ids, whatever numpy's partition happens to pick."""
    log = pd.DataFrame(
        [("x", f"i{i:02d}") for i in range(60)] + [("y", "i00")], columns=["user_id", "item_id"]
    )
    pop = PopularityRecommender().fit(log)
    assert pop.recommend(["y"], 5) == [["i01", "i02", "i03", "i04", "i05"]]
    assert pop.recommend(["new"], 5) == [[]]


def test_top_k_breaks_every_tie_by_column():
    from audit.recommenders import top_k

    rng = np.random.default_rng(0)
    scores = rng.integers(0, 3, size=(200, 40)).astype(float)
    scores[:, 5] = -np.inf
    expected = np.array([np.lexsort((np.arange(40), -row))[:7] for row in scores])
    assert (top_k(scores, 7) == expected).all()
    assert top_k(scores, 0).shape == (200, 0)


# --------------------------------------------------------------------------- real data


@pytest.mark.sample
def test_movielens_popularity_and_itemknn_differ(samples):
    if not (samples / "ml100k_ratings.csv").is_file():
        pytest.skip("MovieLens not fetched (run scripts/fetch_samples.py)")
    opts = RecommendationOptions(k=10, bootstrap=BootstrapSettings(200, 0.95, 0))
    docs = {}
    for name in ("popularity", "itemknn"):
        ev = evaluation_from_model(
            load_recommender(name),
            samples / "ml100k_ratings.csv",
            samples / "ml100k_users.csv",
            user_groups=["gender", "age_group"],
            items=samples / "ml100k_items.csv",
            creator_groups=["decade"],
            k=10,
            holdout=1,
        )
        docs[name] = recommendation_audit(ev, opts)
        Draft202012Validator(load_schema()).validate(docs[name])
    pop, knn = docs["popularity"], docs["itemknn"]
    assert pop["overall"]["n"] == knn["overall"]["n"] == 943
    assert {g["group"] for g in pop["groups"] if g["attribute"] == "gender"} == {"F", "M"}

    def cat(doc, metric):
        return next(s["value"] for s in doc["summary"] if s["metric"] == metric)

    # The collaborative model spreads exposure over more of the catalogue and the long tail.
    assert cat(knn, "coverage") > 2 * cat(pop, "coverage")
    assert cat(knn, "gini_exposure") < cat(pop, "gini_exposure")
    assert cat(pop, "aplt") == 0.0 < cat(knn, "aplt")
    assert cat(knn, "arp") < cat(pop, "arp")
    # ... and the gender gap in NDCG@10 points opposite ways for the two models.
    f_pop, m_pop = (_group(pop, "gender", g)["metrics"]["ndcg"]["value"] for g in ("F", "M"))
    f_knn, m_knn = (_group(knn, "gender", g)["metrics"]["ndcg"]["value"] for g in ("F", "M"))
    assert f_pop < m_pop and f_knn > m_knn
