# The two commands of the README: `make demo` and `make test`. Both set up what they need.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
VENV_STAMP := $(VENV)/.custos-installed
NODE_STAMP := contracts/node_modules/.custos-installed
# Debian's Chromium for the gateway's browser test (Playwright drives it; it never downloads a browser).
CHROMIUM := /usr/bin/chromium
# Debian's etcd for the consortium chain's tests (one etcd member per organisation).
ETCD := /usr/bin/etcd

.PHONY: demo test setup lint test-python test-contracts test-mutants artifacts bench clean

demo: $(VENV_STAMP)
	$(VENV)/bin/custos demo

test: setup lint test-contracts test-mutants test-python

setup: $(VENV_STAMP) $(NODE_STAMP) $(CHROMIUM) $(ETCD)

$(VENV_STAMP): pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check -e ".[test]"
	touch $@

$(NODE_STAMP): contracts/package.json contracts/package-lock.json
	cd contracts && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Installed only when absent (CI runs as root on a Debian machine like the developers').
$(CHROMIUM):
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium

$(ETCD):
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq etcd-server

# ruff: lint rules and formatting; mypy: strict on the public modules (configuration in pyproject.toml).
lint: $(VENV_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

test-contracts: $(NODE_STAMP)
	cd contracts && FOUNDRY_PROFILE=$(if $(CI),ci,default) tools/forge test

# Every planted bug of scripts/invariant_mutants.py must be caught by an invariant (quick mode, fixed seed).
test-mutants: $(VENV_STAMP) $(NODE_STAMP)
	$(VENV)/bin/python scripts/invariant_mutants.py --quick

test-python: $(VENV_STAMP) $(NODE_STAMP) $(CHROMIUM) $(ETCD)
	$(VENV)/bin/python -m pytest

artifacts: setup
	$(VENV)/bin/python -m ledger.artifacts build

# The benchmarks' extras (openmined-psi, the PSI baseline) are installed here, not for tests.
bench: $(VENV_STAMP)
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check -e ".[bench]"
	$(VENV)/bin/python scripts/bench/run.py

clean:
	rm -rf $(VENV) contracts/node_modules contracts/out contracts/cache
