# Two commands for a newcomer: `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test unit integration lint bench chaos console clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/remedy demo

console: $(STAMP)
	$(BIN)/remedy console --user alice

test: $(STAMP)
	./scripts/ensure-services.sh
	$(BIN)/pytest -m "not chaos" || [ $$? -eq 5 ]

unit: $(STAMP)
	$(BIN)/pytest tests/unit

integration: $(STAMP)
	./scripts/ensure-services.sh
	$(BIN)/pytest tests/integration tests/e2e

lint: $(STAMP)
	$(BIN)/ruff check remedy bot workers remedy_cli tests benchmarks
	$(BIN)/mypy

bench: $(STAMP)
	./scripts/ensure-services.sh
	@# Every benchmark runs even when one misses its goal; one table of every goal at the end, and the
	@# target fails if any was missed (BENCH_ONLY="bulk digest" runs some).
	$(BIN)/python benchmarks/run_all.py

chaos: $(STAMP)
	./scripts/ensure-services.sh
	@if [ -d tests/chaos ]; then $(BIN)/pytest -m chaos tests/chaos || [ $$? -eq 5 ]; \
	else echo "no chaos scenarios yet: they arrive with the reliability issue"; fi

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache remedy.db
