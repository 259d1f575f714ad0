"""Plain-language findings: who, what happens to them, how much more often, how sure."""

from __future__ import annotations

import copy

import pytest

from audit.report import build_report
from audit.report._text import how_often, strength, subject
from tests.unit.report import _docs


@pytest.fixture(scope="module")
def model(moderation_doc):
    return build_report([moderation_doc])


def _disparity(doc, attr, group, metric):
    return next(
        d
        for d in doc["disparities"]
        if d["attribute"] == attr and d["group"] == group and d["metric"] == metric
    )


def test_the_planted_disparity_reads_as_a_sentence_with_the_documents_numbers(
    model, moderation_doc
):
    d = _disparity(moderation_doc, "group", "muslim", "fpr")
    f = next(f for f in model["findings"] if f["group"] == "muslim" and f["metric"] == "fpr")
    ratio = d["ratio"]["value"]
    assert f["text"].startswith(
        "Posts mentioning muslim that break no rule are wrongly flagged "
        f"{ratio:.1f}× as often as the reference group (posts mentioning none)"
    )
    assert (
        f"ratio {ratio:.2f}, 95% CI {d['ratio']['ci_low']:.2f}–{d['ratio']['ci_high']:.2f}"
        in (f["text"])
    )
    assert f["strength"] == "strong"
    assert model["key_findings"][0]["strength"] == "strong"


def test_a_ratio_below_one_keeps_the_group_as_subject_and_names_the_reference(
    model, moderation_doc
):
    d = _disparity(moderation_doc, "group", "christian", "fpr")
    assert d["ratio"]["value"] < 1
    f = next(f for f in model["findings"] if f["group"] == "christian" and f["metric"] == "fpr")
    assert f["text"].startswith(
        f"Posts mentioning christian that break no rule are wrongly flagged "
        f"{1 / d['ratio']['value']:.1f}× less often than the reference group "
        f"(posts mentioning {d['reference']})"
    )
    assert f"ratio {d['ratio']['value']:.2f}" in f["text"]


def test_every_finding_names_the_reference_of_its_disparity_record(model, moderation_doc):
    records = {(d["attribute"], d["group"], d["metric"]): d for d in moderation_doc["disparities"]}
    disparities = [f for f in model["findings"] if f["type"] == "disparity"]
    assert disparities
    lang = moderation_doc["settings"]["language"]
    for f in disparities:
        rec = records[(f["attribute"], f["group"], f["metric"])]
        ref = subject("moderation", rec["attribute"], rec["reference"], lang)
        assert f"the reference group ({ref})" in f["text"], f["text"]
        who = subject("moderation", rec["attribute"], rec["group"], lang)
        assert f["text"].startswith(who[:1].upper() + who[1:]), f["text"]


def test_a_ratio_of_zero_is_a_finding_not_dropped():
    """The worst group (nothing relevant served at all, ratio 0 [0, 0]) must be reported."""
    from audit.report._findings import findings_for

    doc = {
        "kind": "recommendation",
        "settings": {"band": [0.8, 1.25], "k": 10, "ci": {"level": 0.95}},
        "groups": [
            {"attribute": "age", "group": "18-24", "metrics": {"ndcg": {"value": 0.0}}},
            {"attribute": "age", "group": "25-34", "metrics": {"ndcg": {"value": 0.07}}},
        ],
        "disparities": [
            {
                "attribute": "age",
                "group": "18-24",
                "reference": "25-34",
                "metric": "ndcg",
                "ratio": {"value": 0.0, "ci_low": 0.0, "ci_high": 0.0},
                "verdict": "outside_band",
            }
        ],
    }
    groups = {(g["attribute"], g["group"]): g for g in doc["groups"]}
    (f,) = findings_for("recommendation", doc, groups, lambda a, g: False)
    assert f["strength"] == "strong"
    assert "the reference group (users with age = 25-34)" in f["text"]
    assert "0.000, against 0.070" in f["text"] and "none at all" in f["text"]


def test_four_fifths_failures_and_bias_aucs_are_findings(model):
    types = {(f["type"], f["group"]) for f in model["findings"]}
    assert ("four_fifths", "muslim") in types
    assert ("bias_auc", "muslim") in types
    ff = next(f for f in model["findings"] if f["type"] == "four_fifths")
    assert "below the four-fifths threshold of 0.8 (29 CFR 1607.4(D))" in ff["text"]


def test_findings_are_ordered_by_how_sure_then_by_effect_and_evidence(model):
    order = {"strong": 3, "likely": 2, "uncertain": 1, "info": 0}
    ranks = [order[f["strength"]] for f in model["findings"]]
    assert ranks == sorted(ranks, reverse=True)
    strong = [f for f in model["findings"] if f["strength"] == "strong"]
    singles = [f["rank"] for f in strong if " × " not in f["attribute"]]
    assert singles == sorted(singles, reverse=True)


def test_a_clear_gap_on_many_cases_outranks_a_larger_one_on_few():
    """ProPublica's COMPAS headline (ratio 0.52, narrow interval) before a noisier 0.30."""
    from audit.report._findings import rank_key

    def f(v, lo, hi):
        est = {"value": v, "ci_low": lo, "ci_high": hi}
        from audit.report._findings import _log_rank

        return {"strength": "strong", "attribute": "race", "rank": _log_rank(est)}

    big_group = f(0.52, 0.46, 0.59)
    small_group = f(0.30, 0.20, 0.41)
    assert sorted([small_group, big_group], key=rank_key)[0] is big_group


def test_suppressed_and_insufficient_groups_make_no_finding(model):
    groups = {f["group"] for f in model["findings"]}
    assert _docs.TINY_GROUP not in " ".join(str(g) for g in groups)
    assert not any(f["text"].count(_docs.TINY_GROUP) for f in model["findings"])


def test_describe_names_groups_the_users_way(moderation_doc):
    m = build_report([moderation_doc], describe={"group": "comments about {group}"})
    assert any(f["text"].startswith("Comments about muslim") for f in m["findings"])


def test_languages_and_intersections_are_named_in_words():
    assert subject("moderation", "lang", "fr", language="lang") == "posts in French"
    assert subject("moderation", "lang", "xx", language="lang") == "posts in 'xx'"
    assert subject("classification", ["race", "sex"], ["A", "F"]) == (
        "cases with race = A and sex = F"
    )
    assert subject("ads", "age", "18-24") == "users with age = 18-24"


@pytest.mark.parametrize(
    ("ratio", "expected"),
    [
        ({"value": 3.0, "ci_low": 2.0, "ci_high": 4.0}, "strong"),
        ({"value": 1.6, "ci_low": 1.1, "ci_high": 2.0}, "likely"),
        ({"value": 1.6, "ci_low": 0.9, "ci_high": 2.0}, "uncertain"),
        ({"value": 0.5, "ci_low": 0.3, "ci_high": 0.7}, "strong"),
        ({"value": 1.6, "ci_low": None, "ci_high": None}, "uncertain"),
    ],
)
def test_strength_follows_the_interval(ratio, expected):
    assert strength(ratio, (0.8, 1.25))[0] == expected


def test_how_often_reads_naturally():
    assert how_often(3.24) == "3.2× as often as"
    assert how_often(0.43) == "2.3× less often than"


def test_no_interval_no_claim_of_strength(moderation_doc):
    doc = copy.deepcopy(moderation_doc)
    for d in doc["disparities"]:
        d["ratio"]["ci_low"] = d["ratio"]["ci_high"] = None
    m = build_report([doc])
    assert {f["strength"] for f in m["findings"] if f["type"] == "disparity"} == {"uncertain"}
