"""Each limit on what comes in: upload size and count, request body size, question and top_k
ranges, file type by content, executables and archives, PDF page count and DOCX zip bombs
(refused from the page tree and the zip directory, before any parser runs), text and chunks
per file, and parsing off the server's threads with a time limit and a cancel switch."""

from __future__ import annotations

import gzip
import io
import shutil
import threading
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import docx
import httpx
import pytest
from conftest import slow_docx, text_bomb_docx
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reportlab.pdfgen import canvas
from typer.testing import CliRunner

from core.config import Settings
from ingest.errors import IngestCancelled, ReportReadError
from ingest.isolation import read_isolated
from ingest.pipeline import IngestControl
from ingest.readers import read_file
from ingest.safety import FileLimits, check_content, sniff
from reportqa.cli import app as cli
from service.http.app import create_app
from service.http.audit import AuditLog

REPORT = "张江镇2021年法治政府建设情况报告\n一、主要成效\n全年共办理行政复议案件37起。\n"
HTML = "<!DOCTYPE html><html><head><title>报告</title></head><body><div class='content'><p>" \
       "川沙新镇2021年法治政府建设情况报告。全年共受理信访事项128件,办结率为99.2%。</p></div></body></html>"


def _app(tmp_path: Path, seed_index: Path, **overrides) -> TestClient:
    index = shutil.copytree(seed_index, tmp_path / "index")
    return TestClient(create_app(Settings(index_dir=index, state_dir=tmp_path / "state", **overrides)))


def _pdf(pages: int) -> bytes:
    buf = io.BytesIO()
    c = canvas.Canvas(buf)
    for n in range(pages):
        c.drawString(72, 720, f"page {n + 1}")
        c.showPage()
    c.save()
    return buf.getvalue()


def _docx(text: str) -> bytes:
    document = docx.Document()
    for line in text.splitlines():
        document.add_paragraph(line)
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()


def _zip_bomb() -> bytes:
    """A DOCX-shaped zip whose document.xml inflates ~1000x (50 MB from ~50 KB)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("word/document.xml", "<w:document>" + " " * (50 * 1024 * 1024) + "</w:document>")
    return buf.getvalue()


def _plain_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("report.txt", REPORT)
    return buf.getvalue()


def _upload(client: TestClient, *files: tuple[str, bytes]):
    return client.post("/documents", files=[("files", (name, data, "application/octet-stream")) for name, data in files])


REFUSED = {
    "setup.pdf": (b"MZ\x90\x00\x03" + bytes(200), "Windows executable"),
    "report.txt": (b"\x7fELF\x02\x01\x01" + bytes(200), "ELF executable"),
    "run.txt": (b"#!/bin/sh\nrm -rf /\n", "a script"),
    "reports.docx": (_plain_zip(), "archive (zip) that is not a DOCX"),
    "reports.txt.gz": (gzip.compress(REPORT.encode()), "gzip archive"),
    "bomb.docx": (_zip_bomb(), "zip bomb"),
}


def test_executables_archives_and_zip_bombs_are_refused_by_content(tmp_path: Path, seed_index: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    def never(*_: object, **__: object) -> None:
        raise AssertionError("a refused file reached the DOCX parser")

    monkeypatch.setattr(docx, "Document", never)
    with _app(tmp_path, seed_index) as client:
        r = _upload(client, *((name, data) for name, (data, _) in REFUSED.items()))
        assert r.status_code == 422, r.text
        reasons = {f["filename"]: f["reason"] for f in r.json()["files"]}
        for name, (_, expected) in REFUSED.items():
            assert expected in reasons[name], (name, reasons[name])
        assert r.json()["failed"] == len(REFUSED) and "no file could be added" in r.json()["detail"]
        assert len(client.get("/documents").json()["documents"]) == 1


def test_type_comes_from_content_not_the_name(tmp_path: Path, seed_index: Path) -> None:
    with _app(tmp_path, seed_index) as client:
        r = _upload(client, ("scan.pdf", REPORT.encode("gb18030")), ("page.txt", HTML.encode()),
                    ("notes", _docx(REPORT.replace("37", "41"))))
        assert r.status_code == 200, r.text
        files = {f["filename"]: f for f in r.json()["files"]}
        assert all(f["status"] == "added" for f in files.values()), files
        formats = {name: client.get(f"/documents/{f['doc_id']}").json()["format"] for name, f in files.items()}
        assert formats == {"scan.pdf": "txt", "page.txt": "html", "notes": "docx"}
        tagged = client.post("/documents", data={"issuer": "张江镇", "year": "2021"},
                             files=[("files", ("zj.txt", (REPORT + "附件").encode()))]).json()["files"][0]
        doc = client.get(f"/documents/{tagged['doc_id']}").json()
        assert (doc["issuer"], doc["year"], doc["source"]) == ("张江镇", 2021, "upload:zj.txt")


def test_a_pdf_past_the_page_limit_is_refused_without_being_parsed(tmp_path: Path, seed_index: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    import pdfplumber

    def never(*_: object, **__: object) -> None:
        raise AssertionError("the PDF parser ran on a refused PDF")

    monkeypatch.setattr(pdfplumber, "open", never)
    with _app(tmp_path, seed_index, max_pdf_pages=5) as client:
        r = _upload(client, ("long.pdf", _pdf(6)))
        assert r.status_code == 422 and "PDF has 6 pages (limit 5)" in r.json()["files"][0]["reason"]


def test_a_docx_inflating_past_the_total_limit_is_refused(tmp_path: Path, seed_index: Path) -> None:
    with _app(tmp_path, seed_index, max_docx_uncompressed_mb=0.01) as client:
        r = _upload(client, ("big.docx", _docx(REPORT * 200)))
        assert r.status_code == 422 and "would inflate" in r.json()["files"][0]["reason"]


def test_size_and_count_limits(tmp_path: Path, seed_index: Path) -> None:
    big = (REPORT * 400).encode()  # ~40 KB
    with _app(tmp_path, seed_index, max_file_mb=0.02, max_upload_mb=0.1, max_upload_files=2) as client:
        r = _upload(client, ("big.txt", big), ("ok.txt", REPORT.encode()))
        files = {f["filename"]: f for f in r.json()["files"]}
        assert r.status_code == 200 and "file too large" in files["big.txt"]["reason"]
        assert files["ok.txt"]["status"] == "added"
        too_many = _upload(client, *((f"r{n}.txt", f"{REPORT}{n}".encode()) for n in range(3)))
        assert too_many.status_code == 413 and "limit is 2" in too_many.json()["detail"]
        too_big = _upload(client, ("huge.txt", b"x" * 200_000))
        assert too_big.status_code == 413 and "request body larger than" in too_big.json()["detail"]


def test_json_body_question_and_top_k_limits(tmp_path: Path, seed_index: Path) -> None:
    with _app(tmp_path, seed_index, max_body_kb=4) as client:
        long_body = {"question": "调解成功率" * 500}
        assert client.post("/ask", json=long_body).status_code == 413

        def chunks():  # no Content-Length: the middleware counts the bytes as they come
            yield b'{"question": "'
            for _ in range(100):
                yield "调解成功率".encode() * 10
            yield b'"}'

        streamed = client.post("/ask", content=chunks(), headers={"content-type": "application/json"})
        assert streamed.status_code == 413 and "4 KB" in streamed.json()["detail"]
        assert client.post("/ask", json={"question": "率" * 1001}).status_code == 422
        for top_k in (0, 51, "x"):
            r = client.post("/ask", json={"question": "调解成功率是多少?", "top_k": top_k})
            assert r.status_code == 422 and "top_k" in r.json()["detail"]
        assert client.post("/ask", json={"question": "调解成功率是多少?", "top_k": 50}).status_code == 200


def test_the_cli_path_gets_the_same_checks(tmp_path: Path) -> None:
    limits = FileLimits(max_bytes=10_000_000, max_pdf_pages=2)
    cases = {"bomb.docx": (_zip_bomb(), "zip bomb"), "tool.txt": (b"MZ" + bytes(100), "executable"),
             "long.pdf": (_pdf(3), "PDF has 3 pages"), "fake.pdf": (REPORT.encode(), "not a PDF")}
    for name, (data, expected) in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(ReportReadError, match=expected):
            read_file(tmp_path / name, limits.max_bytes, limits)


def test_reportqa_ingest_refuses_the_150_mb_docx_by_its_limit_and_ingests_the_rest(tmp_path: Path, seed_dir: Path,
                                                                                  fast_embedding: None) -> None:
    (seed_dir / "bomb.docx").write_bytes(text_bomb_docx())
    started = time.monotonic()
    done = CliRunner().invoke(cli, ["ingest", str(seed_dir), "--index", str(tmp_path / "index")])
    assert time.monotonic() - started < 120
    assert done.exit_code == 1 and "added 1, replaced 0, skipped 0, failed 1" in done.stdout
    assert "bomb.docx: refused: the text runs past 2,000,000 characters (limit REPORTQA_MAX_TEXT_CHARS)" in done.stderr


_DOCX_LIKE = _docx(REPORT)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from([b"", b"PK\x03\x04", b"PK\x05\x06", b"%PDF-1.4\n", b"MZ", b"\x1f\x8b", b"\x89PNG\r\n\x1a\n",
                        b"\xff\xd8\xff", b"II*\x00", _DOCX_LIKE[:40]]),
       st.binary(max_size=300), st.integers(0, len(_DOCX_LIKE)), st.booleans())
def test_any_bytes_are_typed_or_refused_with_a_reason(prefix: bytes, tail: bytes, cut: int, splice: bool) -> None:
    """Whatever arrives (a truncated or spliced DOCX, garbage after a magic number), the content
    checks answer with a format or a ReportReadError, never another exception (a 500)."""
    data = _DOCX_LIKE[:cut] + tail + _DOCX_LIKE[cut:] if splice else prefix + tail
    try:
        kind = sniff(data)
        check_content(data, "txt" if kind == "text" else kind, FileLimits(10_000_000))
    except ReportReadError:
        pass


def test_a_docx_inflating_to_150_mb_of_text_is_refused_quickly_naming_the_limit(tmp_path: Path, seed_index: Path) -> None:
    """Issue 12: under the zip-bomb limits, yet 150 MB of text; refused while it inflates, the rest goes in."""
    with _app(tmp_path, seed_index) as client:
        started = time.monotonic()
        r = _upload(client, ("bomb.docx", text_bomb_docx()), ("zj.txt", REPORT.encode()))
        elapsed = time.monotonic() - started
        files = {f["filename"]: f for f in r.json()["files"]}
        assert r.status_code == 200 and files["zj.txt"]["status"] == "added", r.text
        assert files["bomb.docx"]["status"] == "failed"
        assert "2,000,000 characters (limit REPORTQA_MAX_TEXT_CHARS)" in files["bomb.docx"]["reason"]
        assert elapsed < 60, elapsed  # in-process it took over 6 minutes


def _in_thread(call: Callable[[], httpx.Response]) -> tuple[threading.Thread, list[httpx.Response]]:
    out: list[httpx.Response] = []
    thread = threading.Thread(target=lambda: out.append(call()))
    thread.start()
    return thread, out


def _running_job(client: TestClient) -> dict:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        running = [j for j in client.get("/jobs").json()["jobs"] if j["state"] == "running" and j["stage"] == "reading"]
        if running:
            return running[0]
        time.sleep(0.1)
    raise AssertionError("the upload never showed up as a running job")


def test_a_slow_parse_holds_neither_questions_nor_other_uploads_and_is_stopped_at_the_time_limit(
        tmp_path: Path, seed_index: Path) -> None:
    with _app(tmp_path, seed_index, parse_timeout_s=8) as client:
        slow, result = _in_thread(lambda: _upload(client, ("slow.docx", slow_docx())))
        _running_job(client)
        started = time.monotonic()
        answer = client.post("/ask", json={"question": "金杨新村街道2019年的调解成功率是多少?"})
        asked = time.monotonic() - started
        assert answer.json()["figure"]["value"] == 98.3 and asked < 5, asked
        started = time.monotonic()
        other = _upload(client, ("zj.txt", REPORT.encode()))
        assert other.json()["files"][0]["status"] == "added" and time.monotonic() - started < 30
        slow.join(120)
        [refused] = result[0].json()["files"]
        assert refused["status"] == "failed" and "after 8 s (limit REPORTQA_PARSE_TIMEOUT_S)" in refused["reason"]


def test_an_admin_cancels_a_running_upload_and_nothing_is_written(tmp_path: Path, seed_index: Path) -> None:
    with _app(tmp_path, seed_index) as client:
        version = client.get("/health").json()["index_version"]
        upload, result = _in_thread(lambda: _upload(client, ("zj.txt", REPORT.encode()), ("slow.docx", slow_docx())))
        job = _running_job(client)
        assert job["files"] == ["zj.txt", "slow.docx"] and job["files_total"] == 2
        started = time.monotonic()
        assert client.delete(f"/jobs/{job['job_id']}").json()["cancelled"] == job["job_id"]
        upload.join(60)
        assert time.monotonic() - started < 10
        assert result[0].status_code == 409 and "cancelled by local" in result[0].json()["detail"]
        assert client.get(f"/jobs/{job['job_id']}").json()["state"] == "cancelled"
        assert client.delete(f"/jobs/{job['job_id']}").status_code == 409
        assert client.get("/jobs/nope").status_code == 404
        assert client.get("/health").json()["index_version"] == version
        changes = AuditLog(tmp_path / "state").entries(changes_only=True)
        assert [c.change["action"] for c in changes] == ["cancel", "upload"]
        assert changes[1].change["cancelled_by"] == "local" and changes[1].status == 409


def test_a_file_splitting_into_too_many_chunks_is_refused(tmp_path: Path, seed_index: Path) -> None:
    with _app(tmp_path, seed_index, max_chunks_per_file=3) as client:
        r = _upload(client, ("long.txt", (REPORT * 10).encode()))
        assert r.status_code == 422 and "(limit REPORTQA_MAX_CHUNKS_PER_FILE = 3)" in r.json()["files"][0]["reason"]


def test_a_cancel_is_refused_once_the_new_version_is_being_written() -> None:
    writing = IngestControl()
    writing.begin_writing()
    assert not writing.request_cancel() and not writing.cancel.is_set()
    reading = IngestControl(stage="reading")
    assert reading.request_cancel()
    with pytest.raises(IngestCancelled, match="before writing"):
        reading.begin_writing()


def test_a_parse_past_the_memory_limit_is_refused_naming_the_limit(tmp_path: Path) -> None:
    (tmp_path / "slow.docx").write_bytes(slow_docx())
    with pytest.raises(ReportReadError, match=r"more than 256 MB \(limit REPORTQA_PARSE_MEMORY_MB\)"):
        read_isolated(tmp_path / "slow.docx", Settings(parse_memory_mb=256))
