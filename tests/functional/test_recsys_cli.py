"""``socialaudit recommendation`` and ``socialaudit ads`` as a user runs them."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from jsonschema import Draft202012Validator

from audit.results import load_schema


def _main(argv: Sequence[str]) -> int:
    """``socialaudit ARGV``: exit code 2 with the message on bad input."""
    from audit import cli

    return cli.main(list(argv))


def run(argv: Sequence[str], capsys) -> tuple[int, str, str]:
    code = _main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def data(tmp_path: Path) -> dict[str, str]:
    """60 users (two genders), 30 items from two studios, a 4-interaction log per user."""
    rng = np.random.default_rng(5)
    users = pd.DataFrame(
        {
            "user_id": range(60),
            "gender": ["F"] * 25 + ["M"] * 35,
            "age_group": rng.choice(["18-34", "35+"], 60),
        }
    )
    items = pd.DataFrame({"item_id": range(30), "studio": ["big"] * 10 + ["indie"] * 20})
    log = []
    for u in range(60):
        seen = rng.choice(
            30, 4, replace=False, p=np.linspace(2, 1, 30) / np.linspace(2, 1, 30).sum()
        )
        log += [(u, int(i), int(rng.integers(1, 6)), 1000 * u + t) for t, i in enumerate(seen)]
    log = pd.DataFrame(log, columns=["user_id", "item_id", "rating", "timestamp"])
    recs = [
        (u, int(i), r + 1)
        for u in range(60)
        for r, i in enumerate(rng.choice(30, 5, replace=False))
    ]
    truth = log.groupby("user_id").tail(1)[["user_id", "item_id", "rating"]]
    paths = {}
    for name, df in (
        ("users", users),
        ("items", items),
        ("log", log),
        ("truth", truth),
        ("recs", pd.DataFrame(recs, columns=["user_id", "item_id", "rank"])),
    ):
        paths[name] = str(tmp_path / f"{name}.csv")
        df.to_csv(paths[name], index=False)
    aud = users.rename(columns={"age_group": "age"})
    imp = [("a1", u) for u in range(60) if u >= 25 or u % 3 == 0] + [("a2", u) for u in range(60)]
    aud.to_csv(tmp_path / "audience.csv", index=False)
    pd.DataFrame(imp, columns=["ad_id", "user_id"]).to_csv(tmp_path / "imp.csv", index=False)
    paths["audience"], paths["impressions"] = (
        str(tmp_path / "audience.csv"),
        str(tmp_path / "imp.csv"),
    )
    paths["out"] = str(tmp_path / "out.json")
    return paths


def _valid(path: str) -> dict:
    doc = json.loads(Path(path).read_text())
    Draft202012Validator(load_schema()).validate(doc)
    return doc


def test_ranked_lists(data, capsys):
    code, out, _ = run(
        [
            "recommendation", "--recommendations", data["recs"], "--truth", data["truth"],
            "--users", data["users"], "--items", data["items"], "--user-groups", "gender,age_group",
            "--creator-group", "studio", "--k", "5", "--resamples", "100", "--min-users", "10",
            "--out", data["out"],
        ],
        capsys,
    )  # fmt: skip
    assert code == 0, out
    assert "users by gender" in out and "provider exposure by studio" in out
    doc = _valid(data["out"])
    assert doc["settings"]["k"] == 5 and doc["overall"]["n"] == 60
    assert {g["group"] for g in doc["groups"] if g["attribute"] == "studio"} == {"big", "indie"}


@pytest.mark.parametrize("model", ["popularity", "itemknn", "puresvd"])
def test_sample_models_on_an_interaction_log(data, capsys, model):
    code, out, _ = run(
        [
            "recommendation", "--model", model, "--interactions", data["log"],
            "--users", data["users"], "--items", data["items"], "--user-groups", "gender",
            "--creator-group", "studio", "--holdout", "1", "--resamples", "50", "--quiet",
            "--out", data["out"],
        ],
        capsys,
    )  # fmt: skip
    assert code == 0
    doc = _valid(data["out"])
    assert doc["provenance"]["model"]["name"] == model
    assert doc["settings"]["evaluation"]["holdout"] == 1
    assert "result written to" in out


def test_bad_input_exits_2_with_file_column_row(data, capsys, tmp_path):
    recs = pd.read_csv(data["recs"])
    recs["rank"] = recs["rank"].astype(float)
    recs.loc[7, "rank"] = 2.5
    recs.to_csv(tmp_path / "bad.csv", index=False)
    code, _, err = run(
        [
            "recommendation", "--recommendations", str(tmp_path / "bad.csv"), "--truth",
            data["truth"], "--users", data["users"], "--user-groups", "gender",
        ],
        capsys,
    )  # fmt: skip
    assert code == 2
    assert "bad.csv, column 'rank', row 8: rank must be a whole number" in " ".join(err.split())
    assert "Traceback" not in err


def test_lists_and_model_together_is_an_error(data, capsys):
    code, _, err = run(
        [
            "recommendation", "--recommendations", data["recs"], "--truth", data["truth"],
            "--model", "popularity", "--interactions", data["log"], "--users", data["users"],
            "--user-groups", "gender",
        ],
        capsys,
    )  # fmt: skip
    assert code == 2 and "either --recommendations and --truth, or --model" in err


def test_ads(data, capsys):
    code, out, _ = run(
        [
            "ads", "--impressions", data["impressions"], "--audience", data["audience"],
            "--groups", "gender", "--min-users", "20", "--resamples", "100", "--out", data["out"],
        ],
        capsys,
    )  # fmt: skip
    assert code == 0
    assert "all ads by gender" in out and "worst ad by gender: a1" in out
    doc = _valid(data["out"])
    a1 = next(a for a in doc["ads"] if a["ad"] == "a1")
    women = next(g for g in a1["groups"] if g["group"] == "F")
    assert women["verdicts"]["four_fifths"] == "fail"  # 9 of 25 women vs all 35 men
    assert women["metrics"]["impact_ratio"]["value"] == pytest.approx(9 / 25)


def test_help_lists_the_flags(capsys):
    with pytest.raises(SystemExit):
        _main(["recommendation", "--help"])
    out = capsys.readouterr().out
    for flag in ("--recommendations", "--truth", "--model", "--interactions", "--creator-group"):
        assert flag in out
