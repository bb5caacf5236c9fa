# MarketPulse. `make run` runs the whole service, `make test` runs the test suite.
# Without DATABASE_URL / REDIS_URL both start embedded PostgreSQL and Redis under var/.

PYTHON ?= python3.12
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
EMBEDDED := $(BIN)/python -m marketpulse.embedded

.PHONY: run test lint format bench venv npm clean-var

$(BIN)/.installed: requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

venv: $(BIN)/.installed

# The pages' browser libraries (lightweight-charts; axe-core for the tests), exactly as
# package-lock.json pins them; reinstalled when the lock file changes. Needs Node and npm.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

npm: node_modules/.installed

run: venv npm
	PORT=$(PORT) $(EMBEDDED) --publish -- bin/serve

test: venv npm
	$(EMBEDDED) -- $(BIN)/pytest $(PYTEST_ARGS)

# mypy's Django plugin loads the settings: placeholders, nothing is connected to.
LINT_ENV := SECRET_KEY=lint-only-placeholder-not-a-secret-0123456789abcdef \
	DATABASE_URL=postgresql://lint@127.0.0.1/lint REDIS_URL=redis://127.0.0.1:6379/0

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(LINT_ENV) $(BIN)/mypy

format: venv
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: venv npm
	$(EMBEDDED) -- $(BIN)/python -m bench

clean-var:
	rm -rf var/
