"""Read OFD files (GB/T 33190, the national fixed-layout format) into text with their pages and boxes.

ofdkit opens the package (OFD.xml -> Document.xml -> each page's Content.xml, templates and
composite objects included) and places every TextCode on its page (X/Y, DeltaX, CTM; millimetres,
origin top left). Here the runs become lines (by baseline, left to right), a line whose runs stand
apart in columns becomes a table row when the next or previous line does too, and the other lines
are joined into paragraphs as the PDF reader joins them (readers._unwrap), across page breaks too.
A box is a line's runs' extent around their baseline (the type size above and below it), in PDF
points, so every paged format cites in one unit. ofdkit was chosen over easyofd (it pulls PyMuPDF,
onnxruntime and pymupdf4llm, 385 MB, and hands back unordered text objects: 3.2 s for a 9-page
report where ofdkit takes 0.04 s) and ofdparser (it imports reportlab, fontTools and numpy without
declaring them, last released in 2023, and failed on that report wanting the Windows font
simsun.ttc): it needs nothing beyond the standard library and refuses DTDs and oversized parts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from core.models import Page, TextBox

from .errors import ReportReadError
from .readers import ReadResult, _collapse, _join, _unwrap, table_lines
from .safety import FileLimits, too_much_text

POINTS_PER_MM = 72 / 25.4
SAME_LINE = 0.5  # runs whose baselines differ by less than this share of the type size share a line
WORD_GAP = 0.25  # a gap wider than this share of the type size is a space between runs
CELL_GAP = 1.5  # ... and wider than this one separates table cells
ASCENT, DESCENT = 0.88, 0.12  # a CJK glyph's share of the type size above and below its baseline


@dataclass(frozen=True)
class _Run:
    """One TextCode's text on its page, in points."""

    text: str
    x0: float
    x1: float
    baseline: float
    size: float

    @property
    def top(self) -> float:
        return self.baseline - ASCENT * self.size

    @property
    def bottom(self) -> float:
        return self.baseline + DESCENT * self.size


@dataclass(frozen=True)
class _Line:
    """Text that lies together on one page (a visual line, a table cell or row), with its bounding box."""

    text: str
    page: int
    x0: float
    top: float
    x1: float
    bottom: float


@dataclass(frozen=True)
class _Block:
    """A paragraph (its visual lines, joined in the text) or a table (its rows, a line each)."""

    lines: list[_Line]
    table: bool = False


def read_ofd(data: bytes, limits: FileLimits) -> ReadResult:
    """Read an OFD: text in reading order, one Page per OFD page and a TextBox per visual line or table row."""
    import ofdkit

    sizes: list[tuple[float, float]] = []  # each page's width and height in points
    rows: list[list[_Line]] = []  # every visual line of the document, cut into cells
    chars = 0
    try:
        with ofdkit.open(data) as document:
            if len(document.pages) > limits.max_pdf_pages:
                raise ReportReadError(f"refused: OFD has {len(document.pages)} pages (limit {limits.max_pdf_pages})")
            title = document.info.title
            for number, page in enumerate(document.pages, start=1):
                x, y, width, height = page.box
                runs = [_points(run, x, y) for run in page.runs if run.text.strip()]
                page_rows = [_cells(line, number) for line in _lines(runs)]
                chars += sum(len(cell.text) for row in page_rows for cell in row)
                if chars > limits.max_text_chars:
                    raise too_much_text(chars, limits.max_text_chars)
                rows.extend(page_rows)
                sizes.append((width * POINTS_PER_MM, height * POINTS_PER_MM))
    except ReportReadError:
        raise
    except Exception as exc:  # ofdkit raises OFDError on a broken package; zipfile and XML errors may come through
        raise ReportReadError(f"cannot read OFD: {type(exc).__name__}: {exc}") from exc
    return _result(_blocks(rows), sizes, title)


def _points(run: Any, x: float, y: float) -> _Run:  # an ofdkit TextRun, in mm from the page box's corner
    return _Run(_collapse(run.text), (run.x - x) * POINTS_PER_MM, (run.x - x + run.width) * POINTS_PER_MM,
                (run.y - y) * POINTS_PER_MM, run.size * POINTS_PER_MM)


def _lines(runs: list[_Run]) -> list[list[_Run]]:
    """Runs grouped by baseline, top to bottom, each line left to right."""
    lines: list[list[_Run]] = []
    for run in sorted(runs, key=lambda r: (r.baseline, r.x0)):
        if lines and abs(run.baseline - lines[-1][0].baseline) <= SAME_LINE * min(run.size, lines[-1][0].size):
            lines[-1].append(run)
        else:
            lines.append([run])
    for line in lines:
        line.sort(key=lambda r: r.x0)
    return lines


def _cells(line: list[_Run], page: int) -> list[_Line]:
    """A line cut where runs stand a cell gap apart; each piece's runs joined (a space across a word gap)."""
    pieces: list[list[_Run]] = [[line[0]]]
    for before, run in zip(line, line[1:]):
        if run.x0 - before.x1 > CELL_GAP * min(before.size, run.size):
            pieces.append([run])
        else:
            pieces[-1].append(run)
    cells = []
    for piece in pieces:
        text = piece[0].text
        for before, run in zip(piece, piece[1:]):
            text += (" " if run.x0 - before.x1 > WORD_GAP * min(before.size, run.size) else "") + run.text
        cells.append(_Line(_collapse(text), page, min(r.x0 for r in piece), min(r.top for r in piece),
                           max(r.x1 for r in piece), max(r.bottom for r in piece)))
    return cells


def _span(parts: Sequence[_Line], text: str) -> _Line:
    """`text` with the box around `parts` (all on one page)."""
    return _Line(text, parts[0].page, min(p.x0 for p in parts), min(p.top for p in parts), max(p.x1 for p in parts),
                 max(p.bottom for p in parts))


def _blocks(rows: list[list[_Line]]) -> list[_Block]:
    """Tables (two or more lines in a row cut into cells) and paragraphs (the lines between them, wrapped
    lines rejoined by readers._unwrap, also across a page break), in reading order."""
    blocks: list[_Block] = []
    prose: list[_Line] = []
    i = 0
    while i < len(rows):
        end = i
        while end < len(rows) and len(rows[end]) >= 2:
            end += 1
        if end - i < 2:
            prose.append(_span(rows[i], " ".join(cell.text for cell in rows[i])))
            i += 1
            continue
        blocks.extend(_paragraphs(prose))
        prose = []
        table = rows[i:end]
        texts = [line for line in table_lines([[cell.text for cell in row] for row in table]) if line]
        blocks.append(_Block([_span(row, text) for row, text in zip(table, texts)], table=True))
        i = end
    return blocks + _paragraphs(prose)


def _paragraphs(lines: list[_Line]) -> list[_Block]:
    """Visual lines joined into paragraphs; each paragraph keeps the lines it was made of (their texts concatenate to it)."""
    visual = [{"text": line.text, "x1": line.x1, "top": line.top} for line in lines]
    blocks = []
    k = 0
    for _, text in _unwrap(visual):
        members: list[_Line] = []
        while sum(len(line.text) for line in members) < len(text):
            members.append(lines[k])
            k += 1
        blocks.append(_Block(members))
    return blocks


def _result(blocks: list[_Block], sizes: list[tuple[float, float]], title: str | None) -> ReadResult:
    """The text (a paragraph a line, tables with a blank line around) with its pages and boxes.

    Each visual line and table row is found in the joined text in order, so a box's span is exactly
    where its text stands; a page runs from its first line to the next page's first line.
    """
    lines: list[str] = []
    for block in blocks:
        if block.table:
            lines.extend(["", *(line.text for line in block.lines), ""])
        else:
            lines.append("".join(line.text for line in block.lines))
    text = _join(lines)
    if not text.strip():
        raise ReportReadError("OFD has no text (scanned images?); OCR is not supported for OFD")
    boxes: list[TextBox] = []
    first: dict[int, int] = {}  # page number -> where its first line starts
    cursor = 0
    for line in (line for block in blocks for line in block.lines):
        start = text.index(line.text, cursor)
        cursor = start + len(line.text)
        first.setdefault(line.page, start)
        boxes.append(TextBox(start, cursor, line.page, line.x0, line.top, line.x1, line.bottom))
    pages = []
    begin = 0
    for number, (width, height) in enumerate(sizes, start=1):
        end = next((first[n] for n in range(number + 1, len(sizes) + 1) if n in first), len(text))
        pages.append(Page(number, begin, end, width, height))
        begin = end
    return ReadResult(text, "ofd", None, title or None, tuple(pages), tuple(boxes))
