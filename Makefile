# Two commands set everything up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint install browser backends clean

$(BIN)/uv:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "uv>=0.9"

$(STAMP): pyproject.toml | $(BIN)/uv
	$(BIN)/uv pip install --python $(BIN)/python --quiet --compile-bytecode -e ".[dev,backends]"
	touch $(STAMP)

install: $(STAMP)

# Headless Chromium for the dashboard browser test (Debian package; never a browser download).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	      || echo "chromium could not be installed: the browser test will be skipped"; \
	  else echo "chromium not installed and no root/apt-get: the browser test will be skipped"; fi; }

# PostgreSQL server and a Java runtime (for Spark) from Debian, for tests/backends. The suite starts
# a throw-away cluster and a local Spark session itself; under CI a missing one fails the run.
backends:
	@missing=""; \
	  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	  command -v java >/dev/null 2>&1 || missing="$$missing openjdk-17-jre-headless"; \
	  if [ -n "$$missing" ]; then \
	    if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
	      echo "installing$$missing (Debian packages) for tests/backends"; \
	      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null \
	        || { echo "could not install$$missing: tests/backends needs them"; [ "$$CI" != "true" ] || exit 1; }; \
	    else echo "missing$$missing and no root/apt-get: tests/backends will skip those backends"; fi; fi

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

test: $(STAMP) browser backends lint
	$(BIN)/python -m pytest -q

demo: $(STAMP)
	$(BIN)/fairshare demo --workspace demo-workspace

clean:
	rm -rf $(VENV) demo-workspace .pytest_cache
