# Lossproof: `make demo` runs the product locally, `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
DEMO_FLAGS := $(if $(filter 1 true yes,$(DEMO_SMOKE)),--smoke,)

.PHONY: install demo test lint check clean

install: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

demo: install
	$(PY) manage.py demo $(DEMO_FLAGS)

test: install
	$(PY) -m pytest

lint: install
	$(VENV)/bin/ruff check .

check: install
	$(PY) manage.py makemigrations --check --dry-run
	$(PY) manage.py check

clean:
	rm -rf var/test-lossproof.sqlite3* var/build .pytest_cache
