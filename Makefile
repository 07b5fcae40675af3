# One-command set-up: `make run` and `make test` each install everything they need first.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
UV_VERSION := 0.13.9
PYTEST_ARGS ?=

.PHONY: setup sysdeps pydeps jsdeps run test check fmt bench clean docs docs-ref

setup: sysdeps pydeps jsdeps

sysdeps:
	@bash scripts/install-sysdeps.sh

$(PY):
	python3 -m venv $(VENV)

$(UV): | $(PY)
	$(VENV)/bin/pip install -q --disable-pip-version-check uv==$(UV_VERSION)

pydeps: $(VENV)/.deps-stamp

$(VENV)/.deps-stamp: requirements.lock pyproject.toml | $(UV)
	$(UV) pip install -q --python $(PY) -r requirements.lock
	$(UV) pip install -q --python $(PY) --no-deps -e .
	touch $@

jsdeps: node_modules/.deps-stamp

node_modules/.deps-stamp: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Regenerate the Python lockfile after editing pyproject.toml dependencies.
lock: | $(UV)
	$(UV) pip compile pyproject.toml --extra dev -o requirements.lock -q

run: setup
	$(VENV)/bin/atoll serve --demo

test: setup
	$(PY) -m pytest $(PYTEST_ARGS)

# The docs site (mkdocs.yml -> site/), with warnings as errors: a stale generated reference,
# a broken link or anchor fails it. `make docs-ref` regenerates the references.
docs: setup
	$(PY) -m atoll.docsgen check
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --quiet

docs-ref: setup
	$(PY) -m atoll.docsgen write

check: pydeps
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench
	$(VENV)/bin/mypy src

fmt: pydeps
	$(VENV)/bin/ruff format src tests bench
	$(VENV)/bin/ruff check --fix src tests bench

clean:
	rm -rf $(VENV) node_modules .atoll .pytest_cache .mypy_cache .ruff_cache site
