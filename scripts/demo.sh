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
echo "== MovieLens 100K: a popularity recommender and a collaborative one (PureSVD), by gender and age"
for model in popularity puresvd; do
  $SA recommendation --model $model --interactions "$S/ml100k_ratings.csv" --users "$S/ml100k_users.csv" \
    --items "$S/ml100k_items.csv" --user-groups gender,age_group --creator-group decade --k 10 \
    --holdout 1 --quiet --out "$OUT/movielens-$model.json"
done

echo
echo "== PII in stored posts: a synthetic labelled corpus (presidio-evaluator templates + Faker)"
$SA pii-eval --n 2000 --seed 0 --write-corpus "$OUT/pii/posts.jsonl" --quiet --out "$OUT/pii-eval.json"
$SA pii --source "$OUT/pii/posts.jsonl" --text-field text --id-field id \
  --findings "$OUT/pii/findings.jsonl" --redact-to "$OUT/pii/redacted" --quiet --out "$OUT/pii.json"

echo
echo "== Face verification through dlib on the 7 real photos in the face_recognition sdist"
echo "   (2 people: a smoke test of the pipeline; no registry package ships a demographic face set)"
$SA face --manifest "$S/faces/manifest.csv" --images-root "$S/faces" --groups set \
  --tolerance 0.6 --min-group-size 1 --quiet --out "$OUT/faces-smoke.json"

echo
echo "== Release gate (policies/default.yaml) over the results"
set +e
$SA gate --policy policies/default.yaml "$OUT/compas-classification.json" \
  "$OUT/redditbias-moderation.json" "$OUT/pii.json" "$OUT/faces-smoke.json" \
  --junit "$OUT/gate/junit.xml" --markdown "$OUT/gate/summary.md" --blessing "$OUT/gate/blessing.json"
echo "(gate exit code $?: 1 means a blocking check failed, as expected for these models)"
set -e

echo
echo "== Transparency report (cover facts from reports/meta.example.yaml)"
# In reading order: the gate, then moderation, classification, recommendation, face, PII.
$SA report "$OUT/gate/blessing.json" "$OUT/redditbias-moderation.json" \
  "$OUT/compas-classification.json" "$OUT/compas-classification-groups-file.json" \
  "$OUT/movielens-popularity.json" "$OUT/movielens-puresvd.json" "$OUT/faces-smoke.json" \
  "$OUT/pii.json" "$OUT/pii-eval.json" \
  --meta reports/meta.example.yaml --out "$OUT/report" --quiet

echo
echo "results: $(ls "$OUT"/*.json | tr '\n' ' ')"
echo "report:  $OUT/report/report.html (also report.pdf, report.md, report.json, dsa-section-1.6.csv)"
