"""Generate ``tests/fixtures/moderation_small.csv``, the small synthetic moderation test set.

Usage::

    .venv/bin/python scripts/make_fixture.py           # (re)write the fixture
    .venv/bin/python scripts/make_fixture.py --check   # exit 1 if the committed file differs

Everything is synthetic (no real posts, no personal data) and drawn from one fixed seed. The
scores are built so the fixture has known properties a unit test can rely on:

* negatives that mention Muslims get scores pushed up, so at threshold 0.5 the ``muslim`` group
  has a false-positive rate several times that of every other group (a built-in disparity:
  0.505 against 0.030-0.078); positives are drawn from one distribution in every group, so the
  false-negative rates differ only by sampling noise;
* ``gender == "x"`` has exactly 8 rows, to exercise small-group handling (minimum group size,
  wide confidence intervals);
* three languages (en/de/fr) with non-ASCII text (``chrétiens``) to exercise UTF-8 reading.

The summary printed at the end (per-group FPR/FNR at 0.5) is what the tests may assert on.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

REPO_ROOT = Path(__file__).resolve().parent.parent
FIXTURE = REPO_ROOT / "tests" / "fixtures" / "moderation_small.csv"
SEED = 20261122
THRESHOLD = 0.5

GROUP_SIZES = {"muslim": 160, "jewish": 130, "christian": 130, "none": 180}  # 600 rows
N_GENDER_X = 8
BASE_RATE = 0.3  # share of offensive posts, equal in every group: the disparity is in errors
LANGS = (["en", "de", "fr"], [0.6, 0.25, 0.15])

# How each group is named in each language; "none" mentions no identity at all.
WHO = {
    "en": {"muslim": "Muslims", "jewish": "Jews", "christian": "Christians",
           "none": "my neighbours"},
    "de": {"muslim": "Muslime", "jewish": "Juden", "christian": "Christen",
           "none": "meine Nachbarn"},
    "fr": {"muslim": "les musulmans", "jewish": "les juifs", "christian": "les chrétiens",
           "none": "mes voisins"},
}  # fmt: skip

TEMPLATES = {
    ("en", 0): [
        "{who} organised a food drive at the community centre.",
        "Had a great chat with {who} after the match.",
        "{who} are hosting an open day this weekend.",
        "Thanks to {who} for helping with the move.",
    ],
    ("en", 1): [
        "{who} are all liars and cheats.",
        "Nobody wants {who} here, get lost.",
        "I can't stand {who}, they ruin everything.",
    ],
    ("de", 0): [
        "{who} haben im Gemeindezentrum Essen gesammelt.",
        "Nach dem Spiel hatte ich ein nettes Gespräch mit {who}.",
        "{who} laden am Wochenende zum Tag der offenen Tür ein.",
    ],
    ("de", 1): [
        "{who} sind alle Lügner und Betrüger.",
        "Niemand will {who} hier, verschwindet.",
    ],
    ("fr", 0): [
        "{who} ont organisé une collecte au centre social.",
        "Belle discussion avec {who} après le match.",
        "{who} organisent une journée portes ouvertes ce week-end.",
    ],
    ("fr", 1): [
        "{who} sont tous des menteurs.",
        "Personne ne veut de {who} ici, dégagez.",
    ],
}


def _capitalise(sentence: str) -> str:
    return sentence[0].upper() + sentence[1:]


def build(seed: int = SEED) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    groups = np.repeat(list(GROUP_SIZES), list(GROUP_SIZES.values()))
    n = len(groups)
    label = (rng.random(n) < BASE_RATE).astype(int)
    lang = rng.choice(LANGS[0], size=n, p=LANGS[1])

    gender = rng.choice(["f", "m"], size=n)
    gender[rng.choice(n, size=N_GENDER_X, replace=False)] = "x"

    # Scores: positives ~ Beta(5, 2) everywhere (same FNR); negatives ~ Beta(2, 6), except
    # negatives mentioning Muslims ~ Beta(3.5, 3.5): the model over-flags benign posts about them.
    score = np.where(label == 1, rng.beta(5, 2, n), rng.beta(2, 6, n))
    biased = (label == 0) & (groups == "muslim")
    score[biased] = rng.beta(3.5, 3.5, biased.sum())
    score = np.round(score, 3)

    text = [
        _capitalise(
            TEMPLATES[(lg, y)][rng.integers(len(TEMPLATES[(lg, y)]))].format(who=WHO[lg][g])
        )
        for lg, y, g in zip(lang, label, groups, strict=True)
    ]
    df = pd.DataFrame(
        {
            "id": [f"post-{i:04d}" for i in range(n)],
            "text": text,
            "label": label,
            "score": score,
            "lang": lang,
            "group": groups,
            "gender": gender,
        }
    )
    # Interleave the groups so that the file does not read as sorted blocks.
    return df.sample(frac=1, random_state=seed).reset_index(drop=True)


def to_csv_text(df: pd.DataFrame) -> str:
    return df.to_csv(index=False, lineterminator="\n", float_format="%.3f")


def summary(df: pd.DataFrame) -> str:
    lines = []
    for column in ("group", "gender", "lang"):
        for value, g in df.groupby(column):
            pred = g["score"] >= THRESHOLD
            neg, pos = g["label"] == 0, g["label"] == 1
            fpr = (pred & neg).sum() / neg.sum() if neg.any() else float("nan")
            fnr = (~pred & pos).sum() / pos.sum() if pos.any() else float("nan")
            lines.append(
                f"{column}={value:<9} n={len(g):3d} pos={int(pos.sum()):3d} "
                f"FPR={fpr:.3f} FNR={fnr:.3f}"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    args = parser.parse_args(argv)
    df = build()
    text = to_csv_text(df)
    if args.check:
        current = FIXTURE.read_text(encoding="utf-8") if FIXTURE.is_file() else ""
        if current != text:
            print(f"{FIXTURE} is out of date: run scripts/make_fixture.py", file=sys.stderr)
            return 1
        print(f"{FIXTURE.relative_to(REPO_ROOT)} is up to date ({len(df)} rows)")
        return 0
    FIXTURE.parent.mkdir(parents=True, exist_ok=True)
    FIXTURE.write_text(text, encoding="utf-8")
    print(f"wrote {FIXTURE.relative_to(REPO_ROOT)}: {len(df)} rows, threshold {THRESHOLD}")
    print(summary(df))
    return 0


if __name__ == "__main__":
    sys.exit(main())
