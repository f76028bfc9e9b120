"""Index updates while serving: readers ask from several threads while an admin adds and removes
reports over the API, and old versions are pruned as soon as they are replaced. No request fails,
and every citation is exact for the index version that answered it (X-Index-Version): it names a
report that version held, and quotes that report's text at its span."""

from __future__ import annotations

import random
import shutil
import threading
from pathlib import Path

import httpx
import pytest
from conftest import served

from core.config import Settings
from core.index import VERSIONS, open_index
from service.http.app import create_app

READERS = 4
STREETS = ["川沙新镇", "张江镇", "唐镇", "曹路镇", "合庆镇"]
QUESTIONS = ["2019年金杨新村街道的调解成功率是多少?", "金杨新村街道2019年共受理行政复议案件多少起?"] + [
    f"{s}2021年共调解纠纷多少起?" for s in STREETS
]


def _report(n: int, street: str) -> bytes:
    return (f"{street}关于2021年度法治政府建设情况的报告\n一、主要做法和成效\n"
            f"(一)化解矛盾纠纷\n全年共调解纠纷{120 + n}起,调解成功率为9{n}.5%。\n"
            f"(二)规范行政执法\n全年开展行政检查{30 + n}次。\n").encode()


@pytest.fixture
def live_server(tmp_path: Path, seed_index: Path):
    """The app served by uvicorn on a free local port, over a private index that keeps one old version."""
    index = Path(shutil.copytree(seed_index, tmp_path / "index"))
    settings = Settings(index_dir=index, state_dir=tmp_path / "state", keep_versions=1)
    with served(create_app(settings)) as url:
        yield url, index


def test_answers_stay_exact_while_reports_are_added_and_removed(live_server) -> None:
    base, index = live_server
    stop = threading.Event()
    answers: list[tuple[int, dict]] = []
    errors: list[str] = []

    def reader(seed: int) -> None:
        rng = random.Random(seed)
        with httpx.Client(base_url=base, timeout=60) as http:
            while not stop.is_set():
                r = http.post("/ask", json={"question": rng.choice(QUESTIONS)})
                if r.status_code != 200:
                    errors.append(f"/ask {r.status_code}: {r.text[:200]}")
                    continue
                answers.append((int(r.headers["x-index-version"]), r.json()))

    seed = open_index(index)
    texts = {d.doc_id: seed.document(d.doc_id).text for d in seed.documents()}
    held = {seed.version: set(texts)}  # version -> the reports it holds
    threads = [threading.Thread(target=reader, args=(n,)) for n in range(READERS)]
    for t in threads:
        t.start()
    try:
        with httpx.Client(base_url=base, timeout=120) as http:
            current = set(texts)
            for n, street in enumerate(STREETS):
                r = http.post("/documents", files=[("files", (f"{street}.txt", _report(n, street)))])
                assert r.status_code == 200 and r.json()["added"] == 1, r.text
                doc_id = r.json()["files"][0]["doc_id"]
                texts[doc_id] = _report(n, street).decode()
                current = current | {doc_id}
                held[r.json()["index_version"]] = current
                if n % 2 == 1:  # remove an earlier one while readers keep asking
                    gone = sorted(current - set(held[seed.version]))[0]
                    r = http.delete(f"/documents/{gone}")
                    assert r.status_code == 200, r.text
                    current = current - {gone}
                    held[r.json()["index_version"]] = current
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=120)
    assert errors == []
    served = {v for v, _ in answers}
    assert len(answers) >= 20 and len(served) >= 3, (len(answers), served)
    cited_uploads = 0
    for version, answer in answers:
        for c in answer["citations"]:
            assert c["doc_id"] in held[version], (version, c["doc_id"])
            assert texts[c["doc_id"]][c["char_start"]:c["char_end"]] == c["quote"]
            cited_uploads += c["doc_id"] not in held[seed.version]
    assert cited_uploads > 0  # answers came from reports added while serving, not only the seed
    final = open_index(index)
    assert final.version == max(held) and {d.doc_id for d in final.documents()} == held[max(held)]
    assert final.check_integrity() == []
    assert len([p for p in (index / VERSIONS).iterdir() if p.name.isdigit()]) == 2  # old versions were pruned


def test_requests_keep_the_old_version_while_a_new_one_loads(tmp_path: Path, seed_index: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    import service.index_holder as index_holder
    from ingest.pipeline import ingest_paths
    from service.engine import Engine

    index = Path(shutil.copytree(seed_index, tmp_path / "index"))
    settings = Settings(index_dir=index)
    engine = Engine.open(settings)
    old = engine.view()
    report = tmp_path / "new.txt"
    report.write_bytes(_report(1, STREETS[0]))
    ingest_paths([report], settings, progress=False)
    real_open, loading, release = index_holder.open_index, threading.Event(), threading.Event()

    def slow_open(folder: Path):  # noqa: ANN202 - an IndexSnapshot
        loading.set()
        release.wait(10)
        return real_open(folder)

    monkeypatch.setattr(index_holder, "open_index", slow_open)
    loader = threading.Thread(target=engine.view)
    loader.start()
    assert loading.wait(10)
    assert engine.view() is old  # served at once by the previous version, not queued behind the load
    release.set()
    loader.join(10)
    assert engine.view().snapshot.version == old.snapshot.version + 1


def test_concurrent_uploads_take_turns_and_lose_nothing(live_server) -> None:
    base, index = live_server
    results: list[dict] = []
    errors: list[str] = []

    def admin(streets: list[str], offset: int) -> None:
        with httpx.Client(base_url=base, timeout=120) as http:
            for n, street in enumerate(streets):
                r = http.post("/documents", files=[("files", (f"{street}.txt", _report(offset + n, street)))])
                (results.append(r.json()) if r.status_code == 200 else errors.append(r.text))

    writers = [threading.Thread(target=admin, args=(STREETS[:2], 0)),
               threading.Thread(target=admin, args=(STREETS[2:4], 2))]
    for t in writers:
        t.start()
    for t in writers:
        t.join(timeout=300)
    assert errors == [] and all(r["added"] == 1 for r in results) and len(results) == 4
    versions = sorted(r["index_version"] for r in results)
    assert len(set(versions)) == 4  # each upload wrote its own version, one writer at a time
    final = open_index(index)
    assert final.version == versions[-1] and final.manifest["n_documents"] == 5 and final.check_integrity() == []
