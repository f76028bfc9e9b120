"""Read report files (txt, md, html, docx, pdf, and scans: png, jpg, tiff; doc/wps in office.py, ofd in ofd.py)
into their original text.

Pages without a text layer and images go through OCR (ingest/ocr.py). The text is one paragraph
per line. Tables become one line per row with cells joined by " | " (the chunker turns runs of
such lines into table chunks), with a blank line around each table.
"""

from __future__ import annotations

import logging
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from core.models import Page, TextBox

from .decoding import decode_text
from .errors import ReportReadError
from .ocr import OcrOptions, assemble, ocr_image, ocr_pdf_pages, page_text
from .safety import FileLimits, check_content, too_much_text

log = logging.getLogger(__name__)

SUPPORTED_SUFFIXES = {".txt": "txt", ".md": "md", ".html": "html", ".htm": "html", ".docx": "docx", ".pdf": "pdf",
                      ".doc": "doc", ".wps": "wps", ".ofd": "ofd",
                      ".png": "png", ".jpg": "jpg", ".jpeg": "jpg", ".tif": "tiff", ".tiff": "tiff"}
SCAN_FORMATS = frozenset({"png", "jpg", "tiff"})  # read by OCR alone
_SPACES = re.compile(r"[ \t\u00a0\u3000]+")


@dataclass(frozen=True)
class ReadResult:
    """What a reader got out of one file."""

    text: str
    format: str
    encoding: str | None
    title_hint: str | None = None
    pages: tuple[Page, ...] = ()  # paged formats only, in order, covering the text
    boxes: tuple[TextBox, ...] = ()  # where runs of the text lie on the pages, in text order


def _collapse(text: str) -> str:
    return _SPACES.sub(" ", text).strip()


def table_cells(row: Sequence[str | None]) -> list[str]:
    """A table row's cells as the text shows them: spaces collapsed, one line each."""
    return [_collapse(c or "").replace("\n", " ") for c in row]


def table_lines(rows: Sequence[Sequence[str | None]]) -> list[str]:
    """Table rows as 'cell | cell' lines; empty rows dropped, blank lines around."""
    lines = [" | ".join(cells) for cells in map(table_cells, rows) if any(cells)]
    return ["", *lines, ""] if lines else []


def join_lines(lines: Sequence[str]) -> tuple[str, list[int | None]]:
    """The report text of `lines`: one a line, a run of blank lines cut to one, none at either
    end, a newline at the end; and where each line starts in it (None for a blank line), so a
    reader that knows where a line is printed can say where its characters are."""
    out: list[str] = []
    starts: list[int | None] = []
    pos, gap, first = 0, -1, True  # gap: newlines owed before the next text; -1 before any text
    for line in lines:
        start = None
        for part in line.split("\n"):
            if not first and gap >= 0:
                gap += 1
            first = False
            if not part:
                continue
            if gap > 0:
                out.append("\n" * min(gap, 2))
                pos += min(gap, 2)
            start = pos if start is None else start
            out.append(part)
            pos += len(part)
            gap = 0
        starts.append(start)
    out.append("\n")
    return "".join(out), starts


def _join(lines: list[str]) -> str:
    return join_lines(lines)[0]


def read_file(path: Path, max_bytes: int, limits: FileLimits | None = None,
              ocr: OcrOptions | None = None) -> ReadResult:
    """Read one report file; raises ReportReadError with a one-line reason.

    The name picks the reader, the bytes must agree (see ingest/safety.py): executables,
    archives, zip bombs and PDFs past the page limit are refused before parsing. `ocr`
    says how scanned pages are read and whom to tell of their progress (default: settings' defaults).
    """
    fmt = SUPPORTED_SUFFIXES.get(path.suffix.lower())
    if fmt is None:
        raise ReportReadError(f"unsupported file type '{path.suffix or path.name}'")
    size = path.stat().st_size
    if size > max_bytes:
        raise ReportReadError(f"file too large: {size / 1e6:.1f} MB > limit {max_bytes / 1e6:.1f} MB")
    data = path.read_bytes()
    if not data.strip():
        raise ReportReadError("empty file")
    limits = limits or FileLimits(max_bytes)
    check_content(data, fmt, limits)
    result = _read(path, data, fmt, limits, ocr or OcrOptions())
    if len(result.text) > limits.max_text_chars:
        raise too_much_text(len(result.text), limits.max_text_chars)
    return result


def _read(path: Path, data: bytes, fmt: str, limits: FileLimits, ocr: OcrOptions) -> ReadResult:
    if fmt in ("txt", "md"):
        text, encoding = decode_text(data)
        return ReadResult(text, fmt, encoding)
    if fmt == "html":
        text, encoding = decode_text(data)
        body, title = html_text(text)
        return ReadResult(_require_text(body), fmt, encoding, title)
    if fmt == "docx":
        return _read_docx(path, data)
    if fmt in ("doc", "wps"):
        from .office import read_word97  # office.py reads through the DOCX reader here

        return read_word97(path, fmt, limits)
    if fmt == "ofd":
        from .ofd import read_ofd

        return read_ofd(data, limits)
    if fmt in SCAN_FORMATS:
        text, spans, boxes = assemble(ocr_image(data, ocr))
        return ReadResult(_require_text(text), fmt, None, None, spans, boxes)
    return _read_pdf(path, data, ocr)


def _require_text(text: str) -> str:
    if not text.strip():
        raise ReportReadError("no text found")
    return text


# --- HTML -----------------------------------------------------------------------------

_JUNK_TAGS = ["script", "style", "noscript", "nav", "header", "footer", "aside", "form", "iframe", "button", "select"]
_JUNK_HINT = re.compile(r"nav|menu|breadcrumb|crumb|footer|header|sidebar|share|toolbar|topbar|copyright", re.I)
_CONTENT_HINT = re.compile(r"content|article|TRS_Editor|zoom|detail|main-?text|pages?_con", re.I)
_BLOCK_TAGS = {"p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "li", "section", "article", "tr", "br", "table",
               "blockquote", "pre", "dd", "dt"}
_CJK = re.compile(r"[\u4e00-\u9fff]")


def _hint(tag: object) -> str:
    attrs = getattr(tag, "attrs", None) or {}
    classes = attrs.get("class") or []
    return " ".join([attrs.get("id") or "", *(classes if isinstance(classes, list) else [classes])])


def html_text(html: str) -> tuple[str, str | None]:
    """The article text of a web page (navigation dropped) and its title."""
    from bs4 import BeautifulSoup, Tag

    soup = BeautifulSoup(html, "html.parser")
    title_tag = soup.find("h1") or soup.find("title")
    title = _collapse(title_tag.get_text()) if title_tag else None
    for tag in soup.find_all(_JUNK_TAGS):
        tag.decompose()
    for tag in soup.find_all(True):
        if isinstance(tag, Tag) and tag.attrs is not None and _JUNK_HINT.search(_hint(tag)) and tag.name not in ("body", "html"):
            tag.decompose()
    container = _article_container(soup)
    lines: list[str] = []
    _emit(container, lines)
    return _join([line for line in lines if line is not None]), title or None


def _article_container(soup: object) -> object:
    from bs4 import Tag

    candidates = list(soup.find_all(["article", "main"]))  # type: ignore[attr-defined]
    candidates += [t for t in soup.find_all(True) if isinstance(t, Tag) and _CONTENT_HINT.search(_hint(t))]  # type: ignore[attr-defined]

    def cjk(tag: object) -> int:
        return len(_CJK.findall(tag.get_text()))  # type: ignore[attr-defined]

    candidates = [c for c in candidates if cjk(c) >= 20]
    if candidates:
        return max(candidates, key=cjk)
    body = soup.find("body") or soup  # type: ignore[attr-defined]
    return body


def _emit(node: object, lines: list[str]) -> None:
    """Walk the tree: blocks and <br> end lines, tables become pipe rows."""
    from bs4 import NavigableString, Tag

    buffer: list[str] = []

    def flush() -> None:
        text = _collapse("".join(buffer))
        buffer.clear()
        if text:
            lines.append(text)

    def walk(n: object) -> None:
        if isinstance(n, NavigableString):
            if type(n).__name__ in ("Comment", "Doctype", "Declaration", "ProcessingInstruction"):
                return
            buffer.append(str(n).replace("\n", " "))
            return
        if not isinstance(n, Tag):
            return
        if n.name == "table":
            flush()
            rows = [[c.get_text(" ") for c in tr.find_all(["td", "th"])] for tr in n.find_all("tr")]
            lines.extend(table_lines(rows))
            return
        if n.name == "br":
            flush()
            return
        block = n.name in _BLOCK_TAGS
        if block:
            flush()
        for child in n.children:
            walk(child)
        if block:
            flush()

    walk(node)
    flush()


# --- DOCX -----------------------------------------------------------------------------

def _read_docx(path: Path, data: bytes) -> ReadResult:
    try:
        import docx
        from docx.table import Table
        from docx.text.paragraph import Paragraph

        document = docx.Document(str(path))
        lines: list[str] = []
        for element in document.element.body.iterchildren():
            tag = element.tag.rsplit("}", 1)[-1]
            if tag == "p":
                lines.append(_collapse(Paragraph(element, document).text))
            elif tag == "tbl":
                table = Table(element, document)
                lines.extend(table_lines([[cell.text for cell in row.cells] for row in table.rows]))
        title = document.core_properties.title or None
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise ReportReadError(f"cannot read DOCX: {type(exc).__name__}: {exc}") from exc
    except Exception as exc:  # python-docx raises assorted lxml/opc errors on corrupt files
        raise ReportReadError(f"cannot read DOCX: {type(exc).__name__}: {exc}") from exc
    return ReadResult(_require_text(_join([line for line in lines])), "docx", None, title)


# --- PDF ------------------------------------------------------------------------------

def _read_pdf(path: Path, data: bytes, ocr: OcrOptions) -> ReadResult:
    """The text layer (ingest/pdf.py); the pages without one are read by OCR, and only those."""
    try:
        import pdfplumber

        from .pdf import read_pdf_text

        with pdfplumber.open(str(path)) as pdf:
            title = (pdf.metadata or {}).get("Title") or None
            layout = read_pdf_text(pdf)
    except ReportReadError:
        raise
    except Exception as exc:  # pdfminer raises many kinds of errors on corrupt files
        raise ReportReadError(f"cannot read PDF: {type(exc).__name__}: {exc}") from exc
    title = title if isinstance(title, str) else None
    scanned = [p.number - 1 for p in layout.pages if not layout.text[p.char_start:p.char_end].strip()]
    if not scanned:
        return ReadResult(_require_text(layout.text), "pdf", None, title, layout.pages, layout.boxes)
    read = ocr_pdf_pages(data, scanned, ocr)
    text, pages, boxes = assemble([read[p.number - 1] if p.number - 1 in read else page_text(layout.text, p, layout.boxes)
                                   for p in layout.pages])
    return ReadResult(_require_text(text), "pdf", None, title, pages, boxes)
