"""PDFs keep their pages: every run of text is boxed where it is printed, two-column pages read in
column order, a table continued on the next page keeps its header, the index stores pages, boxes
and the original file, and a cited figure comes back with its page and a box around it."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
from pathlib import Path

import pytest
from conftest import HASHING
from fastapi.testclient import TestClient
from pdfs import MARGIN, WIDTH, PdfBuilder, Printed
from PIL import Image

from core.config import Settings
from core.index import SOURCES, current_version_dir, open_index
from ingest.pipeline import ingest_paths, load_report, prepare, remove_document
from ingest.readers import _join, join_lines, read_file
from service.http.app import create_app

LIMIT = 10 * 1024 * 1024
MEDIATION_QUESTION = "金杨新村街道2019年的调解成功率是多少?"
HEADER = ["项目", "2019年", "2020年"]
ROWS = [HEADER, *([f"事项{k}", str(100 + k), str(200 + k)] for k in range(1, 41))]
TABLE_WIDTHS = [160.0, 120.0, 120.0]


def _plain(text: str) -> str:
    return "".join(text.split())


def _printed_at(built: PdfBuilder, page: int, top: float, bottom: float) -> list[Printed]:
    return [p for p in built.printed if p.page == page and p.top < bottom and top < p.bottom]


def test_join_lines_says_where_each_line_starts_in_the_joined_text() -> None:
    lines = ["", "", "一、标题", "", "", "", "正文 a", "a | b", "", "\n尾\n\n\n行", "", ""]
    text, starts = join_lines(lines)
    assert text == "一、标题\n\n正文 a\na | b\n\n尾\n\n行\n" == _join(lines)
    assert [text[s : s + 2] if s is not None else None for s in starts] == [
        None, None, "一、", None, None, None, "正文", "a ", None, "尾\n", None, None]


def test_every_box_of_a_pdf_holds_the_text_printed_where_it_lies(seed_pdf: PdfBuilder) -> None:
    built = seed_pdf
    result = read_file(built.path, LIMIT)
    assert built.page == 3 and [p.number for p in result.pages] == [1, 2, 3]
    assert result.pages[0].char_start == 0 and result.pages[-1].char_end == len(result.text)
    assert all(a.char_end == b.char_start for a, b in zip(result.pages, result.pages[1:]))
    assert all((p.width, p.height) == pytest.approx((595.0, 842.0)) for p in result.pages)
    assert len(result.boxes) == len(built.printed)  # one box a printed line, none lost, none made up
    for box in result.boxes:
        [line] = _printed_at(built, box.page, box.top, box.bottom)
        assert _plain(result.text[box.char_start : box.char_end]) == _plain(line.text)
        assert box.x0 == pytest.approx(line.x0, abs=0.5) and box.x1 == pytest.approx(line.x1, abs=0.5)
        page = result.pages[box.page - 1]
        assert page.char_start <= box.char_start < box.char_end <= page.char_end
        assert len(box.edges) == box.char_end - box.char_start + 1
    start = result.text.index("98.3 %")
    [line_box] = [b for b in result.boxes if b.char_start <= start < b.char_end]
    figure = line_box.clip(start, start + len("98.3 %"))
    [printed] = [p for p in built.printed if "98.3 %" in p.text]
    assert (figure.page, figure.char_start, figure.char_end) == (printed.page, start, start + 6)
    assert (figure.x0, figure.x1) == pytest.approx(printed.x_of("98.3 %"), abs=0.5)


def test_a_two_column_page_is_read_left_column_first_and_its_title_first(tmp_path: Path) -> None:
    left = ["(一)左栏第一段。" + "街道完善人民调解制度,有效减少了社会矛盾纠纷。" * 3,
            "(二)左栏第二段。" + "全年组织法治讲座十六次,覆盖居民区四十八个。" * 2]
    right = ["(三)右栏第一段。" + "依托线上线下双服务渠道,充分满足居民法律服务需求。" * 3,
             "(四)右栏第二段。" + "持续开展民主法治示范居委创建工作。" * 2]
    pdf = PdfBuilder(tmp_path / "two_columns.pdf")
    title = "某街道2020年法治政府建设工作简报"
    pdf.line(title, (WIDTH - 200) / 2)
    pdf.y -= 2 * pdf.leading
    pdf.columns(left, right)
    pdf.y -= pdf.leading
    after = "三、下一步工作设想:继续推进法治政府建设。"
    pdf.paragraph(after)
    pdf.save()
    lines = read_file(pdf.path, LIMIT).text.splitlines()
    assert [_plain(line) for line in lines] == [_plain(t) for t in [title, *left, *right, after]]


def test_a_page_of_labels_and_numbers_far_apart_is_not_read_as_two_columns(tmp_path: Path) -> None:
    pdf = PdfBuilder(tmp_path / "list.pdf")
    pdf.paragraph("二、主要数据")
    for k, label in enumerate(["受理件数", "办结件数", "调解件数", "咨询人次", "培训场次", "讲座场次"]):
        pdf.line(label, MARGIN)
        pdf.line(str(120 + k), 420.0)
        pdf.y -= pdf.leading
    pdf.save()
    lines = read_file(pdf.path, LIMIT).text.splitlines()
    assert lines[1:] == ["受理件数 120", "办结件数 121", "调解件数 122", "咨询人次 123", "培训场次 124", "讲座场次 125"]


@pytest.mark.parametrize("repeat_header", [False, True])
def test_a_table_continued_on_the_next_page_keeps_its_header_in_every_chunk(tmp_path: Path, repeat_header: bool) -> None:
    pdf = PdfBuilder(tmp_path / "table.pdf")
    pdf.paragraph("一、办件情况")
    for k in range(22):
        pdf.paragraph(f"第{k + 1}项工作按计划推进。")
    pdf.line("表1 各类事项办理情况")
    pdf.y -= pdf.leading
    pdf.table(ROWS, TABLE_WIDTHS, repeat_header=repeat_header)
    pdf.save()
    assert pdf.page == 2
    settings = Settings(index_dir=tmp_path / "index", embedding_model=HASHING)
    pending = prepare(load_report(pdf.path, settings), settings)
    text = pending.report.text
    header = " | ".join(HEADER)
    rows = [line for line in text.splitlines() if " | " in line]
    assert [r for r in rows if r != header] == [" | ".join(r) for r in ROWS[1:]]  # every row once, in order
    assert text.count(header) == (2 if repeat_header else 1)
    tables = [c for c in pending.chunks if c.kind == "table"]
    assert {p for c in tables for p in c.pages} == {1, 2}
    for chunk in tables:
        assert header in chunk.embed_text, chunk.text


@pytest.fixture
def hashed_pdf_index(tmp_path: Path, seed_pdf: PdfBuilder, fast_embedding: None) -> Path:
    folder = tmp_path / "pdfs"
    folder.mkdir()
    shutil.copy(seed_pdf.path, folder / seed_pdf.path.name)
    ingest_paths([folder], Settings(index_dir=tmp_path / "index", embedding_model=HASHING), progress=False)
    return tmp_path / "index"


def test_the_index_keeps_pages_boxes_and_the_original_file_once_across_versions(
        hashed_pdf_index: Path, seed_pdf: PdfBuilder, seed_dir: Path) -> None:
    settings = Settings(index_dir=hashed_pdf_index, embedding_model=HASHING)
    pdf_bytes = seed_pdf.path.read_bytes()
    read = read_file(seed_pdf.path, LIMIT)
    snapshot = open_index(hashed_pdf_index)
    [doc] = snapshot.documents()
    assert doc.layout is not None and doc.layout.pages == read.pages and doc.to_dict()["n_pages"] == 3
    kept = snapshot.original(doc.doc_id)
    assert kept is not None and kept.read_bytes() == pdf_bytes and kept.name == hashlib.sha256(pdf_bytes).hexdigest()
    chunks = snapshot.chunks(snapshot.chunk_ids_of([doc.doc_id]))
    assert {p for c in chunks for p in c.chunk.pages} == {1, 2, 3}
    for c in chunks:
        assert c.chunk.pages == tuple(p.number for p in read.pages
                                      if p.char_start < c.chunk.char_end and c.chunk.char_start < p.char_end)
    start = read.text.index("98.3 %")
    assert [(b.page, b.char_start, b.char_end) for b in doc.layout.boxes(start, start + 6)] == [(2, start, start + 6)]
    assert snapshot.check_integrity() == []
    snapshot.close()

    ingest_paths([seed_dir], settings, progress=False)  # another report: the PDF is carried over, not copied
    carried = current_version_dir(hashed_pdf_index) / SOURCES / kept.name
    assert os.stat(carried).st_ino == os.stat(kept).st_ino
    ingest_paths([seed_dir], settings.model_copy(update={"ann": "hnsw"}), progress=False)  # only the vectors change
    relinked = open_index(hashed_pdf_index)
    assert relinked.ann == "hnsw" and os.stat(relinked.original(doc.doc_id)).st_ino == os.stat(kept).st_ino
    assert relinked.check_integrity() == []
    relinked.close()
    remove_document(doc.doc_id, settings)
    after = open_index(hashed_pdf_index)
    assert not (after.folder / SOURCES / kept.name).exists() and after.check_integrity() == []
    [txt] = after.documents()
    assert txt.layout is None and after.original(txt.doc_id) is None and txt.to_dict()["n_pages"] is None
    after.close()


@pytest.fixture(scope="module")
def pdf_client(pdf_index: Path):
    """The app over the seed PDF and a 2020 text report."""
    with TestClient(create_app(Settings(index_dir=pdf_index))) as client:
        yield client


def test_the_mediation_rate_of_a_pdf_report_is_cited_to_its_page_with_a_box_where_it_is_printed(
        pdf_client: TestClient, seed_pdf: PdfBuilder) -> None:
    answer = pdf_client.post("/ask", json={"question": MEDIATION_QUESTION}).json()
    assert answer["found"] and answer["figure"]["value"] == pytest.approx(98.3)
    cited = answer["citations"][0]
    assert "98.3 %" in cited["quote"] and cited["pages"] == [2]
    [printed] = [p for p in seed_pdf.printed if "98.3 %" in p.text]
    x0, x1 = printed.x_of("98.3 %")
    around = [b for b in cited["boxes"] if b["top"] < printed.bottom and printed.top < b["bottom"]]
    assert len(around) == 1 and around[0]["page"] == printed.page == 2
    assert around[0]["x0"] <= x0 + 0.5 and x1 - 0.5 <= around[0]["x1"]
    for box in cited["boxes"]:  # every box lies on a line the quote is printed on
        [line] = _printed_at(seed_pdf, box["page"], box["top"], box["bottom"])
        assert line.x0 - 0.5 <= box["x0"] < box["x1"] <= line.x1 + 0.5
    doc = pdf_client.get(f"/documents/{cited['doc_id']}").json()
    assert doc["n_pages"] == 3 and [p["number"] for p in doc["pages"]] == [1, 2, 3]
    assert doc["pages"][1]["char_start"] <= cited["char_start"] < cited["char_end"] <= doc["pages"][1]["char_end"]


def test_a_text_report_is_cited_without_pages_or_boxes(pdf_client: TestClient) -> None:
    answer = pdf_client.post("/ask", json={"question": "金杨新村街道2020年的调解成功率是多少?"}).json()
    assert answer["figure"]["value"] == pytest.approx(98.9)
    assert all(c["pages"] is None and c["boxes"] == [] for c in answer["citations"])


def test_a_page_is_drawn_as_a_png_and_bad_requests_say_why(pdf_client: TestClient) -> None:
    docs = {d["format"]: d for d in pdf_client.get("/documents").json()["documents"]}
    pdf_id, txt_id = docs["pdf"]["doc_id"], docs["txt"]["doc_id"]
    r = pdf_client.get(f"/documents/{pdf_id}/pages/2.png", params={"scale": 1.5})
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    image = Image.open(io.BytesIO(r.content))
    assert image.size == pytest.approx((595 * 1.5, 842 * 1.5), abs=1)  # the page's points at the scale asked
    assert min(image.convert("L").getdata()) < 100  # text is drawn, not a blank page
    for path, status, words in (
        (f"/documents/{pdf_id}/pages/4.png", 404, "no page 4"),
        (f"/documents/{pdf_id}/pages/0.png", 404, "no page 0"),
        ("/documents/0123456789abcdef/pages/1.png", 404, "unknown doc_id"),
        (f"/documents/{txt_id}/pages/1.png", 409, "has no pages"),
        (f"/documents/{pdf_id}/pages/1.png?scale=9", 422, "scale"),
        (f"/documents/{pdf_id}/pages/x.png", 422, "number"),
    ):
        r = pdf_client.get(path)
        assert r.status_code == status and words in r.json()["detail"], (path, r.text)


def test_an_uploaded_pdf_is_kept_and_its_pages_are_drawn(tmp_path: Path, seed_pdf: PdfBuilder,
                                                         fast_embedding: None) -> None:
    settings = Settings(index_dir=tmp_path / "index", embedding_model=HASHING, auth="off")
    with TestClient(create_app(settings)) as client:
        sent = client.post("/documents", files=[("files", ("报告.pdf", seed_pdf.path.read_bytes(), "application/pdf"))])
        assert sent.status_code == 200 and sent.json()["files"][0]["status"] == "added", sent.text
        doc_id = sent.json()["files"][0]["doc_id"]
        r = client.get(f"/documents/{doc_id}/pages/3.png", params={"scale": 0.5})
        assert r.status_code == 200 and Image.open(io.BytesIO(r.content)).size == pytest.approx((297.5, 421), abs=1)
        assert client.get(f"/documents/{doc_id}").json()["n_pages"] == 3
