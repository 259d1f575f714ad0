#!/usr/bin/env bash
# The main job on real sample data (fetched by scripts/fetch_samples.py; never committed).
set -euo pipefail
cd "$(dirname "$0")/.."
S=${1:-.cache/samples}
OUT=${2:-out}
SA=.venv/bin/socialaudit
mkdir -p "$OUT"

echo "== COMPAS: a deployed risk model's real decisions (Medium/High risk = positive), by race and sex"
$SA classification --data "$S/compas.csv" --id id --label two_year_recid --score score \
  --threshold 0.5 --groups race,sex --out "$OUT/compas-classification.json"

echo
echo "== COMPAS again, with race and sex kept in a separate file joined on id"
$SA classification --data "$S/compas_scores.csv" --groups-file "$S/compas_groups.csv" --id id \
  --label two_year_recid --decision decision --groups race --quiet \
  --out "$OUT/compas-classification-groups-file.json"

echo
echo "== RedditBias comments scored by alt-profanity-check's offensive-language model"
$SA moderation --data "$S/redditbias.csv" --id id --label label --text text \
  --model profanity_check:predict_prob --groups target \
  --templates "$S/identity_templates.csv" --identities "$S/identity_terms.csv" \
  --out "$OUT/redditbias-moderation.json"

echo
echo "results: $(ls "$OUT"/*.json | tr '\n' ' ')"
