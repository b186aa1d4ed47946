# Stepwise: `make run` starts the quickstart site, `make test` runs every test.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup run test lint bench-import bench-soak clean

setup: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt constraints.txt package.json package-lock.json
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# torch first, pinned: anything that depends on it then finds it satisfied.
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -r requirements.txt -r requirements-dev.txt -c constraints.txt
	# Front-end libraries (KaTeX, markdown-it) from npm, served from node_modules.
	npm ci --no-audit --no-fund --silent
	# Browser tests drive Debian's chromium; install it where we may (root with apt).
	command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } || \
		echo "note: chromium not installed; browser tests will be skipped (CI fails instead)"
	touch $(STAMP)

run: setup
	./scripts/quickstart.sh

test: setup lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: setup
	$(BIN)/ruff check .
	# the import layers of pyproject.toml (docs/architecture.md)
	$(BIN)/lint-imports

bench-import: setup
	$(BIN)/python bench/import_export.py

bench-soak: setup
	$(BIN)/python bench/soak.py

clean:
	rm -rf $(VENV) var staticfiles
