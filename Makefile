# marsgis — the two commands: `make demo` and `make test`. Both do all set-up on a fresh machine.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.marsgis-installed

.PHONY: setup demo test test-slow lint typecheck bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml scripts/setup-system.sh
	bash scripts/setup-system.sh
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip wheel
	# torch first, from the local CPU wheel, so the resolver keeps it
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

demo: setup
	$(VENV)/bin/marsgis demo

lint: setup
	$(VENV)/bin/ruff check marsgis tests benchmarks
	$(VENV)/bin/ruff format --check marsgis tests benchmarks

typecheck: setup
	$(VENV)/bin/mypy

test: setup
	$(PY) -c "import marsgis; marsgis.show_versions()"
	$(MAKE) --no-print-directory lint typecheck
	$(PY) -m pytest

test-slow: setup
	$(PY) -m pytest -m slow

bench: setup
	$(PY) benchmarks/run.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
