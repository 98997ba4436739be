# Sluice: `make run` starts everything, `make test` proves it.
SHELL := /bin/bash
UV_VERSION := 0.13.9
UV := $(or $(shell command -v uv 2>/dev/null),$(CURDIR)/.tools/bin/uv)
VENV := .venv
BIN := $(VENV)/bin
# Another redis-server binary for the whole suite, e.g. REDIS_SERVER=/usr/bin/redis-server
REDIS_SERVER ?=
# A second server (Redis 7) for tests/infra after the main run; skipped where it is not installed.
REDIS7 ?= /usr/bin/redis-server

.PHONY: install run test chaos bench lint format clean

$(CURDIR)/.tools/bin/uv:
	python3 -m venv .tools
	.tools/bin/pip install --quiet uv==$(UV_VERSION)

$(BIN)/.installed: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --quiet
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
	@if [ ! -x "$(REDIS7)" ]; then \
		echo "make test: no Redis 7 at '$(REDIS7)', tests/infra ran on one server only"; \
	elif [ "$(REDIS7)" = "$(REDIS_SERVER)" ]; then \
		echo "make test: tests/infra already ran on $(REDIS7)"; \
	else \
		echo "make test: tests/infra again on $(REDIS7) ($$($(REDIS7) --version | cut -d' ' -f3))"; \
		SLUICE_TEST_REDIS_SERVER=$(REDIS7) $(BIN)/pytest -q tests/infra; \
	fi

# The fault suite in full (about two minutes): kills workers, Redis and the relay under load.
chaos: install
	$(BIN)/python -m tests.chaos.run

# Sluice beside the raw Redis ceilings, its peers and bare servers (about 5½ minutes on 2 cores;
# QUICK=1: a short run). Writes bench/results.json; see README, Performance.
bench: install
	$(UV) sync --frozen --group bench --inexact --quiet
	$(BIN)/python -m bench.run $(if $(QUICK),--quick)

clean:
	rm -rf $(VENV) .tools .data .pytest_cache .mypy_cache .ruff_cache
