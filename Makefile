# The two set-up commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# `make run` installs the runtime lock only; `make test` (lint, bench, schema) the test lock.
RUN_INSTALLED := $(VENV)/.installed-run
INSTALLED := $(VENV)/.installed-test
# Exact versions and hashes of what CI tested, compiled from pyproject.toml by `make lock`.
LOCK_COMMAND := $(VENV)/bin/uv pip compile pyproject.toml --universal --generate-hashes --quiet

GRAPHIQL_DIR := magnaprov/serve/graphiql_assets
GRAPHIQL := $(GRAPHIQL_DIR)/node_modules/.package-lock.json

.PHONY: run test lint lock schema bench clean test-system-deps graphiql-assets

# The lock's exact, hash-checked packages, then the project itself without resolving anything.
define install_lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --require-hashes -r $(1)
	$(PY) -m pip install --quiet --no-deps -e .
	touch $@
endef

$(RUN_INSTALLED): requirements.lock pyproject.toml
	$(call install_lock,requirements.lock)

$(INSTALLED): requirements-test.lock pyproject.toml
	$(call install_lock,requirements-test.lock)

## run: install, migrate the embedded SQLite database, create the admin, serve on 127.0.0.1:8000
run: $(RUN_INSTALLED)
	@$(MAKE) --no-print-directory graphiql-assets || echo "warning: GraphiQL's files not installed (npm unavailable?); /graphql serves the API and a page saying so"
	$(VENV)/bin/magnaprov serve

## test: install what the tests need and run them (SQLite and PostgreSQL)
test: $(INSTALLED) test-system-deps graphiql-assets
	$(PY) -m pytest

# Real clients for the tests: curl's tftp:// for the TFTP server, Debian's Chromium for GraphiQL,
# systemd-analyze for the service unit in deploy/.
test-system-deps:
	@command -v systemd-analyze >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq systemd; }
	@command -v curl >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq curl; }
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium; }

## graphiql-assets: GraphiQL, React and ReactDOM from the npm registry, pinned by package-lock.json
graphiql-assets: $(GRAPHIQL)
$(GRAPHIQL): $(GRAPHIQL_DIR)/package.json $(GRAPHIQL_DIR)/package-lock.json
	npm ci --prefix $(GRAPHIQL_DIR) --ignore-scripts --no-audit --no-fund

## lock: recompile requirements.lock and requirements-test.lock after a change of pyproject.toml
## (keeps the locked versions that still fit; LOCK_ARGS=--upgrade takes the newest allowed)
lock:
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	test -x $(VENV)/bin/uv || $(PY) -m pip install --quiet "uv>=0.5"
	$(LOCK_COMMAND) $(LOCK_ARGS) -o requirements.lock
	$(LOCK_COMMAND) $(LOCK_ARGS) --extra test -o requirements-test.lock

## lint: ruff, mypy --strict and the import contracts of the layers (pyproject.toml)
lint: $(INSTALLED)
	$(VENV)/bin/ruff check magnaprov tests
	$(VENV)/bin/mypy magnaprov
	$(VENV)/bin/lint-imports --no-logo

## bench: benchmarks as ratios (options: make bench BENCH_ARGS="--devices 2000 --only fetch"; see bench/README.md)
# wrk (load generator) and nginx (reference server) from Debian; without them the bench uses its
# asyncio client and skips nginx.
bench: $(INSTALLED)
	@command -v wrk >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq wrk; } || echo "warning: wrk not installed; the asyncio client is used"
	@command -v nginx >/dev/null 2>&1 || test -x /usr/sbin/nginx || { apt-get update -qq && apt-get install -y -qq nginx-light; } || echo "warning: nginx not installed; its comparison is skipped"
	$(PY) -m bench.run $(BENCH_ARGS)

## schema: rewrite schema.graphql from the code (review the diff: it is the API contract)
schema: $(INSTALLED)
	$(PY) -m magnaprov.schema.export > schema.graphql

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
