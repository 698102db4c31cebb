# The two Quickstart commands: `make run` and `make test`. Each installs what it needs first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: install run test check-ledger clean

$(STAMP): pyproject.toml scanner_ui/package-lock.json
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	npm ci --prefix scanner_ui --no-audit --no-fund --loglevel=error
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/warehouse run --demo --host $(HOST) --port $(PORT)

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

check-ledger: install
	$(BIN)/warehouse check-ledger

clean:
	rm -rf $(VENV) instance .pytest_cache .hypothesis
