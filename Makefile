# hpo_lab: one command to set up and run each job on a fresh machine.
#   make lab    install everything, then JupyterLab on notebooks/quickstart.ipynb (127.0.0.1)
#   make test   install everything (Debian's chromium and PostgreSQL included), then all tests
#   make demo   the quickstart search, headless, with a progress bar

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
ROOT   := $(if $(filter 0,$(shell id -u)),,sudo)
PORT   ?= 8888

.PHONY: install lab demo test test-fast lint bench bench-scale chromium postgresql clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install -c constraints.txt -e ".[test,dask,postgres]"
	touch $(STAMP)

chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  $(ROOT) apt-get update && \
	  $(ROOT) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium; }

# Debian's PostgreSQL server programs, for tests/integration/test_postgres.py, which starts its
# own server (127.0.0.1, a temporary folder) and stops it. No "main" cluster is created, so no
# other server is started or left listening.
postgresql:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
	  $(ROOT) mkdir -p /etc/postgresql-common/createcluster.d && \
	  echo "create_main_cluster = off" | \
	    $(ROOT) tee /etc/postgresql-common/createcluster.d/hpo-lab.conf >/dev/null && \
	  $(ROOT) apt-get update && \
	  $(ROOT) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
	    postgresql; }

lab: install
	$(VENV)/bin/jupyter lab --ip=127.0.0.1 --port=$(PORT) --no-browser \
	  $(if $(filter 0,$(shell id -u)),--allow-root) notebooks/quickstart.ipynb

demo: install
	$(PY) -m hpo_lab.demo

# The full suite: unit and integration tests, doctests, real-browser tests and every notebook.
test: install chromium postgresql
	HPO_LAB_DIR=$$(mktemp -d) $(PY) -m pytest tests hpo_lab --doctest-modules \
	  --ignore=hpo_lab/__main__.py --nbval-lax notebooks -p no:cacheprovider

# Without the slow, browser and notebook tiers.
test-fast: install
	$(PY) -m pytest tests hpo_lab --doctest-modules --ignore=hpo_lab/__main__.py \
	  -m "not slow and not browser" -p no:cacheprovider

lint: install
	$(VENV)/bin/ruff check hpo_lab tests benchmarks
	$(VENV)/bin/ruff format --check hpo_lab tests benchmarks

bench: install
	$(PY) benchmarks/overhead.py

# Trials/s with 1, 2 and 4 workers per executor, report-to-notebook delay, the Dask path's cost.
bench-scale: install
	$(PY) benchmarks/scale_out.py

clean:
	rm -rf $(VENV) .pytest_cache test-output
