# Quick start: `make run` (embedded store, no cloud account) and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: run test test-fast system-deps bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[test]'
	rm -f $(VENV)/.installed-* && touch $@

run: $(STAMP)
	mkdir -p var
	$(BIN)/longrun run

system-deps:
	bash scripts/install-system-deps.sh

# pytest exits 5 when it collected nothing: that is a failure here, as any non-zero exit.
test: $(STAMP) system-deps
	$(BIN)/python -m pytest -q -p no:cacheprovider --durations=15 $(PYTEST_ARGS)

# The edit-test loop: no slow test, no external program, no Firestore emulator, on every core
# (pytest-xdist), with 12 generated histories per reference-model comparison instead of 40.
# `make test` stays the whole suite, in one process; CI runs that.
FAST := not slow and not process and not firestore
WORKERS ?= auto
test-fast: $(STAMP)
	LONGRUN_MODEL_EXAMPLES=$${LONGRUN_MODEL_EXAMPLES:-12} $(BIN)/python -m pytest -q -p no:cacheprovider -m "$(FAST)" -n $(WORKERS) --durations=10 $(PYTEST_ARGS)

bench: $(STAMP)
	for b in benchmarks/*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) var .pytest_cache
