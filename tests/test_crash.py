"""Crash safety: `reportqa ingest` or a merge of segments SIGKILLed at random moments leaves the
index at its previous version or its new one, never between; the next start cleans the leftovers; the index then
passes its integrity check, answers, and takes new writes. Indexes use the hashing embedder: what
is tested is the write, not the search."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.config import Settings
from core.index import TMP_MARK, VERSIONS, open_index
from core.lexical import tokenize
from ingest.pipeline import compact_index, ingest_paths, remove_document
from ingest.writer import recover
from service.engine import Engine
from service.schemas import AskRequest

BATCH = 12
RUNS = 3  # the first killed at a random moment, the others at random moments of the write itself
INGEST = "from reportqa.cli import app; app()"
pytestmark = pytest.mark.usefixtures("fast_embedding")


def _batch(folder: Path, run: int) -> Path:
    folder.mkdir()
    for n in range(BATCH):
        (folder / f"street_{n:02d}.txt").write_text(
            f"第{n}街道关于2021年度法治政府建设情况的报告\n一、主要做法和成效\n(一)化解矛盾纠纷\n"
            f"全年共调解纠纷{100 + n + run * BATCH}起,调解成功率为9{n % 10}.{run}%。\n"
            f"(二)规范行政执法\n全年开展行政检查{30 + n}次,行政复议案件{n}起。\n", encoding="utf-8")
    return folder


def _kill_at_random(proc: subprocess.Popen, index: Path, rng: random.Random, during_write: bool,
                    window: float = 0.3) -> str:
    """SIGKILL the ingest: at a random moment, or a random moment of the `window` seconds after its new
    version folder appears."""
    started = time.monotonic()
    if during_write:
        versions = index / VERSIONS
        while proc.poll() is None and not any(TMP_MARK in p.name for p in versions.iterdir()):
            if time.monotonic() - started > 60:
                break
            time.sleep(0.002)
        time.sleep(rng.uniform(0, window))
    else:
        time.sleep(rng.uniform(0.5, 8.0))
    if proc.poll() is not None:
        assert proc.returncode == 0, "the ingest failed on its own"
        return "finished before the kill"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    return f"killed after {time.monotonic() - started:.2f}s"


def test_sigkill_mid_ingest_leaves_the_previous_or_the_new_version(tmp_path: Path, hashed_seed_index: Path) -> None:
    rng = random.Random(7)
    kills = []
    settings = Settings(index_dir=tmp_path / "index")
    for run in range(RUNS):
        index = tmp_path / "index"
        shutil.rmtree(index, ignore_errors=True)
        shutil.copytree(hashed_seed_index, index)
        before = open_index(index).version
        batch = _batch(tmp_path / f"batch{run}", run)
        env = {**os.environ, "REPORTQA_INDEX_DIR": str(index), "HF_HUB_OFFLINE": "1"}
        proc = subprocess.Popen([sys.executable, "-c", INGEST, "ingest", str(batch), "--json"], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        how = _kill_at_random(proc, index, rng, during_write=run > 0)
        kills.append(how)

        assert recover(index)  # the killed writer's lock died with it
        assert not [p for p in (index / VERSIONS).iterdir() if TMP_MARK in p.name]
        snapshot = open_index(index)
        assert snapshot.check_integrity() == [], (run, how)
        n_docs = snapshot.manifest["n_documents"]
        assert (snapshot.version, n_docs) in {(before, 1), (before + 1, 1 + BATCH)}, (run, how, snapshot.version, n_docs)

        answer = Engine.open(settings).ask(AskRequest(question="2019年金杨新村街道的调解成功率是多少?"))
        assert answer.found and answer.figure is not None and answer.figure.value == pytest.approx(98.3)
        summary = ingest_paths([batch / "street_00.txt"], settings, index, progress=False)
        assert summary.count("failed") == 0 and open_index(index).check_integrity() == []
    assert any(how.startswith("killed") for how in kills), kills


def test_check_and_server_start_clean_leftovers_and_report_problems(tmp_path: Path, hashed_seed_copy: Path) -> None:
    import json

    from typer.testing import CliRunner

    from reportqa.cli import app as cli
    from service.http.app import create_app

    index = hashed_seed_copy
    leftover = index / VERSIONS / f"000099{TMP_MARK}12345"
    leftover.mkdir()
    create_app(Settings(index_dir=index, state_dir=tmp_path / "state"))
    assert not leftover.exists()
    leftover.mkdir()
    ok = CliRunner().invoke(cli, ["check", "--index", str(index), "--json"])
    assert ok.exit_code == 0 and json.loads(ok.stdout)["ok"] is True and not leftover.exists()
    manifest_path = open_index(index).folder / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest_path.write_text(json.dumps({**manifest, "n_chunks": manifest["n_chunks"] + 1}), encoding="utf-8")
    broken = CliRunner().invoke(cli, ["check", "--index", str(index)])
    assert broken.exit_code == 1 and "manifest counts differ" in broken.output


KILL_AFTER_SWITCH = """
import os, signal, sys
import ingest.writer as writer
switch = writer._switch_current
def switch_then_die(*args):
    switch(*args)
    os.kill(os.getpid(), signal.SIGKILL)
writer._switch_current = switch_then_die
from reportqa.cli import app
app()
"""


def test_a_change_whose_writer_died_after_the_switch_is_still_audited(tmp_path: Path, hashed_seed_copy: Path) -> None:
    """SIGKILL between the switch to the new version and the audit row: the next start logs it."""
    from service.http.app import create_app
    from service.http.audit import AuditLog

    index = hashed_seed_copy
    report = _batch(tmp_path / "reports", 0) / "street_00.txt"
    proc = subprocess.run([sys.executable, "-c", KILL_AFTER_SWITCH, "ingest", str(report), "--index", str(index)],
                          env={**os.environ, "HF_HUB_OFFLINE": "1"}, capture_output=True, text=True, timeout=300)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    added = [d.doc_id for d in open_index(index).documents() if d.source.endswith("street_00.txt")]
    assert len(added) == 1  # the change landed
    state = tmp_path / "state"
    assert AuditLog(state).entries(changes_only=True) == []  # and its row was lost with the writer
    for _ in range(2):  # two starts: recovered once
        create_app(Settings(index_dir=index, state_dir=state))
    version = open_index(index).version
    [entry] = [e for e in AuditLog(state).entries(changes_only=True) if e.change["index_version"] == version]
    assert entry.key_id.startswith("cli:") and entry.method == "RECOVERED"
    assert entry.change == {"action": "recovered", "index_version": version, "added": added, "removed": []}


def _lexical_top(index: Path, question: str) -> list[tuple[str, float]]:
    snapshot = open_index(index)
    hits = snapshot.lexical.search(tokenize(question), 10)
    names = {c.id: c.chunk.chunk_id for c in snapshot.chunks([i for i, _ in hits])}
    return [(names[i], score) for i, score in hits]


@pytest.mark.parametrize("command", [["compact"], ["ingest"]], ids=["compact", "add past the segment limit"])
def test_sigkill_mid_merge_leaves_the_previous_or_the_merged_version(
    command: list[str], tmp_path: Path, hashed_seed_copy: Path
) -> None:
    """A merge (`reportqa compact`, or the one an add past REPORTQA_MAX_SEGMENTS makes) SIGKILLed at
    random moments of its write: the index is the old segments or the merged one, with the same reports
    and the same scores, and takes the next merge."""
    rng = random.Random(11)
    index = hashed_seed_copy
    settings = Settings(index_dir=index)
    batch = _batch(tmp_path / "batch", 0)
    files = sorted(batch.iterdir())
    for part in range(3):  # three segments besides the seed's, one report tombstoned
        ingest_paths(files[part * 4 : part * 4 + 3], settings, progress=False)
    remove_document(next(d.doc_id for d in open_index(index).documents() if d.source.endswith("street_01.txt")),
                    settings)
    extra = [f for f in files if f.name.endswith(("03.txt", "07.txt", "11.txt"))]
    question = "全年共调解纠纷多少起,调解成功率"
    segmented = tmp_path / "segmented"
    shutil.copytree(index, segmented)
    kills: list[str] = []
    for run in range(RUNS):
        if command == ["compact"]:  # each run merges the same segments: a finished compact leaves nothing to merge
            shutil.rmtree(index)
            shutil.copytree(segmented, index)
        before = open_index(index)
        docs_before = {d.doc_id for d in before.documents()}
        top_before = _lexical_top(index, question)
        args = command if command == ["compact"] else ["ingest", str(extra[run])]
        env = {**os.environ, "REPORTQA_INDEX_DIR": str(index), "HF_HUB_OFFLINE": "1", "REPORTQA_MAX_SEGMENTS": "1"}
        proc = subprocess.Popen([sys.executable, "-c", INGEST, *args], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # A merge that finished before its kill is tried again with a shorter window, so one is killed mid-write.
        window = 0.3 / 4 ** sum(how == "finished before the kill" for how in kills)
        kills.append(_kill_at_random(proc, index, rng, during_write=True, window=window))

        assert recover(index)
        assert not [p for p in (index / VERSIONS).iterdir() if TMP_MARK in p.name]
        after = open_index(index)
        assert after.check_integrity() == [], (run, kills[-1])
        assert after.version in {before.version, before.version + 1}, (run, kills[-1])
        if after.version == before.version + 1:
            assert len(after.segments) == 1 and not after.segments[0].deleted_docs
        if command == ["compact"]:
            assert {d.doc_id for d in after.documents()} == docs_before
            assert _lexical_top(index, question) == top_before
        else:
            assert len(after.documents()) in {len(docs_before), len(docs_before) + 1}
    assert compact_index(settings)["segments"][0]["deleted"] == []
    assert open_index(index).check_integrity() == []
    assert any(how.startswith("killed") for how in kills), kills
