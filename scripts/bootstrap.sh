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

stamp=.venv/.socialaudit-installed
want=$(cat pyproject.toml requirements/constraints.txt scripts/bootstrap.sh | sha256sum | cut -c1-16)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
if [ ! -x .venv/bin/python ]; then
  py=$(pick_python)
  echo "creating .venv with $($py --version)"
  "$py" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
pipi() { .venv/bin/python -m pip install --quiet --disable-pip-version-check "$@"; }
pipi -c requirements/constraints.txt -e ".[aws,dev]"
# The sample moderation model: alt-profanity-check ships a trained scikit-learn model pickled
# with scikit-learn 1.9.1; --no-deps keeps it from re-pinning scikit-learn.
pipi --no-deps alt-profanity-check==1.9.1
echo "$want" > "$stamp"
echo "installed socialaudit into .venv ($(.venv/bin/python --version))"
