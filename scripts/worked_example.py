"""The release gate on three models trained on the same COMPAS data (docs/worked-example.md).

Usage::

    .venv/bin/python scripts/worked_example.py [--samples DIR] [--out DIR] [--seed N]

Splits ProPublica's COMPAS sample (fetched by ``make data``) in half, trains on one half and
scores the other with:

``biased``
    logistic regression on race, sex, age band and the COMPAS decile score (race directly, and
    a score ProPublica found to err against Black defendants);
``unaware``
    the same regression without race and without the decile score ("fairness through
    unawareness");
``postprocessed``
    the ``biased`` regression followed by fairlearn's ``ThresholdOptimizer`` fitted for
    equalized odds across race on the training half (group-specific, randomised thresholds);
``regressed``
    a later release of ``postprocessed`` that turns 8 % of Black defendants' favourable
    decisions (rated low risk) into adverse ones, everything else unchanged — a regression that
    every absolute threshold of the policy lets through.

Each test-half scores file goes to ``<out>/<model>.csv``; then, exactly as a user would,
``socialaudit classification`` audits it by race and ``socialaudit gate`` applies
``policies/default.yaml`` (JUnit and Markdown next to it). ``postprocessed`` is gated with
``--blessing``, as the release that passed; ``regressed`` is gated without a baseline and then
with that blessing as ``--baseline``. The script prints each gate's verdict and exits 0 when the
biased model is blocked, the post-processed one passes and the regression is caught against the
baseline, 1 otherwise.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
FEATURES = {
    "biased": (["race", "sex", "age_cat"], ["decile_score"]),
    "unaware": (["sex", "age_cat"], []),
}
#: Too few rows to fit group thresholds on; pooled with "Other" for the post-processor only.
POOLED = {"Asian": "Other", "Native American": "Other"}
#: The regression: this share of one group's favourable decisions flipped to adverse.
FLIPPED_SHARE, FLIPPED_GROUP = 0.08, "African-American"


def design(frame: pd.DataFrame, categorical: list[str], numeric: list[str]) -> pd.DataFrame:
    x = pd.get_dummies(frame[categorical].astype(str)).astype(float)
    for col in numeric:
        x[col] = frame[col].astype(float)
    return x


def train_and_score(data: pd.DataFrame, seed: int) -> dict[str, pd.DataFrame]:
    """The test half with each model's score (or decision) column."""
    from fairlearn.postprocessing import ThresholdOptimizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split

    train, test = train_test_split(
        data, test_size=0.5, random_state=seed, stratify=data["two_year_recid"]
    )
    keep = ["id", "two_year_recid", "race", "sex"]
    out = {}
    fitted = {}
    for name, (cat, num) in FEATURES.items():
        x_all = design(data, cat, num)  # one column set for both halves
        model = LogisticRegression(max_iter=1000).fit(
            x_all.loc[train.index], train["two_year_recid"]
        )
        fitted[name] = (model, x_all)
        scores = model.predict_proba(x_all.loc[test.index])[:, 1]
        out[name] = test[keep].assign(score=np.round(scores, 6))
    model, x_all = fitted["biased"]
    post = ThresholdOptimizer(
        estimator=model,
        constraints="equalized_odds",
        objective="balanced_accuracy_score",
        prefit=True,
        predict_method="predict_proba",
    )
    post.fit(
        x_all.loc[train.index],
        train["two_year_recid"],
        sensitive_features=train["race"].replace(POOLED),
    )
    decisions = post.predict(
        x_all.loc[test.index],
        sensitive_features=test["race"].replace(POOLED),
        random_state=seed,
    )
    out["postprocessed"] = test[keep].assign(decision=np.asarray(decisions, dtype=int))
    out["regressed"] = regress(out["postprocessed"], seed)
    return out


def regress(frame: pd.DataFrame, seed: int) -> pd.DataFrame:
    """``frame`` with FLIPPED_SHARE of FLIPPED_GROUP's favourable decisions (0: low risk) made
    adverse (1), chosen at random (seeded)."""
    favourable = frame.index[(frame["race"] == FLIPPED_GROUP) & (frame["decision"] == 0)]
    rng = np.random.default_rng(seed)
    flip = rng.choice(favourable, size=round(FLIPPED_SHARE * len(favourable)), replace=False)
    out = frame.copy()
    out.loc[flip, "decision"] = 1
    return out


def socialaudit(*args: str) -> int:
    cmd = [sys.executable, "-m", "audit.cli", *args]
    print("$ socialaudit " + " ".join(args), flush=True)
    return subprocess.run(cmd, cwd=ROOT, check=False).returncode


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--samples", type=Path, default=ROOT / ".cache" / "samples")
    p.add_argument("--out", type=Path, default=ROOT / "out" / "worked-example")
    p.add_argument("--policy", type=Path, default=ROOT / "policies" / "default.yaml")
    p.add_argument("--seed", type=int, default=0, help="train/test split and post-processor")
    p.add_argument("--resamples", type=int, default=1000)
    args = p.parse_args(argv)

    compas = args.samples / "compas.csv"
    if not compas.is_file():
        print(f"{compas} not found: run `make data` first", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    frames = train_and_score(pd.read_csv(compas), args.seed)
    blessing = args.out / "postprocessed-blessing.json"

    codes = {}
    for name, frame in frames.items():
        csv = args.out / f"{name}.csv"
        frame.to_csv(csv, index=False)
        model = ["--score", "score"] if "score" in frame else ["--decision", "decision"]
        result = args.out / f"{name}.json"
        print(f"\n== {name}: {len(frame)} test rows", flush=True)
        code = socialaudit(
            "classification", "--data", str(csv), "--id", "id", "--label", "two_year_recid",
            *model, "--groups", "race", "--resamples", str(args.resamples),
            "--seed", str(args.seed), "--no-explain", "--quiet", "--out", str(result),
        )  # fmt: skip
        if code != 0:
            return code
        gate = [
            "gate", "--policy", str(args.policy), str(result),
            "--junit", str(args.out / f"{name}-gate.xml"),
            "--markdown", str(args.out / f"{name}-gate.md"),
        ]  # fmt: skip
        if name == "postprocessed":  # the release that passes: the next one's baseline
            gate += ["--blessing", str(blessing)]
        if name == "regressed":
            codes["regressed, no baseline"] = socialaudit(*gate)
            gate += ["--baseline", str(blessing)]
        codes[name if name != "regressed" else "regressed vs postprocessed"] = socialaudit(*gate)

    print("\n== outcome")
    for name, code in codes.items():
        verdict = {0: "passed", 1: "BLOCKED", 3: "no decision"}.get(code, f"error (exit {code})")
        print(f"{name:<28} exit {code}  {verdict}")
    caught = codes["regressed vs postprocessed"] == 1
    return 0 if codes["biased"] == 1 and codes["postprocessed"] == 0 and caught else 1


if __name__ == "__main__":
    sys.exit(main())
