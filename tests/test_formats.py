"""Every supported format reads into text with its headings, tables and encodings intact."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from docx import Document
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

from core.config import Settings
from core.index import open_index
from ingest.errors import ReportReadError
from ingest.pipeline import ingest_paths
from ingest.readers import read_file

LIMIT = 10 * 1024 * 1024
LINES = [
    "海幢街道2020年法治政府建设年度报告",
    "一、主要工作内容",
    "(一)提高政务服务水平",
    "全年政务服务中心共接待群众21351人次,事项按时办结率为100%。",
    "二、存在的问题",
    "(一)宣传力度不足",
    "法治宣传覆盖面还需扩大。",
]
TABLE = [["项目", "2019年", "2020年"], ["受理件数", "120", "135"], ["办结件数", "118", "135"]]


def _pdf(path: Path, lines: list[str], table: bool = False) -> Path:
    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    c = canvas.Canvas(str(path))
    c.setFont("STSong-Light", 12)
    y = 800.0
    for line in lines:
        c.drawString(50, y, line)
        y -= 22
    if table:
        y -= 10
        for row in TABLE:
            c.line(50, y + 16, 350, y + 16)
            for k, cell in enumerate(row):
                c.drawString(55 + 100 * k, y + 2, cell)
            y -= 22
        c.line(50, y + 16, 350, y + 16)
        for k in range(4):
            c.line(50 + 100 * k, y + 16, 50 + 100 * k, y + 16 + 22 * len(TABLE))
    c.save()
    return path


def _docx(path: Path) -> Path:
    doc = Document()
    for line in LINES[:4]:
        doc.add_paragraph(line)
    doc.add_paragraph("表1 办件情况")
    table = doc.add_table(rows=3, cols=3)
    for r, row in enumerate(TABLE):
        for c, cell in enumerate(row):
            table.cell(r, c).text = cell
    for line in LINES[4:]:
        doc.add_paragraph(line)
    doc.save(str(path))
    return path


def test_encodings_decode_identically(tmp_path: Path, seed_text: str) -> None:
    for encoding, name in (("utf-8", "u8.txt"), ("gb18030", "gb.txt"), ("utf-16", "u16.txt")):
        (tmp_path / name).write_bytes(seed_text.encode(encoding))
        result = read_file(tmp_path / name, LIMIT)
        assert result.text == seed_text and result.encoding == encoding


def test_utf16_without_a_bom_decodes_and_binary_with_nul_bytes_is_still_refused(tmp_path: Path, seed_text: str) -> None:
    for encoding in ("utf-16-le", "utf-16-be"):
        (tmp_path / f"{encoding}.txt").write_bytes(seed_text.encode(encoding))
        result = read_file(tmp_path / f"{encoding}.txt", LIMIT)
        assert result.text == seed_text and result.encoding == "utf-16"
    noise = random.Random(5).randbytes(4000)
    for name, data in (("noise.txt", noise + b"\x00\x41" * 50), ("odd.txt", seed_text.encode("utf-16-le") + b"x"),
                       ("nul.txt", b"\x00" * 40 + seed_text.encode("utf-16-le"))):
        (tmp_path / name).write_bytes(data)
        with pytest.raises(ReportReadError, match="binary or undecodable"):
            read_file(tmp_path / name, LIMIT)


def test_html_keeps_the_article_and_its_table_and_drops_navigation(tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    body = "".join(f"<p>{line}</p>" for line in LINES)
    rows = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in TABLE)
    page.write_text(
        "<html><head><title>海幢街道2020年法治政府建设年度报告</title></head><body>"
        "<div class='nav'>首页 | 政务公开 | 网站地图</div><ul id='menu'><li>导航菜单</li></ul>"
        f"<div class='article-content'>{body}<table>{rows}</table></div>"
        "<div class='footer'>版权所有 主办单位</div></body></html>",
        encoding="utf-8",
    )
    result = read_file(page, LIMIT)
    assert result.title_hint == "海幢街道2020年法治政府建设年度报告"
    assert "一、主要工作内容\n(一)提高政务服务水平" in result.text
    assert "受理件数 | 120 | 135" in result.text
    for junk in ("网站地图", "导航菜单", "版权所有"):
        assert junk not in result.text


def test_docx_reads_paragraphs_and_tables_in_body_order(tmp_path: Path) -> None:
    text = read_file(_docx(tmp_path / "r.docx"), LIMIT).text
    assert text.index("(一)提高政务服务水平") < text.index("项目 | 2019年 | 2020年") < text.index("二、存在的问题")


def test_pdf_text_layer_and_table(tmp_path: Path) -> None:
    text = read_file(_pdf(tmp_path / "r.pdf", LINES, table=True), LIMIT).text
    assert "一、主要工作内容" in text.split("\n")
    assert "全年政务服务中心共接待群众21351人次,事项按时办结率为100%。" in text
    assert "受理件数 | 120 | 135" in text


def test_generated_docx_and_pdf_ingest_with_their_headings(tmp_path: Path, fast_embedding: None) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    _docx(folder / "a.docx")
    _pdf(folder / "b.pdf", [line.replace("海幢", "金桥") for line in LINES])
    settings = Settings(index_dir=tmp_path / "index")
    summary = ingest_paths([folder], settings, progress=False)
    assert summary.count("added") == 2, summary.to_dict()
    snap = open_index(settings.index_dir)
    for doc in snap.documents():
        full = snap.document(doc.doc_id)
        assert [s["heading"] for s in full.sections] == ["一、主要工作内容", "二、存在的问题"]
        assert full.sections[0]["children"][0]["heading"] == "(一)提高政务服务水平"
    docx_doc = next(d for d in snap.documents() if d.format == "docx")
    tables = [c.chunk for c in snap.chunks(snap.chunk_ids_of([docx_doc.doc_id])) if c.chunk.kind == "table"]
    assert tables and "表1 办件情况" in tables[0].embed_text


def test_wrong_content_for_the_extension_is_refused(tmp_path: Path) -> None:
    (tmp_path / "fake.pdf").write_text("这不是PDF", encoding="utf-8")
    (tmp_path / "fake.docx").write_text("这不是DOCX", encoding="utf-8")
    with pytest.raises(ReportReadError, match="not a PDF"):
        read_file(tmp_path / "fake.pdf", LIMIT)
    with pytest.raises(ReportReadError, match="not a DOCX"):
        read_file(tmp_path / "fake.docx", LIMIT)
