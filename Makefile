# The front door: `make run` serves, `make test` checks everything. Needs Python 3.11+ and make.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: install run test check pytest format openapi fuzz bench bench-scale clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP) ## create the virtualenv and install the project with dev tools

run: install ## migrate and seed the default database, then serve on http://127.0.0.1:8000
	$(BIN)/country-positions migrate
	$(BIN)/country-positions seed
	$(BIN)/country-positions serve

test: install ## lint, type-check, check docs, then run the whole suite on both backends
	PATH="$(abspath $(BIN)):$$PATH" scripts/check
	PATH="$(abspath $(BIN)):$$PATH" scripts/test

check: install
	PATH="$(abspath $(BIN)):$$PATH" scripts/check

pytest: install ## run the test suite only; pass ARGS="-k positions --backend=sqlite"
	PATH="$(abspath $(BIN)):$$PATH" scripts/test $(ARGS)

openapi: install ## regenerate docs/openapi.json, the committed API contract
	$(BIN)/python -m app.http.openapi_export

fuzz: install ## long schemathesis run: 500 examples per operation, random seed, both backends
	CP_FUZZ=1 PATH="$(abspath $(BIN)):$$PATH" scripts/test tests/contract/test_schemathesis.py $(ARGS)

bench: install ## throughput, latency, cache misses, a 200-client burst, uvicorn vs Granian, observability on/off (~10-12 min); see bench/README.md
	$(BIN)/python -m bench.run $(ARGS)

bench-scale: install ## bulk load and cold reads at 1k/100k/1M assessments on both backends
	$(BIN)/python -m bench.scale $(ARGS)

format: install ## apply ruff formatting and fixes, regenerate the README's CLI block
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .
	$(BIN)/cog -r README.md

clean:
	rm -rf $(VENV) var .mypy_cache .pytest_cache .ruff_cache test-output
