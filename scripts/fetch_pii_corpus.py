#!/usr/bin/env python
"""Fetch the raw data of the PII evaluation corpus into ``.cache/samples/pii/``.

``socialaudit pii-eval`` builds its labelled corpus from the templates and fake identities that
ship inside the PyPI package ``presidio-evaluator==0.3.2`` (MIT licence; Microsoft). This
script downloads that wheel with ``pip download --no-deps`` (a registry download, no hub),
checks its SHA-256 and extracts only the raw data files and the licence. Nothing here is
committed: ``.cache/`` is git-ignored.

Usage::

    python scripts/fetch_pii_corpus.py [--cache .cache/samples/pii] [--force]

Exit code 0 when the files are in place (already or now), 1 on a download or checksum failure.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

PACKAGE = "presidio-evaluator"
VERSION = "0.3.2"
WHEEL = f"presidio_evaluator-{VERSION}-py3-none-any.whl"
WHEEL_SHA256 = "57614fe604e52b78e6de25b767c59265886b93bbcdc6c7e43ab2657d3f6302be"
RAW = "presidio_evaluator/data_generator/raw_data/"
#: Files extracted (flat) into the cache folder.
FILES = (
    "templates.txt",
    "FakeNameGenerator.com_3000.csv",
    "companies_and_organizations.csv",
    "nationalities.csv",
)
LICENCE = f"presidio_evaluator-{VERSION}.dist-info/licenses/LICENSE"
ROOT = Path(__file__).resolve().parents[1]


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def fetch(cache: Path, *, force: bool = False) -> Path:
    """Download, verify and extract; returns the cache folder."""
    if not force and all((cache / f).is_file() for f in FILES):
        return cache
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--disable-pip-version-check",
            "--quiet",
            "-d",
            tmp,
            f"{PACKAGE}=={VERSION}",
        ]
        subprocess.run(cmd, check=True)
        wheel = Path(tmp) / WHEEL
        got = _sha256(wheel)
        if got != WHEEL_SHA256:
            raise RuntimeError(f"{WHEEL}: sha256 {got}, expected {WHEEL_SHA256}; not extracting")
        with zipfile.ZipFile(wheel) as zf:
            for name in FILES:
                with zf.open(RAW + name) as src, open(cache / name, "wb") as dst:
                    shutil.copyfileobj(src, dst)
            with zf.open(LICENCE) as src, open(cache / "LICENSE-presidio-evaluator.txt", "wb") as d:
                shutil.copyfileobj(src, d)
    (cache / "SOURCE.txt").write_text(
        f"{PACKAGE}=={VERSION} from PyPI, wheel sha256 {WHEEL_SHA256}; files under {RAW}\n",
        encoding="utf-8",
    )
    return cache


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cache", type=Path, default=ROOT / ".cache" / "samples" / "pii")
    p.add_argument("--force", action="store_true", help="download again even if present")
    args = p.parse_args(argv)
    try:
        out = fetch(args.cache, force=args.force)
    except (subprocess.CalledProcessError, RuntimeError, KeyError, OSError) as exc:
        print(f"fetch_pii_corpus: {exc}", file=sys.stderr)
        return 1
    print(f"PII corpus raw data in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
