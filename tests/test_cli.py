"""The installed `reportqa` command, run as a user would run it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

REPORTQA = shutil.which("reportqa", path=str(Path(sys.executable).parent)) or "reportqa"
pytestmark = pytest.mark.usefixtures("fast_embedding")


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    """The installed command on this checkout's code (PYTHONPATH comes before the editable install)."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    return subprocess.run([REPORTQA, *args], capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)


def test_ingest_samples_then_list_documents_as_json(tmp_path: Path) -> None:
    index = str(tmp_path / "index")
    done = _run("ingest", "data/samples", "--index", index)
    assert done.returncode == 0, done.stderr
    assert "added 1, replaced 0, skipped 0, failed 0" in done.stdout
    listed = _run("documents", "--index", index, "--json")
    assert listed.returncode == 0, listed.stderr
    payload = json.loads(listed.stdout)
    [doc] = payload["documents"]
    assert doc["issuer"] == "金杨新村街道" and doc["year"] == 2019
    assert payload["manifest"]["n_chunks"] == doc["n_chunks"] > 0
    assert payload["manifest"]["embedding_model"].startswith("hashing/")  # the setting reached the command

    removed = _run("remove", doc["doc_id"], "--index", index)
    assert removed.returncode == 0 and "0 reports" in removed.stdout
    again = _run("remove", doc["doc_id"], "--index", index)
    assert again.returncode == 1 and "no report with doc_id" in again.stderr


def test_a_failed_file_gives_its_reason_and_a_non_zero_exit(tmp_path: Path, seed_dir: Path) -> None:
    (seed_dir / "empty.txt").write_bytes(b"")
    done = _run("ingest", str(seed_dir), "--index", str(tmp_path / "index"), "--issuer", "金杨新村街道办事处", "--year", "2019")
    assert done.returncode == 1
    assert "empty.txt: empty file" in done.stderr
    assert "added 1" in done.stdout
    listed = json.loads(_run("documents", "--index", str(tmp_path / "index"), "--json").stdout)
    assert listed["documents"][0]["issuer"] == "金杨新村街道办事处"


def test_commands_on_a_missing_index_fail_with_a_message(tmp_path: Path) -> None:
    done = _run("documents", "--index", str(tmp_path / "nothing"))
    assert done.returncode == 1 and "no index at" in done.stderr


def test_an_unexpected_error_is_one_line_and_exit_1_and_v_shows_the_traceback(tmp_path: Path) -> None:
    version = tmp_path / "index" / "versions" / "000001"
    version.mkdir(parents=True)
    (tmp_path / "index" / "CURRENT").write_text("000001", encoding="utf-8")
    (version / "manifest.json").write_text("{broken", encoding="utf-8")
    plain = _run("documents", "--index", str(tmp_path / "index"))
    assert plain.returncode == 1 and "Traceback" not in plain.stderr
    assert plain.stderr.strip().splitlines() == [plain.stderr.strip()] and "JSONDecodeError" in plain.stderr
    verbose = _run("-v", "documents", "--index", str(tmp_path / "index"))
    assert verbose.returncode == 1 and "Traceback" in verbose.stderr
