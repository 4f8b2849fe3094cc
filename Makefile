# hatang: one command to set up and run the demo, one to set up and run the tests.
# Both install what they need themselves: Debian packages (as root) and a .venv.

SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
HATANG := $(VENV)/bin/hatang
DEBS := $(shell grep -v '^\#' debian-packages.txt)
STAMP := $(VENV)/.installed

.PHONY: demo demo-down test bench deps debs venv clean

demo: deps
	$(HATANG) demo

demo-down: deps
	$(HATANG) lab down

test: deps
	tests/run-suites.sh $(PY)

bench: deps
	$(PY) -m bench.run

deps: debs venv

# Install the Debian packages that are missing (needs root; apt-get update once).
debs:
	@missing=""; for p in $(DEBS); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" != 0 ]; then echo "hatang needs these Debian packages, and root to install them:$$missing" >&2; exit 1; fi; \
	  echo "installing Debian packages:$$missing"; \
	  export DEBIAN_FRONTEND=noninteractive; apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

venv: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip >/dev/null 2>&1 || true
	$(PY) -m pip install -q -e '.[test]'
	@touch $(STAMP)

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache
