"""Benchmark: per-group rates with bootstrap intervals, ours against fairlearn's MetricFrame.

1,000,000 rows, 6 groups, 1,000 resamples, the seven confusion rates. fairlearn resamples rows
for every bootstrap draw, so it runs fewer resamples here (``--fairlearn-resamples``) and its
time is scaled linearly to 1,000 — printed as such. Point estimates must agree to 1e-9.

Run: ``.venv/bin/python benchmarks/metrics_bootstrap.py`` (or ``make bench``).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
from fairlearn import metrics as flm
from sklearn import metrics as skm

from audit.metrics import BootstrapSettings, EngineSettings, analyse_groups

FAIRLEARN = {
    "tpr": flm.true_positive_rate,
    "fpr": flm.false_positive_rate,
    "fnr": flm.false_negative_rate,
    "tnr": flm.true_negative_rate,
    "precision": lambda y, d: skm.precision_score(y, d, zero_division=np.nan),
    "selection_rate": flm.selection_rate,
    "accuracy": skm.accuracy_score,
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--groups", type=int, default=6)
    ap.add_argument("--resamples", type=int, default=1000)
    ap.add_argument("--fairlearn-resamples", type=int, default=2)
    a = ap.parse_args()

    rng = np.random.default_rng(0)
    g = rng.choice([f"g{i}" for i in range(a.groups)], a.rows)
    y = rng.integers(0, 2, a.rows)
    d = (rng.random(a.rows) < 0.25 + 0.5 * y).astype(np.int64)
    attrs = pd.DataFrame({"group": g})

    t0 = time.perf_counter()
    rep = analyse_groups(
        y, d, attrs, [("group",)], EngineSettings(bootstrap=BootstrapSettings(a.resamples, 0.95, 0))
    )
    ours = time.perf_counter() - t0

    t0 = time.perf_counter()
    mf = flm.MetricFrame(
        metrics=FAIRLEARN,
        y_true=y,
        y_pred=d,
        sensitive_features=g,
        n_boot=a.fairlearn_resamples,
        ci_quantiles=[0.025, 0.975],
        random_state=0,
    )
    fl_measured = time.perf_counter() - t0
    fl_scaled = fl_measured * a.resamples / a.fairlearn_resamples

    worst = max(
        abs(rec["metrics"][m]["value"] - mf.by_group.loc[rec["group"], m])
        for rec in rep.groups
        for m in FAIRLEARN
    )
    print(f"rows={a.rows:,} groups={a.groups} resamples={a.resamples} metrics={len(FAIRLEARN)}")
    print(f"ours (audit.metrics, multinomial count bootstrap): {ours:.3f} s")
    print(
        f"fairlearn MetricFrame(n_boot={a.fairlearn_resamples}): {fl_measured:.2f} s measured, "
        f"{fl_scaled:.1f} s scaled linearly to {a.resamples} resamples"
    )
    print(f"ratio (fairlearn scaled / ours): {fl_scaled / ours:.0f}x")
    print(
        f"largest point-estimate difference: {worst:.2e} ({'equal' if worst < 1e-9 else 'DIFFER'})"
    )


if __name__ == "__main__":
    main()
