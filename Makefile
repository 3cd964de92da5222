# `make figures` and `make test` are the only two commands a fresh machine needs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: figures test bench golden clean distclean venv

figures: $(STAMP)
	$(BIN)/nnfig render

test: $(STAMP)
	$(BIN)/python -m pytest -q

# Accept rendered files as goldens (look at each first!): every file, or MISSING=1 for only
# those without a golden, ONLY="a.png b.png" for named ones, PRUNE=1 to drop orphans.
golden: $(STAMP)
	$(BIN)/nnfig golden accept $(if $(MISSING),--missing) $(if $(PRUNE),--prune) $(ONLY)

bench: $(STAMP)
	$(BIN)/python bench/bench.py

venv: $(STAMP)

# The lock files pin every library that trains or draws; torch==2.13.0 is the CPU build on this disk.
$(STAMP): requirements.lock requirements-test.lock pyproject.toml setup.py pipeline/_fastsgd.c
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -r requirements.lock -r requirements-test.lock
	$(BIN)/pip install -q --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

clean:
	rm -rf output .cache .pytest_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)
