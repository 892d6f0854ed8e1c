# Lossproof: `make demo` runs the product locally, `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
DEMO_FLAGS := $(if $(filter 1 true yes,$(DEMO_SMOKE)),--smoke,)

# Browser journeys run in Debian's chromium (Playwright drives it; it never downloads a browser).
CHROMIUM ?= /usr/bin/chromium

.PHONY: install demo test lint check clean browser messages

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

test: install browser
	$(PY) -m pytest

# Installs chromium from Debian when it is missing and this user may (root with apt-get);
# otherwise the browser tests say they were skipped and why (CI requires them).
browser:
	@if [ ! -x "$(CHROMIUM)" ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			chromium fonts-dejavu-core; \
	fi

# ruff, then the layer rule of docs/architecture.md (contracts in pyproject.toml).
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports --no-cache

check: install
	$(PY) manage.py makemigrations --check --dry-run
	$(PY) manage.py check

# Refresh the translation catalogues from the code and compile them (needs GNU gettext:
# apt-get install gettext). The compiled .mo files are committed, so running needs no gettext.
messages: install
	$(PY) manage.py makemessages --all --no-obsolete --ignore=.venv --ignore=node_modules --ignore=var \
		--ignore=tests --ignore=bench --ignore=docker
	$(PY) manage.py compilemessages --ignore=.venv --ignore=node_modules

clean:
	rm -rf var/test-lossproof.sqlite3* var/build var/test-artifacts .pytest_cache
