# How Can We Help? — every command a newcomer needs. See README.md.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PROXY  := hub/node_modules/.bin/configurable-http-proxy

.PHONY: sbom lock install system-deps check build demo test test-unit lab clean learner-env course-env hub bench-hub

# The virtual environment, re-made whenever the lock changes: every package at its locked version,
# checked against its hash (requirements/project.txt, written by `make lock`), then the project itself.
$(STAMP): pyproject.toml requirements/project.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --require-hashes -r requirements/project.txt
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

# The hub's proxy, locally from hub/package-lock.json (never a global npm install).
$(PROXY): hub/package.json hub/package-lock.json
	cd hub && npm ci --no-audit --no-fund --loglevel=error
	touch $(PROXY)

install: $(STAMP) $(PROXY)

lock:                   ## re-lock requirements/*.txt with hashes, from PyPI (LOCK_ARGS=--upgrade takes upgrades)
	bash scripts/lock.sh $(LOCK_ARGS)

sbom: install            ## the software bill of materials (CycloneDX JSON) from the locks: var/sbom.cdx.json
	$(BIN)/hcwh sbom

system-deps:            ## Debian packages pip cannot provide (chromium, bubblewrap, postgresql)
	bash scripts/system-deps.sh

check: install          ## validate the content files
	$(BIN)/hcwh check

build: install          ## content -> source/ notebooks -> release/ (nbgrader)
	$(BIN)/hcwh build

demo: install system-deps  ## build, then the whole cycle on a synthetic cohort
	$(BIN)/hcwh demo

TEST_WORKERS ?= 2
test: install system-deps  ## the whole suite, release notebooks run headless by nbval, on TEST_WORKERS workers
	$(BIN)/pytest -n $(TEST_WORKERS) --durations=25 --nbval-lax tests release

test-unit: install  ## the fast layer only: pure rules, seconds (tests/unit/)
	$(BIN)/pytest -m unit tests/unit

lab: install system-deps  ## JupyterLab with nbgrader's Assignments and Formgrader on the course
	$(BIN)/hcwh release
	$(BIN)/jupyter lab --ServerApp.ip=127.0.0.1 --ServerApp.root_dir=$(CURDIR)

# The cohort's server (README "Running the hub"). Environments from Debian's /usr/bin/python3,
# world-readable, so every account can run them; each rebuilt only when its inputs change.
LEARNER_ENV ?= $(or $(HCWH_LEARNER_ENV),/opt/hcwh/learner-env)
COURSE_ENV  ?= $(or $(HCWH_COURSE_ENV),/opt/hcwh/course-env)
HUB_STATE   ?= $(or $(HCWH_STATE_DIR),$(CURDIR)/var)

learner-env: system-deps  ## learners' environment: jupyterlab, nbgrader, ipywidgets, curriculum (no keys)
	bash scripts/hub-env.sh learner $(LEARNER_ENV)

course-env: system-deps   ## the course account's environment: the whole project (formgrader, console, report)
	bash scripts/hub-env.sh course $(COURSE_ENV)

hub: install learner-env course-env  ## run by IT, as root: JupyterHub + proxy on 127.0.0.1:8000
	bash scripts/hub-setup.sh $(HUB_STATE)
	cd $(HUB_STATE) && HCWH_STATE_DIR=$(HUB_STATE) HCWH_LEARNER_ENV=$(LEARNER_ENV) HCWH_COURSE_ENV=$(COURSE_ENV) \
	    $(CURDIR)/$(BIN)/jupyterhub -f $(CURDIR)/hub/jupyterhub_config.py

# Not a test (not in `make test`): the hub under load, README "Hub under load". BENCH_ARGS, e.g.
#   make bench-hub BENCH_ARGS="--find-largest --login-window 60 --duration 180"
BENCH_ARGS ?= --learners 30 --out hub-load.json
bench-hub: install learner-env course-env  ## run by IT, as root: a cohort logging in and working on a real hub
	$(BIN)/python benchmarks/hub_load.py $(BENCH_ARGS)

clean:                  ## remove runtime state (gradebook, submissions) and the venv
	rm -rf var $(VENV) hub/node_modules
