# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
INDEX ?= index
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run ingest test bench clean

# torch==2.13.0 first: it resolves to the local CPU wheel; a bare torch
# requirement would pull gigabytes of CUDA packages.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

ingest: install
	$(VENV)/bin/reportqa ingest data/samples --index $(INDEX)

run: ingest
	$(VENV)/bin/reportqa documents --index $(INDEX)

test: install
	HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 $(PY) -m pytest

bench: install
	HF_HUB_OFFLINE=1 $(PY) bench/ingest.py

clean:
	rm -rf $(VENV) $(INDEX) .pytest_cache
