# How Can We Help? — every command a newcomer needs. See README.md.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install check build demo test lab clean

# The virtual environment, re-made whenever pyproject.toml changes.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

check: install          ## validate the content files
	$(BIN)/hcwh check

build: install          ## content -> source/ notebooks -> release/ (nbgrader)
	$(BIN)/hcwh build

demo: install           ## build, then one real nbgrader cycle on a synthetic cohort
	$(BIN)/hcwh demo

test: install           ## the whole suite, release notebooks run headless by nbval
	$(BIN)/pytest --nbval-lax tests release

lab: install            ## JupyterLab with nbgrader's Assignments and Formgrader on the course
	$(BIN)/hcwh release
	$(BIN)/jupyter lab --ServerApp.ip=127.0.0.1 --ServerApp.root_dir=$(CURDIR)

clean:                  ## remove runtime state (gradebook, submissions) and the venv
	rm -rf var $(VENV)
