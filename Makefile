# The front door: `make run` serves, `make test` checks everything. Needs Python 3.11+ and make.
PYTHON ?= python3
VENV ?= .venv
# Where `make run` serves: `make run PORT=8080 HOST=0.0.0.0` (from the command line only, so
# a HOST or PORT the environment happens to hold is not picked up).
HOST = 127.0.0.1
PORT = 8000
BIN := $(VENV)/bin
PYPROJECT_SUM := $(shell cksum pyproject.toml | cut -d' ' -f1)
# `make run` needs the runtime only; the dev tools come with the targets that use them.
RUNTIME_STAMP := $(VENV)/.runtime-$(PYPROJECT_SUM)
DEV_STAMP := $(VENV)/.dev-$(PYPROJECT_SUM)

.PHONY: install install-dev npm-tools run test check pytest format openapi fuzz bench bench-scale bench-releases clean

# Before a virtualenv is made from $(PYTHON): one line, not a traceback, if it is too old.
ifeq ($(wildcard $(RUNTIME_STAMP)),)
ifneq ($(filter-out clean,$(or $(MAKECMDGOALS),install)),)
PYTHON_TOO_OLD := $(shell $(PYTHON) -c 'import sys; v = sys.version_info[:2]; print("" if v >= (3, 11) else "Python 3.11+ is required, but $(PYTHON) is %d.%d: pass PYTHON=python3.11 (or newer)" % v)' 2>/dev/null || echo "$(PYTHON) cannot be run: pass PYTHON=python3.11 (or newer)")
ifneq ($(PYTHON_TOO_OLD),)
$(error $(PYTHON_TOO_OLD))
endif
endif
endif

$(RUNTIME_STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	rm -f $(VENV)/.runtime-* $(VENV)/.installed-* && touch $@

$(DEV_STAMP): $(RUNTIME_STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.dev-* && touch $@

install: $(RUNTIME_STAMP) ## create the virtualenv and install the project (runtime only)

install-dev: $(DEV_STAMP) ## the same plus the dev tools (pytest, ruff, mypy, cog, ...)

run: install ## say if the port is taken, else migrate and seed the default database and serve on http://127.0.0.1:8000 (PORT=8080 HOST=0.0.0.0 to change)
	$(BIN)/country-positions serve --check-port --host $(HOST) --port $(PORT)
	$(BIN)/country-positions migrate
	$(BIN)/country-positions seed
	$(BIN)/country-positions serve --host $(HOST) --port $(PORT)

npm-tools: ## the pinned npm linters and generators (npm ci, once per lockfile; skipped without Node)
	scripts/npm-tools

test: install-dev npm-tools ## lint, type-check, check docs, then run the whole suite on both backends
	PATH="$(abspath $(BIN)):$$PATH" scripts/check
	PATH="$(abspath $(BIN)):$$PATH" scripts/test

check: install-dev npm-tools
	PATH="$(abspath $(BIN)):$$PATH" scripts/check

pytest: install-dev ## run the test suite only; pass ARGS="-k positions --backend=sqlite"
	PATH="$(abspath $(BIN)):$$PATH" scripts/test $(ARGS)

openapi: install ## regenerate docs/openapi.json, the committed API contract
	$(BIN)/python -m app.http.openapi_export

fuzz: install-dev ## long schemathesis run: 500 examples per operation, random seed, both backends
	CP_FUZZ=1 PATH="$(abspath $(BIN)):$$PATH" scripts/test tests/contract/test_schemathesis.py $(ARGS)

bench: install-dev ## throughput, latency, cache misses, a 200-client burst, uvicorn vs Granian, observability on/off (~10-12 min); see bench/README.md
	$(BIN)/python -m bench.run $(ARGS)

bench-scale: install-dev ## bulk load and cold reads at 1k/100k/1M assessments on both backends
	$(BIN)/python -m bench.scale $(ARGS)

bench-releases: install-dev ## release create, history growth and frozen cold reads at 1M assessments on both backends (~15 min)
	$(BIN)/python -m bench.releases $(ARGS)

format: install-dev ## apply ruff formatting and fixes, regenerate the README's CLI block
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .
	$(BIN)/cog -r README.md

clean:
	rm -rf $(VENV) var .mypy_cache .pytest_cache .ruff_cache test-output
