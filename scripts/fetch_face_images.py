"""Fetch the seven real face photos used by the face audit's end-to-end test and docs.

They ship inside the face_recognition 1.3.0 *sdist* on PyPI (``tests/test_images/``: five
photos of Barack Obama, two of them partial faces, one of Joe Biden, and ``32bit.png``, an RGBA
copy of ``obama2.jpg``). They are White House photographs (US-government works, public domain
per their EXIF) inside an MIT-licensed package. They are fetched, never committed.

Usage::

    .venv/bin/python scripts/fetch_face_images.py [--cache DIR] [--force]

Writes ``DIR/faces/*.{jpg,png}`` and ``DIR/faces/manifest.csv`` (``path, subject_id, set,
note``) for ``socialaudit face --manifest DIR/faces/manifest.csv --groups set``. Re-running is
instant when every file is in place. Only the face_recognition sdist is downloaded
(``--no-binary face-recognition``, ~3 s); ``--no-binary :all:`` would also rebuild dlib's build
requirements from source and take ~15 minutes.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CACHE = REPO_ROOT / ".cache" / "samples"

REQUIREMENT = "face-recognition==1.3.0"
SDIST = "face_recognition-1.3.0.tar.gz"
SDIST_SHA256 = "5e5efdd1686aa566af0d3cc1313b131e4b197657a8ffd03669e6d3fad92705ec"
MEMBER_DIR = "face_recognition-1.3.0/tests/test_images/"

#: (file, subject, note) for every photo; the subject comes from the file name.
IMAGES = [
    ("obama.jpg", "obama", "full face"),
    ("obama2.jpg", "obama", "full face"),
    ("obama3.jpg", "obama", "full face"),
    ("obama_partial_face.jpg", "obama", "partial face (cropped at the left)"),
    ("obama_partial_face2.jpg", "obama", "partial face (cropped at the right)"),
    ("32bit.png", "obama", "RGBA copy of obama2.jpg"),
    ("biden.jpg", "biden", "full face"),
]
SET = "face_recognition-1.3.0"


class FetchError(Exception):
    """A download or extraction step failed; the message says what to do."""


def _download(folder: Path) -> Path:
    cmd = [
        sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", "face-recognition",
        "--disable-pip-version-check", "--quiet", "-d", str(folder), REQUIREMENT,
    ]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    path = folder / SDIST
    if proc.returncode != 0 or not path.is_file():
        detail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
        raise FetchError(
            f"`pip download {REQUIREMENT}` (sdist) failed (exit {proc.returncode}):\n  "
            + "\n  ".join(detail or ["(no output)"])
            + "\nCheck that PyPI is reachable (pip config, proxy) and retry."
        )
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != SDIST_SHA256:
        raise FetchError(
            f"{SDIST} has sha256 {digest}, expected {SDIST_SHA256}; not the pinned file"
        )
    return path


def _complete(out: Path) -> bool:
    return (out / "manifest.csv").is_file() and all((out / f).is_file() for f, _, _ in IMAGES)


def fetch(cache: Path, force: bool = False) -> Path:
    """Fetch the photos into ``cache/faces``; returns that folder."""
    out = cache / "faces"
    if _complete(out) and not force:
        return out
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="socialaudit-faces-") as tmp:
        sdist = _download(Path(tmp))
        with tarfile.open(sdist, "r:gz") as tar:
            for name, _subject, _note in IMAGES:
                try:
                    member = tar.getmember(MEMBER_DIR + name)
                except KeyError:
                    raise FetchError(f"{SDIST} has no {MEMBER_DIR + name}") from None
                fh = tar.extractfile(member)
                if fh is None or not member.isfile():
                    raise FetchError(f"{MEMBER_DIR + name} is not a regular file")
                tmp_file = out / f".{name}.tmp"
                tmp_file.write_bytes(fh.read())
                tmp_file.replace(out / name)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["path", "subject_id", "set", "note"])
    for name, subject, note in IMAGES:
        writer.writerow([name, subject, SET, note])
    tmp_manifest = out / ".manifest.csv.tmp"
    tmp_manifest.write_text(buf.getvalue(), encoding="utf-8")
    tmp_manifest.replace(out / "manifest.csv")  # written last: its presence means complete
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="cache folder")
    ap.add_argument("--force", action="store_true", help="download again")
    args = ap.parse_args(argv)
    try:
        out = fetch(args.cache, args.force)
    except FetchError as exc:
        print(f"fetch_face_images: {exc}", file=sys.stderr)
        return 1
    print(f"faces: {len(IMAGES)} photos of 2 subjects in {out} (manifest.csv)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
