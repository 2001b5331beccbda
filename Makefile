# marsgis — the two commands: `make demo` and `make test`. Both do all set-up on a fresh machine.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.marsgis-installed

.PHONY: setup demo api test test-slow test-hub test-gpu test-ml lint typecheck bench dashboards hub clean

setup: $(STAMP)

$(STAMP): pyproject.toml scripts/setup-system.sh
	bash scripts/setup-system.sh
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip wheel
	# torch first, from the local CPU wheel, so the resolver keeps it
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[dev,hub]'
	# the marsgis Voila template (no CDN assets) and the tile server extension, into .venv
	$(PY) -m marsgis.viz.install
	touch $(STAMP)

demo: setup
	$(VENV)/bin/marsgis demo

# the service API on http://127.0.0.1:8080/api/v1 (docs at /api/v1/docs; see docs/api.md)
api: setup
	$(VENV)/bin/marsgis serve

lint: setup
	$(VENV)/bin/ruff check marsgis tests benchmarks hub scripts
	$(VENV)/bin/ruff format --check marsgis tests benchmarks hub scripts

typecheck: setup
	$(VENV)/bin/mypy

test: setup
	$(PY) -c "import marsgis; marsgis.show_versions()"
	$(MAKE) --no-print-directory lint typecheck
	$(PY) -m pytest --durations=30

test-slow: setup
	$(PY) -m pytest -m slow

# the JupyterHub integration test (starts a real hub, proxy, dask-gateway; CI runs it too)
test-hub: setup
	$(PY) -m pytest -m hub

# CUDA and CuPy paths (needs a GPU; deselected by default, never skipped in the default run)
test-gpu: setup
	$(PY) -m pytest -m gpu

# the full training run of the shipped terrain classifier (a slow test)
test-ml: setup
	$(PY) -m pytest -m slow tests/ml

# the operator dashboards on http://localhost:8866 (Voila, offline Mars tiles)
dashboards: setup
	$(PY) -m marsgis.viz.install >/dev/null && $(VENV)/bin/voila --no-browser --port=8866 --template=marsgis dashboards/

# the platform on one machine: JupyterHub on http://localhost:8000 (see README "Run the platform")
hub: setup
	$(VENV)/bin/jupyterhub -f hub/jupyterhub_config.py

bench: setup
	$(PY) benchmarks/run.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
