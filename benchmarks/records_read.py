#!/usr/bin/env python
"""Reading stored posts: :class:`audit.records.ObjectReader` against the bare standard library.

The same generated posts (quotes and commas in every text, so every CSV row is quoted) are
read as JSON lines and as CSV:

* **stdlib** — ``json.loads`` per line; ``csv.DictReader`` (C), which caps each field at
  ``csv.field_size_limit()`` and cannot be given another limit without changing the process;
* **ours** — :class:`~audit.records.ObjectReader`: the same records, plus a SHA-256 of the bytes,
  a size limit per record, the skip checks (NUL bytes, nesting, lone surrogates, field counts).

The sides alternate round by round, so a change in machine load hits both. Prints rows/s for
each and the ratio. A PII scan detects at a few thousand posts/s per process: reading is not
what limits it; the inventory scan only reads.

Usage::

    python benchmarks/records_read.py [--n 100000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _write(folder: Path, n: int) -> tuple[Path, Path]:
    rng = random.Random(0)
    rows = [
        {"id": i, "text": f'post {i}, with "quotes", and commas ' * rng.randint(1, 6)}
        for i in range(n)
    ]
    jsonl = folder / "posts.jsonl"
    jsonl.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    table = folder / "posts.csv"
    with open(table, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "text"])
        for r in rows:
            w.writerow([r["id"], r["text"]])
    return jsonl, table


def _ours(path: Path, fmt: str) -> int:
    from audit.records import ObjectReader

    with ObjectReader(lambda at: open(path, "rb"), fmt) as reader:  # type: ignore[arg-type]
        n = sum(r.data is not None for r in reader)
        reader.finish()
    return n


def _stdlib_jsonl(path: Path) -> int:
    with open(path, "rb") as fh:
        return sum(isinstance(json.loads(line), dict) for line in fh)


def _stdlib_csv(path: Path) -> int:
    with open(path, newline="", encoding="utf-8") as fh:
        return sum(1 for _ in csv.DictReader(fh))


def _time(fn: Callable[[], int]) -> tuple[int, float]:
    t = time.perf_counter()
    n = fn()
    return n, time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        jsonl, table = _write(Path(tmp), args.n)
        sides = {
            "jsonl": (lambda: _stdlib_jsonl(jsonl), lambda: _ours(jsonl, "jsonl")),
            "csv": (lambda: _stdlib_csv(table), lambda: _ours(table, "csv")),
        }
        for fmt, (stdlib, ours) in sides.items():
            spent = {"stdlib": 0.0, "ours": 0.0}
            for _ in range(args.rounds):
                for name, fn in (("stdlib", stdlib), ("ours", ours)):
                    n, s = _time(fn)
                    assert n == args.n, (fmt, name, n)
                    spent[name] += s
            rate = {k: args.n * args.rounds / v for k, v in spent.items()}
            print(
                f"{fmt:5s}  stdlib {rate['stdlib']:>10,.0f} rows/s   ours {rate['ours']:>10,.0f} "
                f"rows/s   ours/stdlib {rate['ours'] / rate['stdlib']:.2f}"
            )


if __name__ == "__main__":
    main()
