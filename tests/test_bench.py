"""Benches that cannot rot: every script in bench/ runs once at its smallest size, exits 0 and prints
its table, so `make bench` works on a fresh clone. Timings are not checked (bench/README.md has them).

The scripts run with the hashing embedder where they take the model from the settings (bench/embedding.py
measures the bundled model itself) and with HOME in a temp folder, so their index cache starts empty.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

from core.embedding import HASHING_NAME

CHROMIUM = Path("/usr/bin/chromium")
# script, smallest arguments, a line of the table it prints
SCRIPTS = [
    ("ingest.py", ["--scale", "0", "--model", HASHING_NAME, "--ocr-workers", "1", "--ocr-repeats", "1"],
     "reportqa (hashing)           samples"),
    ("query.py", ["--sizes", "1000", "--clients", "1", "--requests", "8", "--split-questions", "2", "--busy-sizes", "1000",
                  "--rounds", "1"], "every core, PASSIVE"),
    ("embedding.py", ["--chunks", "4", "--questions", "4", "--repeats", "1"], "every core (old), spin"),
    ("security.py", ["--requests", "3", "--uploads", "1"], "refuse a 200 MB DOCX zip bomb"),
    ("retrieval.py", ["--models", HASHING_NAME], "seed     hashing"),
    ("summaries.py", ["--docs", "data/samples", "--gold", "eval/gold/gold_seed.jsonl"], "| jinyang_2019_fazhi.txt |"),
    ("web.py", ["--rounds", "1"], "citation click → passage highlighted"),
    ("update.py", ["--sizes", "2000", "--questions", "5"], "answers before and after a merge"),
]


def test_every_script_in_bench_is_run_here() -> None:
    helpers = {"__init__.py", "common.py", "large_index.py", "synthetic.py"}  # imported by the scripts, not run
    assert {p.name for p in (ROOT / "bench").glob("*.py")} - helpers == {script for script, _, _ in SCRIPTS}


@pytest.mark.parametrize(("script", "args", "row"), SCRIPTS, ids=[s for s, _, _ in SCRIPTS])
def test_a_bench_script_runs_at_its_smallest_size_and_prints_its_table(script: str, args: list[str], row: str,
                                                                        tmp_path: Path) -> None:
    if script == "web.py" and not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing (`make test` installs it with apt)")
    env = {**os.environ, "HOME": str(tmp_path), "REPORTQA_EMBEDDING_MODEL": HASHING_NAME, "HF_HUB_OFFLINE": "1",
           "TRANSFORMERS_OFFLINE": "1"}
    done = subprocess.run([sys.executable, str(ROOT / "bench" / script), *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert row in done.stdout, done.stdout[-3000:]
