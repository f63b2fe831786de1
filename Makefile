# The two set-up commands of the README (`make demo`, `make test`) each install
# everything they need: a virtual environment, the Python packages and the
# pinned Apache Kafka jars (fetched by Maven into a cache outside the tree), and
# socat (apt-get), the proxy benchmark's bare relay.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# `make test` leaves out the tests marked slow (the 20-kill loop, the second phase of
# each broker fault, half the version pairs): `make test-all` runs them too.
PYTEST_ARGS ?= -m "not slow"

.PHONY: all install kafka socat test test-all demo bench bench-smoke clean

all: test

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev,bench]'
	touch $@

install: $(STAMP)

kafka: $(STAMP)
	$(PY) -m kafkabed fetch

# The proxy benchmark (and its smoke run in `make test`) compares the proxy with socat copying bytes.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
socat:
	@command -v socat >/dev/null || $(SUDO) apt-get install -y -q socat >/dev/null || \
		($(SUDO) apt-get update -q >/dev/null && $(SUDO) apt-get install -y -q socat >/dev/null)

test: kafka socat
	$(PY) -m pytest $(PYTEST_ARGS)

test-all: kafka socat
	$(PY) -m pytest

demo: kafka
	$(PY) tools/demo.py

bench: kafka socat
	$(PY) -m benchmarks.run
	$(PY) -m benchmarks.proxy_bench --json benchmarks/results/$$(date +%F)-proxy.json

bench-smoke: kafka
	$(PY) -m benchmarks.run --smoke

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis
