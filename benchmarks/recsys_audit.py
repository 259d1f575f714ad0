"""Benchmark: per-user ranking metrics for 1M users x top-20, vectorised against a Python loop.

Both sides compute NDCG@k, recall@k, precision@k and hit rate for every user and their means
per user group from the same inputs (ranked lists as a ``(users, k)`` item matrix, held-out
judgments as (user, item) arrays). The loop is the straightforward implementation: group the
judgments into a set per user, then one Python iteration per user. It runs on a subset of users
(``--loop-users``) and its time is scaled linearly to all users — printed as such. Per-user
values must agree to 1e-12 on that subset.

The full audit (user and provider side, bootstrap intervals) is timed too, on the same data.

Run: ``.venv/bin/python benchmarks/recsys_audit.py``.
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
import pandas as pd

from audit.metrics import BootstrapSettings
from audit.metrics._ranking import gains_at_k, ideal_dcg_binary, user_metrics
from audit.recommendation import Evaluation, RecommendationOptions, Relevance, recommendation_audit


def make_data(users: int, items: int, k: int, seed: int) -> dict[str, np.ndarray]:
    """Random lists (distinct items per row) and 1-8 held-out items per user, some hit."""
    rng = np.random.default_rng(seed)
    start = rng.integers(0, items, (users, 1))
    step = rng.integers(1, items // k, (users, 1))
    recs = ((start + step * np.arange(k)) % items).astype(np.int64)
    n_rel = rng.integers(1, 9, users)
    ju = np.repeat(np.arange(users, dtype=np.int64), n_rel)
    ji = rng.integers(0, items, len(ju)).astype(np.int64)
    # About a third of users get one held-out item placed somewhere in their list.
    first = np.concatenate([[0], np.cumsum(n_rel)[:-1]])
    lucky = rng.random(users) < 0.35
    ji[first[lucky]] = recs[lucky, rng.integers(0, k, int(lucky.sum()))]
    # Drop repeated (user, item) judgments.
    key = ju * items + ji
    _, keep = np.unique(key, return_index=True)
    keep.sort()
    group = rng.choice(3, users, p=[0.5, 0.3, 0.2]).astype(np.int64)
    return {"recs": recs, "ju": ju[keep], "ji": ji[keep], "group": group}


def ours(d: dict[str, np.ndarray], items: int, k: int) -> tuple[dict[str, np.ndarray], list]:
    users = len(d["recs"])
    gain = np.ones(len(d["ju"]))
    n_rel = np.bincount(d["ju"], minlength=users)
    gains = gains_at_k(d["recs"], d["ju"], d["ji"], gain)
    per_user = user_metrics(gains, ideal_dcg_binary(n_rel, k), n_rel, k)
    size = np.bincount(d["group"], minlength=3)
    means = [np.bincount(d["group"], weights=v, minlength=3) / size for v in per_user.values()]
    return per_user, means


def loop(d: dict[str, np.ndarray], k: int, users: int) -> dict[str, list[float]]:
    """One Python iteration per user, as a straightforward implementation would do it."""
    relevant: dict[int, set[int]] = {}
    for u, i in zip(d["ju"].tolist(), d["ji"].tolist(), strict=True):
        if u < users:
            relevant.setdefault(u, set()).add(i)
    out: dict[str, list[float]] = {"ndcg": [], "recall": [], "precision": [], "hit_rate": []}
    sums: dict[int, list[float]] = {}
    for u in range(users):
        rel = relevant.get(u, set())
        ranked = d["recs"][u].tolist()
        hits = [1.0 if item in rel else 0.0 for item in ranked]
        dcg = sum(h / math.log2(r + 2) for r, h in enumerate(hits))
        idcg = sum(1.0 / math.log2(r + 2) for r in range(min(k, len(rel))))
        n_hits = sum(hits)
        vals = (dcg / idcg, n_hits / len(rel), n_hits / k, float(n_hits > 0))
        for name, v in zip(out, vals, strict=True):
            out[name].append(v)
        acc = sums.setdefault(int(d["group"][u]), [0.0] * 5)
        acc[0] += 1
        for j, v in enumerate(vals):
            acc[j + 1] += v
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=1_000_000)
    ap.add_argument("--items", type=int, default=50_000)
    ap.add_argument("--k", type=int, default=20)
    ap.add_argument("--loop-users", type=int, default=100_000)
    ap.add_argument("--resamples", type=int, default=1000)
    a = ap.parse_args()

    d = make_data(a.users, a.items, a.k, seed=0)

    t0 = time.perf_counter()
    per_user, _ = ours(d, a.items, a.k)
    t_ours = time.perf_counter() - t0

    sub = min(a.loop_users, a.users)
    t0 = time.perf_counter()
    ref = loop(d, a.k, sub)
    t_loop = time.perf_counter() - t0
    t_loop_scaled = t_loop * a.users / sub

    worst = max(float(np.max(np.abs(np.asarray(ref[m]) - per_user[m][:sub]))) for m in per_user)

    # The full audit on the same lists: both sides, 1000 bootstrap resamples.
    users = a.users
    ev = Evaluation(
        user_ids=pd.Index(np.arange(users).astype(str)),
        user_attributes=pd.DataFrame({"group": np.array(["a", "b", "c"])[d["group"]]}),
        item_ids=pd.Index(np.arange(a.items).astype(str)),
        in_catalogue=np.ones(a.items, dtype=bool),
        item_attributes=pd.DataFrame(
            {"provider": np.array(["p0", "p1", "p2", "p3"])[np.arange(a.items) % 4]}
        ),
        recs=d["recs"],
        has_list=np.ones(users, dtype=bool),
        judged_user=d["ju"],
        judged_item=d["ji"],
        judged_gain=np.ones(len(d["ju"])),
        popularity=np.bincount(d["ji"], minlength=a.items).astype(np.float64),
        popularity_source="judgments",
        relevance=Relevance(),
        mode={"kind": "benchmark"},
        model={"kind": "benchmark"},
        inputs=[],
    )
    opts = RecommendationOptions(k=a.k, bootstrap=BootstrapSettings(a.resamples, 0.95, 0))
    t0 = time.perf_counter()
    recommendation_audit(ev, opts)
    t_audit = time.perf_counter() - t0

    print(
        f"users={a.users:,} k={a.k} items={a.items:,} judgments={len(d['ju']):,} "
        "metrics=ndcg,recall,precision,hit_rate + means over 3 user groups"
    )
    print(f"ours (audit.metrics._ranking, vectorised): {t_ours:.2f} s")
    print(
        f"per-user Python loop: {t_loop:.2f} s measured on {sub:,} users, "
        f"{t_loop_scaled:.1f} s scaled linearly to {a.users:,}"
    )
    print(f"ratio (loop scaled / ours): {t_loop_scaled / t_ours:.0f}x")
    print(
        f"largest per-user difference on the {sub:,} loop users: {worst:.1e} "
        f"({'equal' if worst < 1e-12 else 'DIFFER'})"
    )
    print(
        f"full recommendation_audit (user + provider side, {a.resamples} resamples, "
        f"intersections, exposure, Gini, coverage, ARP/APLT): {t_audit:.2f} s"
    )


if __name__ == "__main__":
    main()
