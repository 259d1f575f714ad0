"""Benchmark: API Lambda cold start — ours (lazy) against importing every audit eagerly.

Each trial is a fresh Python process, as a Lambda cold start is. It times, from its first line,
importing the API handler (``lambdas/api.py``) and answering one ``GET /health`` event. The
baseline process first imports every module under ``audit/`` and the libraries those modules
import lazily inside their functions (aif360, presidio, spaCy, face_recognition/dlib,
WeasyPrint, matplotlib: ``EAGER_LIBRARIES``), which is what an API that imported its audits at
the top would load, then does the same. (Importing only our modules would not do it: they defer
those imports, so that baseline measures little more than pandas.) Trials alternate; medians
are reported. Goal (issue 8): ours ≤ 1 s and ≤ 20 % of eager.

Run: ``.venv/bin/python benchmarks/api_cold_start.py [--trials 5]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# What the audits import inside their functions (grep for these under audit/); models and
# weights are not loaded on either side.
EAGER_LIBRARIES = (
    "fairlearn.metrics",
    "aif360.datasets",
    "aif360.metrics",
    "aif360.explainers",
    "presidio_analyzer",
    "presidio_anonymizer",
    "spacy",
    "face_recognition",
    "weasyprint",
    "matplotlib.figure",
)

TRIAL = r"""
import time
t0 = time.perf_counter()
import json, sys
failed = []
if EAGER:
    import importlib, pkgutil
    import audit
    for m in pkgutil.walk_packages(audit.__path__, "audit."):
        try:
            importlib.import_module(m.name)
        except Exception as exc:  # a module whose optional dependency is missing
            failed.append(f"{m.name}: {type(exc).__name__}")
    for lib in EAGER_LIBRARIES:
        importlib.import_module(lib)
t1 = time.perf_counter()
from lambdas.api import handler
t2 = time.perf_counter()
event = json.load(open(EVENT))
class Ctx:
    aws_request_id = "bench"
    function_name = "bench"
out = handler(event, Ctx())
assert out["statusCode"] == 200, out
t3 = time.perf_counter()
heavy = sorted({m.split(".")[0] for m in sys.modules} & {"presidio_analyzer", "spacy", "dlib",
    "aif360", "fairlearn", "sklearn", "pandas", "numpy", "weasyprint", "matplotlib"})
print(json.dumps({"audits": t1 - t0, "handler": t2 - t1, "first_request": t3 - t2,
                  "total": t3 - t0, "modules": len(sys.modules), "heavy": heavy,
                  "failed": failed}))
"""


def trial(eager: bool) -> dict[str, object]:
    code = TRIAL.replace("EAGER_LIBRARIES", repr(EAGER_LIBRARIES))
    code = code.replace("EAGER", repr(eager)).replace(
        "EVENT", repr(str(ROOT / "tests" / "events" / "api_health.json"))
    )
    env = {**os.environ, "SOCIALAUDIT_AUTH": "gateway", "PYTHONDONTWRITEBYTECODE": "1"}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=5)
    a = ap.parse_args()
    load_before = os.getloadavg()[0]
    trial(False)  # warm the OS file cache and the .pyc caches for both sides
    trial(True)
    ours, eager = [], []
    for _ in range(a.trials):
        ours.append(trial(False))
        eager.append(trial(True))

    def med(rows: list[dict[str, object]], key: str) -> float:
        return statistics.median(float(r[key]) for r in rows)  # type: ignore[arg-type]

    print(
        f"API cold start: fresh process, import handler + first GET /health, median of {a.trials}"
    )
    print(f"{'':28}{'ours (lazy)':>14}{'eager audits':>14}")
    for key, label in (
        ("audits", "import every audit"),
        ("handler", "import lambdas.api"),
        ("first_request", "first request"),
        ("total", "total"),
    ):
        print(f"{label:28}{med(ours, key):>12.3f} s{med(eager, key):>12.3f} s")
    print(f"{'modules loaded':28}{ours[-1]['modules']:>14}{eager[-1]['modules']:>14}")
    print(f"heavy modules (ours): {ours[-1]['heavy'] or 'none'}")
    print(f"heavy modules (eager): {eager[-1]['heavy']}")
    if eager[-1]["failed"]:
        print(f"eager side could not import: {eager[-1]['failed']}")
    total_ours, total_eager = med(ours, "total"), med(eager, "total")
    ratio = total_ours / total_eager
    print(
        f"ratio ours/eager = {ratio:.1%} (goal ≤ 20 %); ours {total_ours:.3f} s (goal ≤ 1 s); "
        f"eager is {total_eager / total_ours:.1f}× slower"
    )
    load = max(load_before, os.getloadavg()[0])
    print(f"1-min load average (max of before/after): {load:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
