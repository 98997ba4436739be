# Sluice: `make run` starts everything, `make test` proves it.
SHELL := /bin/bash
UV_VERSION := 0.13.9
UV := $(or $(shell command -v uv 2>/dev/null),$(CURDIR)/.tools/bin/uv)
VENV := .venv
BIN := $(VENV)/bin
# Another redis-server binary for the integration suite, e.g. REDIS_SERVER=/usr/bin/redis-server
REDIS_SERVER ?=

.PHONY: install run test lint format clean

$(CURDIR)/.tools/bin/uv:
	python3 -m venv .tools
	.tools/bin/pip install --quiet uv==$(UV_VERSION)

$(BIN)/.installed: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --all-groups --quiet
	touch $@

install: $(BIN)/.installed

run: install
	$(BIN)/python -m infra.launcher

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: lint
	SLUICE_TEST_REDIS_SERVER=$(REDIS_SERVER) $(BIN)/pytest -q

clean:
	rm -rf $(VENV) .tools .data .pytest_cache .mypy_cache .ruff_cache
