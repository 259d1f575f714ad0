"""Benchmark: PII scan throughput through the local fan-out, 1 worker process against 2.

The same scan (``kind: pii``) runs through the whole pipeline — submit, dispatch by bytes,
local queue, worker processes, aggregate — once with 1 worker process and once with 2, on the
same generated posts. Each side first runs a small warm-up scan so every worker process has
loaded its spaCy model (as a warm Lambda execution environment has); the timed scan is the
second, timed from submit until its last batch is counted; the one aggregator's merge and
report rendering that follow (a fixed cost no worker count changes) are printed apart. Prints
posts/s for both and the ratio. Goal (issue 8): ≥ 1.7× on 2 cores.

Run: ``.venv/bin/python benchmarks/fanout.py [--posts 60000] [--batches 48] [--kind KIND]``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import tempfile
import time
from pathlib import Path

from audit import scans
from audit.storage import Settings, make_backend

THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS")

_TEXT = (
    "the a great day at lunch with friends new post check this out wow love it so much "
    "can't wait weekend game tonight who is coming"
)
_WORDS = _TEXT.split()
_PII = [
    "mail me at jane.doe{n}@example.com",
    "call me on +44 20 7946 {n:04d}",
    "card 4111 1111 1111 1111 exp 12/29",
    "this is Maria Gonzalez from Madrid",
    "my IP is 192.168.{a}.{b}",
]


def write_posts(folder: Path, n: int, files: int, seed: int = 0) -> None:
    """``n`` social posts over ``files`` JSON-lines files; about 40 % carry PII."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    handles = [(folder / f"part-{i:03d}.jsonl").open("w") for i in range(files)]
    for i in range(n):
        text = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(8, 40)))
        if rng.random() < 0.4:
            text += " " + rng.choice(_PII).format(n=i % 10000, a=i % 250, b=(i // 250) % 250)
        handles[i % files].write(json.dumps({"id": f"p{i}", "text": text}) + "\n")
    for h in handles:
        h.close()


def run(
    kind: str,
    source: Path,
    home: Path,
    workers: int,
    batch_bytes: int,
    n_warm: int,
    threads: int | None = None,
) -> tuple[float, float]:
    """Seconds for one scan of ``source`` with ``workers`` local worker processes.

    Returns the seconds from submitting the scan to its last batch counted (dispatch and the
    batches: the fan-out), and the seconds after that to ``succeeded`` (the one aggregator:
    merging partials and rendering the report, which no worker count changes).

    ``threads`` fixes the numeric libraries' threads per process (default: the local queue's
    share of the cores).
    """
    for var in THREAD_VARS:
        os.environ.pop(var, None)
        if threads is not None:
            os.environ[var] = str(threads)  # inherited by the spawned worker processes
    settings = Settings(home=home, workers=workers, batch_bytes=batch_bytes)
    backend = make_backend(settings)
    try:
        # Warm-up on other posts (the detector remembers texts it has seen), in batches of the
        # same size, so that every worker process has loaded its detector.
        warm = home / "warm"
        write_posts(warm, n_warm, files=4, seed=1)
        for folder in (warm, source):
            t0 = time.perf_counter()
            body = {"kind": kind, "source": str(folder)}
            if kind == "pii":
                body["id_field"] = "id"
            request = scans.parse_request(body)
            scan, _ = scans.submit_scan(backend, request)
            while True:  # until every batch is counted: the part the workers share
                now = backend.store.get_scan(scan.id)
                if now is not None and now.all_batches_finished:
                    break
                time.sleep(0.02)
            elapsed = time.perf_counter() - t0
            assert backend.queue.join(timeout=3600)  # type: ignore[attr-defined]
            merged = time.perf_counter() - t0 - elapsed
            done = backend.store.get_scan(scan.id)
            assert done is not None and done.status == "succeeded", done
        return elapsed, merged
    finally:
        backend.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--posts", type=int, default=60000)
    ap.add_argument("--kind", choices=("pii", "inventory"), default="pii")
    ap.add_argument("--batches", type=int, default=48, help="about this many batches")
    a = ap.parse_args()
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "posts"
        write_posts(source, a.posts, files=4)
        size = sum(p.stat().st_size for p in source.iterdir())
        batch_bytes = max(1024, size // a.batches)
        n_warm = a.posts // 2
        cpus = os.cpu_count() or 1
        one, merge1 = run(a.kind, source, Path(tmp) / "home1", 1, batch_bytes, n_warm, threads=1)
        one_all, _ = run(a.kind, source, Path(tmp) / "home1t", 1, batch_bytes, n_warm)
        two, merge2 = run(a.kind, source, Path(tmp) / "home2", 2, batch_bytes, n_warm)
    print(
        f"{a.kind} scan of {a.posts} posts ({size / 1e6:.1f} MB, ~{a.batches} batches), "
        f"local fan-out, {cpus} CPUs; timed scan after a warm-up scan on other posts;\n"
        f"timed from submit to the last batch counted (the aggregator's merge and report "
        f"come after: {merge1:.2f} s with 1 worker, {merge2:.2f} s with 2)"
    )
    for label, seconds in (
        ("1 worker process, 1 thread", one),
        (f"1 worker process, {cpus} BLAS threads", one_all),
        (f"2 worker processes, {max(1, cpus // 2)} thread(s) each", two),
    ):
        print(f"  {label:38}: {seconds:6.2f} s {a.posts / seconds:8.1f} posts/s")
    print(f"  speed-up 2 workers vs 1 (1 thread) : {one / two:.2f}x (goal >= 1.7x)")
    print(f"  speed-up 2 workers vs 1 ({cpus} threads): {one_all / two:.2f}x")
    load_after = os.getloadavg()[0]
    print(f"  1-min load average before/after: {load_before:.1f} / {load_after:.1f}")
    if max(load_before, load_after) > cpus + 0.5:
        print("  WARNING: other processes were using the CPUs; the ratio is not trustworthy")


if __name__ == "__main__":
    main()
