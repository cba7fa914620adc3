# peerstudy: the two commands of the README.
#   make demo   set up, build the demo study in SQLite, run the pipelines and the dashboard
#   make test   set up and run the whole test suite (SQLite and PostgreSQL)
#   make lint   set up and check lint, import order, formatting (ruff) and types (mypy)
#   make screenshots   the main pages in headless Chromium, in English and Danish, as PNGs in artifacts/screenshots/
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
DEMO_DB ?= sqlite:///peerstudy-demo.db

.PHONY: demo test lint screenshots setup clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	# Bytecode for peerstudy's own packages: an editable install writes none while
	# PYTHONDONTWRITEBYTECODE is set, and every command would compile them again (issue 16).
	$(BIN)/python -m compileall -q study questionnaires pipelines dashboards
	touch $@

OUT    := peerstudy-output

demo: setup
	rm -rf peerstudy-demo.db peerstudy-demo.db-wal peerstudy-demo.db-shm $(OUT)
	$(BIN)/peerstudy demo --db $(DEMO_DB)
	$(BIN)/peerstudy status --db $(DEMO_DB)
	$(BIN)/peerstudy audit verify --db $(DEMO_DB)
	mkdir -p $(OUT)
	$(BIN)/peerstudy check --db $(DEMO_DB) --html $(OUT)/quality.html
	$(BIN)/peerstudy analyse --db $(DEMO_DB) --out $(OUT)/analysis
	$(BIN)/peerstudy export --db $(DEMO_DB) --format csv --out $(OUT)/export
	$(BIN)/peerstudy report --db $(DEMO_DB) --out $(OUT)/report.html
	$(BIN)/peerstudy dashboard --db $(DEMO_DB)

PYTEST_ARGS ?= -n 2

test: setup
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Settings live in pyproject.toml ([tool.ruff], [tool.mypy]).
lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# Only the screenshot test (one server, one browser; marker `screenshots`).
screenshots: setup
	$(BIN)/python -m pytest -m screenshots -n 0 -q tests/test_dashboard_screenshots.py

clean:
	rm -rf $(VENV) peerstudy-demo.db* $(OUT) .pytest_cache .mypy_cache .ruff_cache artifacts
