"""Old Word files (.doc, .wps) through LibreOffice, and OFD files, read into text with headings, tables and pages.

The .doc files are made by LibreOffice from DOCX files the test builds (once per session: one
LibreOffice start, about 1 s, converts both); the OFD files are written by tests/ofd_files.py.
"""

from __future__ import annotations

import io
import os
import random
import re
import shutil
import subprocess
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import olefile
import pytest
from conftest import SEED, variant_2020
from fastapi.testclient import TestClient
from ofd_files import PAGE_H, PAGE_W, write_ofd

from bench.synthetic import report_docx
from core.config import Settings
from core.embedding import HASHING_NAME
from core.index import open_index
from core.vocabulary import PARAGRAPH_END
from ingest.errors import ReportReadError
from ingest.office import libreoffice
from ingest.pipeline import ingest_paths
from ingest.readers import read_file
from ingest.safety import FileLimits
from service.http.app import create_app

LIMITS = FileLimits(max_bytes=50 * 1024 * 1024)
TITLE = "金杨新村街道关于2019年度法治政府建设情况的报告"
TOP_HEADINGS = ["一、主要做法和成效", "二、法治政府建设中存在的主要问题"]
PT = 72 / 25.4


@pytest.fixture(scope="session")
def word_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The seed report (2019) and its 2020 variant as DOCX, and as .doc made from them by LibreOffice."""
    soffice = libreoffice()
    if soffice is None:
        pytest.skip("LibreOffice (soffice) is not installed: `make test` installs libreoffice-writer-nogui with apt")
    root = tmp_path_factory.mktemp("word")
    seed = SEED.read_text(encoding="utf-8")
    sources = [report_docx(seed, root / "jinyang_2019.docx"), report_docx(variant_2020(seed), root / "jinyang_2020.docx")]
    subprocess.run([soffice, f"-env:UserInstallation={(root / 'profile').as_uri()}", "--headless", "--convert-to", "doc",
                    "--outdir", str(root / "doc"), *map(str, sources)], check=True, capture_output=True, timeout=120)
    return {"docx_2019": sources[0], "doc_2019": root / "doc" / "jinyang_2019.doc", "docx_2020": sources[1],
            "doc_2020": root / "doc" / "jinyang_2020.doc"}


def _encrypted(doc: Path, dest: Path) -> Path:
    """A copy of `doc` whose Word header says it is password-protected (fEncrypted, as Word sets it)."""
    shutil.copy(doc, dest)
    with olefile.OleFileIO(str(dest), write_mode=True) as ole:
        stream = bytearray(ole.openstream("WordDocument").read())
        stream[11] |= 0x01  # the high byte of the flags at offset 10: 0x0100 is fEncrypted
        ole.write_stream("WordDocument", bytes(stream))
    return dest


def _damaged(doc: Path, dest: Path) -> Path:
    """A copy of `doc` whose Word document stream is overwritten with noise, all but its not-encrypted flag
    (the OLE container stays whole)."""
    shutil.copy(doc, dest)
    with olefile.OleFileIO(str(dest), write_mode=True) as ole:
        noise = bytearray(random.Random(1).randbytes(len(ole.openstream("WordDocument").read())))
        noise[11] &= 0xFE  # fEncrypted off: LibreOffice, not the password check, meets the damage
        ole.write_stream("WordDocument", bytes(noise))
    return dest


def test_a_doc_made_by_libreoffice_reads_exactly_as_its_docx(word_files: dict[str, Path]) -> None:
    doc = read_file(word_files["doc_2019"], LIMITS.max_bytes, LIMITS)
    docx = read_file(word_files["docx_2019"], LIMITS.max_bytes, LIMITS)
    assert doc.format == "doc" and doc.text == docx.text and doc.title_hint == TITLE
    lines = doc.text.splitlines()
    assert "文件编号 | 浦金街〔2020〕2号 | 发布机构 | 金杨新村街道" in lines
    assert lines.index(TOP_HEADINGS[0]) < lines.index("(一)健全决策机制,完善制度管理。") < lines.index(TOP_HEADINGS[1])


def test_a_doc_ingests_with_its_headings_and_answers_the_mediation_figure_over_http(word_files: dict[str, Path],
                                                                                     tmp_path: Path) -> None:
    settings = Settings(index_dir=tmp_path / "index", state_dir=tmp_path / "state")  # the real model: answers are tested
    summary = ingest_paths([word_files["doc_2019"]], settings, progress=False)
    assert summary.count("added") == 1, summary.to_dict()
    [doc] = open_index(settings.index_dir).documents()
    assert doc.format == "doc" and doc.metadata.year == 2019 and doc.metadata.title == TITLE
    with TestClient(create_app(settings)) as client:
        answer = client.post("/ask", json={"question": "金杨新村街道2019年的调解成功率是多少?"}).json()
        assert answer["found"] is True and answer["answer"] == "98.3 %", answer
        [citation] = [c for c in answer["citations"] if "98.3 %" in c["quote"]]
        assert citation["section_path"][0] == TOP_HEADINGS[0] and citation["doc_id"] == doc.doc_id
        span = client.get(f"/documents/{doc.doc_id}/text", params={"start": citation["char_start"],
                                                                   "end": citation["char_end"]})
        assert span.json()["text"] == citation["quote"]
        damaged = _damaged(word_files["doc_2019"], tmp_path / "damaged.doc").read_bytes()
        upload = client.post("/documents", files=[("files", (name, data, "application/octet-stream")) for name, data in
                                                  (("报告.wps", damaged), ("报告.ofd", _zip({"OFD.xml": "<OFD"})))])
        assert upload.status_code == 422 and upload.json()["detail"].startswith("no file could be added: 报告.wps: ")
        [wps, ofd] = upload.json()["files"]
        assert wps["status"] == "failed" and "damaged or not a Word document" in wps["reason"]
        assert ofd["status"] == "failed" and ofd["reason"].startswith("cannot read OFD: ")


def test_a_wps_ingests_while_damaged_locked_and_disguised_word_files_are_refused(word_files: dict[str, Path],
                                                                                  tmp_path: Path,
                                                                                  fast_embedding: None) -> None:
    """The .wps is the 2020 .doc renamed: WPS Office saves .wps as the Word 97 binary in an OLE file."""
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(word_files["doc_2020"], folder / "jinyang_2020.wps")
    _damaged(word_files["doc_2019"], folder / "damaged.doc")
    _encrypted(word_files["doc_2019"], folder / "locked.doc")
    (folder / "setup.wps").write_bytes(b"MZ\x90\x00" + bytes(4000))
    settings = Settings(index_dir=tmp_path / "index", embedding_model=HASHING_NAME)
    summary = ingest_paths([folder], settings, progress=False)
    reasons = {Path(o.path).name: o.reason for o in summary.outcomes}
    assert summary.count("added") == 1 and summary.count("failed") == 3, summary.to_dict()
    assert reasons["damaged.doc"] == ("cannot read DOC: the file is damaged or not a Word document "
                                      "(LibreOffice: source file could not be loaded)")
    assert reasons["locked.doc"] == ("cannot read DOC: it is password-protected; save a copy without a password "
                                     "and ingest that")
    assert reasons["setup.wps"].startswith("refused: the file is a Windows executable")
    snap = open_index(settings.index_dir)
    [doc] = snap.documents()
    assert doc.format == "wps" and doc.metadata.year == 2020
    assert [s["heading"] for s in snap.document(doc.doc_id).sections][:2] == TOP_HEADINGS
    assert "调解成功率 98.9 %" in snap.text_of(doc.doc_id)


def test_a_conversion_past_its_time_limit_is_refused_and_leaves_no_process(word_files: dict[str, Path]) -> None:
    limits = FileLimits(max_bytes=LIMITS.max_bytes, convert_timeout_s=0.2)  # LibreOffice needs ~1 s to start
    with pytest.raises(ReportReadError, match=r"still converting after 0.2 s \(limit REPORTQA_CONVERT_TIMEOUT_S\)"):
        read_file(word_files["doc_2019"], limits.max_bytes, limits)
    left = [pid for pid in os.listdir("/proc") if pid.isdigit() and _cmdline(pid).count("reportqa-office-")]
    assert left == []


def test_parallel_conversions_each_get_their_own_libreoffice(word_files: dict[str, Path]) -> None:
    """Two conversions at once: with a shared profile the second would hand its file to the first and exit."""
    with ThreadPoolExecutor(2) as pool:
        texts = list(pool.map(lambda p: read_file(p, LIMITS.max_bytes, LIMITS).text,
                              [word_files["doc_2019"], word_files["doc_2020"]]))
    assert "调解成功率 98.3 %" in texts[0] and "调解成功率 98.9 %" in texts[1]


def _cmdline(pid: str) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:  # the process ended meanwhile
        return ""


def test_without_libreoffice_catdoc_reads_paragraphs_and_table_rows(word_files: dict[str, Path], tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    catdoc = shutil.which("catdoc")
    if catdoc is None:
        pytest.skip("catdoc is not installed: `make test` installs it with apt")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "catdoc").symlink_to(catdoc)
    monkeypatch.setenv("PATH", str(bin_dir))
    text = read_file(word_files["doc_2019"], LIMITS.max_bytes, LIMITS).text
    lines = text.splitlines()
    assert "文件编号 | 浦金街〔2020〕2号 | 发布机构 | 金杨新村街道" in lines
    assert lines.index(TOP_HEADINGS[0]) < lines.index(TOP_HEADINGS[1])
    assert "2019 年成功调处各类矛盾纠纷 987 起,调解成功率 98.3 %。" in text


def test_without_libreoffice_or_catdoc_a_doc_is_refused_saying_what_to_install(word_files: dict[str, Path],
                                                                                tmp_path: Path,
                                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ReportReadError, match="cannot read .doc: LibreOffice is not installed"):
        read_file(word_files["doc_2019"], LIMITS.max_bytes, LIMITS)


def test_an_ole_file_that_is_not_a_word_document_is_refused(word_files: dict[str, Path], tmp_path: Path) -> None:
    """The same OLE container with its stream renamed, as a spreadsheet or an installer has other streams."""
    data = word_files["doc_2019"].read_bytes().replace("WordDocument".encode("utf-16-le"), "Workbook\0\0\0\0".encode("utf-16-le"))
    (tmp_path / "sheet.doc").write_bytes(data)
    with pytest.raises(ReportReadError, match="an OLE file that is not a Word document"):
        read_file(tmp_path / "sheet.doc", LIMITS.max_bytes, LIMITS)


# --- OFD ------------------------------------------------------------------------------

@pytest.mark.parametrize("per_character", [False, True], ids=["object_per_line", "object_per_character"])
def test_an_ofd_reads_in_reading_order_with_its_pages_table_and_a_box_per_line(tmp_path: Path,
                                                                               per_character: bool) -> None:
    seed = SEED.read_text(encoding="utf-8")
    placed = write_ofd(tmp_path / "report.ofd", seed, TITLE, per_character)
    result = read_file(tmp_path / "report.ofd", LIMITS.max_bytes, LIMITS)
    assert result.format == "ofd" and result.title_hint == TITLE
    text = result.text
    page_starts = {p.char_start for p in result.pages}
    offset, rest = 0, []
    for line in text.split("\n"):
        if line and " | " not in line:
            rest.append((line, offset + len(line) + 1 in page_starts))  # the next line opens a page
        offset += len(line) + 1
    for paragraph in (line for line in seed.splitlines() if " | " not in line):  # wrapped lines rejoined
        got, page_ends = rest.pop(0)
        while got != paragraph:  # except after a sentence that ends at the margin or a page's last line, as in PDFs
            assert (got.endswith(PARAGRAPH_END) or page_ends) and paragraph.startswith(got), (got, paragraph)
            more, page_ends = rest.pop(0)
            got += more
    assert rest == []
    assert "文件编号 | 浦金街〔2020〕2号 | 发布机构 | 金杨新村街道" in text.splitlines()
    pages = max(p.page for p in placed)
    assert pages >= 2 and [p.number for p in result.pages] == list(range(1, pages + 1))
    assert result.pages[0].char_start == 0 and result.pages[-1].char_end == len(text)
    assert all(a.char_end == b.char_start for a, b in zip(result.pages, result.pages[1:]))
    assert all((p.width, p.height) == pytest.approx((PAGE_W * PT, PAGE_H * PT)) for p in result.pages)
    for p in placed:  # each line's box on its page, in points, around its baseline; a table cell's is its row's
        assert any(b.page == p.page and b.top < p.baseline * PT < b.bottom
                   and (text[b.char_start:b.char_end] == p.text and b.x0 == pytest.approx(p.x * PT)
                        or p.text in text[b.char_start:b.char_end].split(" | ")) for b in result.boxes), p
    mediation = text.index("调解成功率 98.3 %")
    [page] = [p.number for p in result.pages if p.char_start <= mediation < p.char_end]
    [box] = [b for b in result.boxes if b.char_start <= mediation < b.char_end]
    assert box.page == page > 1


def test_an_ofd_ingests_with_its_headings_and_metadata(tmp_path: Path, fast_embedding: None) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    write_ofd(folder / "report.ofd", SEED.read_text(encoding="utf-8"), TITLE)
    (folder / "broken.ofd").write_bytes(_zip({"OFD.xml": "<ofd:OFD xmlns:ofd='x'><ofd:DocBody>"}))
    settings = Settings(index_dir=tmp_path / "index", embedding_model=HASHING_NAME)
    summary = ingest_paths([folder], settings, progress=False)
    outcomes = {Path(o.path).name: o for o in summary.outcomes}
    assert outcomes["report.ofd"].status == "added" and outcomes["broken.ofd"].status == "failed"
    assert outcomes["broken.ofd"].reason.startswith("cannot read OFD: ")
    snap = open_index(settings.index_dir)
    [doc] = snap.documents()
    assert doc.format == "ofd" and doc.metadata.year == 2019 and doc.metadata.doc_number == "浦金街〔2020〕2号"
    assert [s["heading"] for s in snap.document(doc.doc_id).sections][:2] == TOP_HEADINGS


def _zip(entries: dict[str, str | bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buf.getvalue()


@pytest.mark.parametrize(("name", "data", "reason"), [
    ("bomb.ofd", _zip({"OFD.xml": "<ofd:OFD/>", "Doc_0/Pages/Page_0/Content.xml": " " * (50 * 1024 * 1024)}),
     "refused: OFD entry Doc_0/Pages/Page_0/Content.xml inflates"),
    ("tool.ofd", b"\x7fELF\x02\x01\x01" + bytes(200), "an ELF executable"),
    ("archive.ofd", _zip({"report.txt": "报告"}), "an archive (zip) that is not a DOCX or OFD report"),
    ("report.ofd", _zip({"word/document.xml": "<w:document/>"}), "not a OFD file (the content is a DOCX (zip) file)"),
])
def test_an_ofd_that_is_a_zip_bomb_an_executable_or_another_zip_is_refused(tmp_path: Path, name: str, data: bytes,
                                                                            reason: str) -> None:
    (tmp_path / name).write_bytes(data)
    with pytest.raises(ReportReadError, match=re.escape(reason)):
        read_file(tmp_path / name, LIMITS.max_bytes, LIMITS)


def test_an_ofd_past_the_page_or_text_limit_is_refused_naming_the_limit(tmp_path: Path) -> None:
    write_ofd(tmp_path / "report.ofd", SEED.read_text(encoding="utf-8"), TITLE)
    few_pages = FileLimits(max_bytes=LIMITS.max_bytes, max_pdf_pages=2)
    with pytest.raises(ReportReadError, match=r"refused: OFD has 9 pages \(limit 2\)"):
        read_file(tmp_path / "report.ofd", few_pages.max_bytes, few_pages)
    little_text = FileLimits(max_bytes=LIMITS.max_bytes, max_text_chars=1000)
    with pytest.raises(ReportReadError, match=r"runs past 1,000 characters \(limit REPORTQA_MAX_TEXT_CHARS\)"):
        read_file(tmp_path / "report.ofd", little_text.max_bytes, little_text)
