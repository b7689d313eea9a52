# Second Opinion: the two commands of the README, and the checks behind them.
# Everything is installed inside the repository (.tools, .venv, launch/.venv): no global installs.

SHELL := /bin/bash
HOST ?= 127.0.0.1
APP_PORT ?= 8000
EHR_PORT ?= 8001
CLINIC_PORT ?= 8002
export HOST APP_PORT EHR_PORT CLINIC_PORT

UV := $(or $(shell command -v uv 2>/dev/null),$(CURDIR)/.tools/bin/uv)
export UV_LINK_MODE := copy

.PHONY: run test check lint typecheck bench deps browser clean

## make run: start the local sandbox EHR and the app; prints the URL to open. Ctrl-C stops both.
run: deps
	@bash launch/run-local.sh

## make test: install what is missing and run the whole suite (unit, integration, browser).
test: deps browser
	$(UV) run --frozen pytest

## make check: lint and type-check (CI runs it before the tests).
check: deps
	$(UV) run --frozen ruff check .
	$(UV) run --frozen mypy
	cd launch && $(UV) run --frozen mypy

bench: deps
	$(UV) run --frozen python -m tests.bench.run
	$(UV) run --frozen python -m tests.bench.delivery
	$(UV) run --frozen python -m tests.bench.cds

deps: .venv/.installed launch/.venv/.installed

$(CURDIR)/.tools/bin/uv:
	python3 -m venv .tools
	.tools/bin/python -m pip install --quiet --disable-pip-version-check uv

.venv/.installed: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --quiet
	@touch $@

launch/.venv/.installed: launch/pyproject.toml launch/uv.lock | $(UV)
	cd launch && $(UV) sync --frozen --quiet
	@touch $@

## Debian's chromium for the browser test (never a downloaded browser build).
browser:
	@test -x /usr/bin/chromium || { \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; elif command -v sudo >/dev/null; then SUDO=sudo; \
	  else echo "Install Debian's chromium (apt-get install chromium) for the browser test." >&2; exit 1; fi; \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

clean:
	rm -rf .venv launch/.venv .tools .data
