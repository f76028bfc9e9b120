"""Read OFD files (GB/T 33190, the national fixed-layout format) into text with their pages and boxes.

ofdkit opens the package (OFD.xml -> Document.xml -> each page's Content.xml, templates and
composite objects included) and places every TextCode on its page (X/Y, DeltaX, CTM; millimetres,
origin top left). Here the runs become lines (by baseline, left to right), a line whose runs stand
apart in columns becomes a table row when the next or previous line does too, and the other lines
are joined into paragraphs, and the pages become text, pages and boxes, by the PDF reader's own layout
(`ingest/pdf.py` `unwrap`, `paged_text`).
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

from core.models import TextBox

from .errors import ReportReadError
from .pdf import Item, Line, paged_text, unwrap
from .readers import ReadResult, _collapse, table_lines
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
class _Cell:
    """Text that lies together on one page (a visual line, a table cell or row), with its bounding box."""

    text: str
    page: int
    x0: float
    top: float
    x1: float
    bottom: float


def read_ofd(data: bytes, limits: FileLimits) -> ReadResult:
    """Read an OFD: text in reading order, one Page per OFD page and a TextBox per visual line or table row."""
    import ofdkit

    pages: list[tuple[tuple[float, float], list[Item]]] = []  # each page's size in points and its items
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
                pages.append(((width * POINTS_PER_MM, height * POINTS_PER_MM), _items(page_rows)))
    except ReportReadError:
        raise
    except Exception as exc:  # ofdkit raises OFDError on a broken package; zipfile and XML errors may come through
        raise ReportReadError(f"cannot read OFD: {type(exc).__name__}: {exc}") from exc
    layout = paged_text(pages)
    if not layout.text.strip():
        raise ReportReadError("OFD has no text (scanned images?); OCR is not supported for OFD")
    return ReadResult(layout.text, "ofd", None, title or None, layout.pages, layout.boxes)


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


def _cells(line: list[_Run], page: int) -> list[_Cell]:
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
        cells.append(_Cell(_collapse(text), page, min(r.x0 for r in piece), min(r.top for r in piece),
                           max(r.x1 for r in piece), max(r.bottom for r in piece)))
    return cells


def _span(parts: Sequence[_Cell], text: str) -> _Cell:
    """`text` with the box around `parts` (all on one page)."""
    return _Cell(text, parts[0].page, min(p.x0 for p in parts), min(p.top for p in parts), max(p.x1 for p in parts),
                 max(p.bottom for p in parts))


def _items(rows: list[list[_Cell]]) -> list[Item]:
    """A page's rows as layout items in reading order: two or more rows in a row cut into cells are
    a table (a line and a box a row), the other rows visual lines, joined into paragraphs by `unwrap`."""
    items: list[Item] = []
    i = 0
    while i < len(rows):
        end = i
        while end < len(rows) and len(rows[end]) >= 2:
            end += 1
        if end - i < 2:
            items.append(_item([_span(rows[i], " ".join(cell.text for cell in rows[i]))]))
            i += 1
            continue
        table = rows[i:end]
        texts = [line for line in table_lines([[cell.text for cell in row] for row in table]) if line]
        items.append(_item([_span(row, text) for row, text in zip(table, texts)], table=True))
        i = end
    return unwrap(items, None)


def _item(cells: list[_Cell], table: bool = False) -> Item:
    """Cells (a visual line, or a table's rows) as a layout item, each a line with its box."""
    lines = [Line(c.text, c.page, [TextBox(0, len(c.text), c.page, c.x0, c.top, c.x1, c.bottom)]) for c in cells]
    return Item(min(c.x0 for c in cells), min(c.top for c in cells), max(c.x1 for c in cells),
                max(c.bottom for c in cells), lines, is_table=table)
