# The two commands a new user needs (README): `make demo` and `make test`; CI (.ci/run) runs
# `make lint` (ruff, ruff format, mypy on audit/) and `make test`.
.PHONY: venv data demo test lint bench clean

VENV := .venv
BIN := $(VENV)/bin
OUT ?= out
SAMPLES := .cache/samples

venv:
	@bash scripts/bootstrap.sh

data: venv
	@$(BIN)/python scripts/fetch_samples.py --cache $(SAMPLES)
	@$(BIN)/python scripts/fetch_pii_corpus.py --cache $(SAMPLES)/pii
	@$(BIN)/python scripts/fetch_face_images.py --cache $(SAMPLES)

demo: data
	@bash scripts/demo.sh $(SAMPLES) $(OUT)

test: data
	@$(BIN)/python -m pytest -q

lint: venv
	@$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/mypy audit

bench: venv
	@$(BIN)/python benchmarks/metrics_bootstrap.py
	@$(BIN)/python benchmarks/recsys_audit.py
	@$(BIN)/python benchmarks/pii_throughput.py
	@$(BIN)/python benchmarks/face_pairs.py

clean:
	rm -rf $(OUT) .pytest_cache .ruff_cache .mypy_cache
