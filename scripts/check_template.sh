#!/usr/bin/env bash
# Lint template.yaml offline: cfn-lint, then `sam validate --lint`.
#
# aws-sam-cli pins its own boto3, click and cfn-lint, so it lives in a separate tools venv
# (.venv-tools/), created here on first use and never mixed into .venv. Neither command needs
# AWS credentials or network access once the venv exists; the environment below makes sure no
# real profile or credential is read.
set -euo pipefail
cd "$(dirname "$0")/.."

TOOLS=.venv-tools
SAM_CLI_VERSION=1.170.0

pick_python() {
  for cand in python3.12 "$(pyenv root 2>/dev/null)/versions/3.12"*/bin/python3.12 python3.11 python3; do
    [ -n "$cand" ] || continue
    if "$cand" -c 'import sys; assert sys.version_info >= (3, 11)' >/dev/null 2>&1; then
      echo "$cand"; return 0
    fi
  done
  echo "check_template: need Python 3.11 or newer" >&2; return 1
}

if [ ! -x "$TOOLS/bin/sam" ]; then
  py=$(pick_python)
  echo "creating $TOOLS with $($py --version) and aws-sam-cli==$SAM_CLI_VERSION"
  "$py" -m venv "$TOOLS"
  "$TOOLS/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
  "$TOOLS/bin/python" -m pip install --quiet --disable-pip-version-check \
    "aws-sam-cli==$SAM_CLI_VERSION"
fi

samhome=$(mktemp -d)
trap 'rm -rf "$samhome"' EXIT
run() {
  env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN -u AWS_PROFILE \
    HOME="$samhome" SAM_CLI_TELEMETRY=0 \
    AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_CONFIG_FILE=/dev/null "$@"
}

template=${1:-template.yaml}
echo "== cfn-lint $template ($("$TOOLS/bin/cfn-lint" --version))"
run "$TOOLS/bin/cfn-lint" "$template"
echo "cfn-lint: clean"
echo "== sam validate --lint --region us-east-1 ($("$TOOLS/bin/sam" --version))"
run "$TOOLS/bin/sam" validate --lint --region us-east-1 --template-file "$template"
