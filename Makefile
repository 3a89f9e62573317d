# The two set-up commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed

.PHONY: run test lint schema bench clean test-system-deps

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(INSTALLED)

## run: install, migrate the embedded SQLite database, create the admin, serve on 127.0.0.1:8000
run: $(INSTALLED)
	$(VENV)/bin/magnaprov serve

## test: install what the tests need and run them (SQLite and PostgreSQL)
test: $(INSTALLED) test-system-deps
	$(PY) -m pytest

# The TFTP tests talk to the server with curl's tftp:// client, a real client.
test-system-deps:
	@command -v curl >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq curl; }

## lint: ruff and mypy --strict over the package
lint: $(INSTALLED)
	$(VENV)/bin/ruff check magnaprov tests
	$(VENV)/bin/mypy magnaprov

## schema: rewrite schema.graphql from the code (review the diff: it is the API contract)
schema: $(INSTALLED)
	$(PY) -m magnaprov.schema.export > schema.graphql

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
