"""The text layer of a PDF as report text, with the page and the place each run of it is printed.

pdfplumber gives characters with their positions; this module groups them into visual lines,
reads two-column pages column by column, keeps tables as pipe rows (a table continued on the
next page without its header row repeated stays one table, so its chunks keep the header),
unwraps paragraphs, and records for every page its span of the final text and for every line
(or table cell) a `TextBox` whose span is exact in the final text: citations are boxed where
the quoted characters are printed.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from core.models import Page, TextBox
from core.normalize import normalize_str
from core.vocabulary import PARAGRAPH_END

from .sections import starts_with_heading

# pdfplumber's own default: characters further apart than this are separate words (a space).
WORD_GAP = 3.0
# Characters whose tops differ by at most this much are on one visual line (pdfplumber's default).
LINE_TOLERANCE = 3.0
# A gap wider than this many character heights splits a line into pieces (a column gutter).
PIECE_GAP_EMS = 1.5
# A line ending this close to its column's right edge was wrapped (points).
RIGHT_EDGE_SLACK = 15.0
# Where a column gutter may lie, as fractions of the page width.
GUTTER_RANGE = (0.3, 0.7)
# A two-column page: at least this many pieces on each side, of which at least this many beside
# a piece of the other side; pieces crossing the gutter (titles) at most this share of all; each
# side's typical piece at least this share of the page wide (a column of short numbers beside
# labels is a list, not a column).
MIN_COLUMN_PIECES = 3
MAX_CROSSING_SHARE = 0.25
MIN_COLUMN_WIDTH_SHARE = 0.25
# A table cell's column boundaries within this many points: the same columns on the next page.
COLUMN_MATCH = 3.0
# Page furniture dropped from the text: a line that is only a page number ("- 3 -", "第3页",
# "3/12") in the top or bottom tenth of the page.
MARGIN_SHARE = 0.1
PAGE_NUMBER = re.compile(r"^[-—–\s]*(第\s*)?\d{1,4}(\s*页)?(\s*(/|共)\s*\d{1,4}\s*页?)?[-—–\s]*$")
_SPACE_CHARS = {" ", "\t", "\u00a0", "\u3000"}


@dataclass
class Line:
    """One line of the report text as it is being built, with the boxes of its runs (spans
    relative to the line)."""

    text: str
    page: int
    boxes: list[TextBox] = field(default_factory=list)
    table: _TableShape | None = None  # set on the rows of a table

    def extend(self, other: Line) -> None:
        """Continue this line with `other` (a wrapped paragraph's next visual line)."""
        shift = len(self.text)
        self.boxes.extend(replace(b, char_start=b.char_start + shift, char_end=b.char_end + shift) for b in other.boxes)
        self.text += other.text


@dataclass(frozen=True)
class _TableShape:
    """What tells a table continued on the next page: its column boundaries and header row."""

    columns: tuple[float, ...]
    header: str


@dataclass
class Item:
    """A block of a page in reading order: a visual line (one column's part of it) or a table."""

    x0: float
    top: float
    x1: float
    bottom: float
    lines: list[Line]
    is_table: bool = False
    tabbed: bool = False  # a line of pieces far apart (label and value): laid out, never wrapped


@dataclass(frozen=True)
class PagedText:
    """A paged report's text with its pages and boxes (see ReadResult)."""

    text: str
    pages: tuple[Page, ...]
    boxes: tuple[TextBox, ...]


def read_pdf_text(pdf: Any) -> PagedText:
    """The report text of an open pdfplumber PDF, its pages and the boxes of its lines and cells."""
    return paged_text([((float(page.width), float(page.height)), _page_items(page, number))
                       for number, page in enumerate(pdf.pages, start=1)])


def paged_text(pages: Sequence[tuple[tuple[float, float], list[Item]]]) -> PagedText:
    """The report text of pages laid out as items in reading order (each page's size and its visual
    lines and tables), with each page's span and every box's exact span: shared by every paged reader."""
    lines: list[Line] = []
    first_line: list[int] = []
    for _, items in pages:
        first_line.append(len(lines))
        for k, item in enumerate(items):
            if item.is_table:
                _add_table(lines, item.lines, continued=k == 0)
            else:
                lines.extend(item.lines)
    from .readers import join_lines

    text, starts = join_lines([ln.text for ln in lines])
    boxes = [replace(b, char_start=b.char_start + start, char_end=b.char_end + start)
             for ln, start in zip(lines, starts, strict=True) if start is not None for b in ln.boxes]
    return PagedText(text, _page_spans(text, starts, first_line, [size for size, _ in pages]), tuple(boxes))


def _page_spans(text: str, starts: list[int | None], first_line: list[int],
                sizes: list[tuple[float, float]]) -> tuple[Page, ...]:
    """Pages that share the text out in order: each from its first line to the next page's first
    (a page without text is empty where it falls)."""
    begins: list[int] = []
    for k, first in enumerate(first_line):
        last = first_line[k + 1] if k + 1 < len(first_line) else len(starts)
        found = next((s for s in starts[first:last] if s is not None), None)
        begins.append(found if found is not None else -1)
    ends = len(text)
    for k in range(len(begins) - 1, -1, -1):  # a page without text begins where the next one does
        begins[k] = ends if begins[k] < 0 else begins[k]
        ends = begins[k]
    if begins:
        begins[0] = 0
    return tuple(Page(k + 1, begins[k], begins[k + 1] if k + 1 < len(begins) else len(text), *sizes[k])
                 for k in range(len(begins)))


def _add_table(lines: list[Line], rows: list[Line], continued: bool) -> None:
    """A table's rows with a blank line around, or, when it opens a page (`continued`) right after
    a table that ended the last one with the same columns, its header row not repeated, as more
    rows of that table."""
    shape = rows[0].table
    previous = lines[-2] if continued and len(lines) >= 2 and not lines[-1].text else None
    if (shape is not None and previous is not None and previous.table is not None
            and previous.table.header != rows[0].text and _same_columns(previous.table, shape)):
        lines.pop()  # the blank line after the earlier part
        header = previous.table
        lines.extend(replace(r, table=header) for r in rows)
    else:
        lines.append(Line("", rows[0].page))
        lines.extend(rows)
    lines.append(Line("", rows[0].page))


def _same_columns(a: _TableShape, b: _TableShape) -> bool:
    return len(a.columns) == len(b.columns) and all(abs(x - y) <= COLUMN_MATCH for x, y in zip(a.columns, b.columns))


# --- one page --------------------------------------------------------------------------------

def _page_items(page: Any, number: int) -> list[Item]:
    """The page's tables and lines in reading order, paragraphs unwrapped, page numbers dropped."""
    tables = page.find_tables()
    bboxes = [t.bbox for t in tables]

    def outside(c: dict[str, Any]) -> bool:
        cx, cy = (c["x0"] + c["x1"]) / 2, (c["top"] + c["bottom"]) / 2
        return not any(x0 <= cx <= x1 and t0 <= cy <= t1 for x0, t0, x1, t1 in bboxes)

    pieces = [(k, p) for k, row in enumerate(_visual_rows([c for c in page.chars if outside(c)])) for p in _pieces(row)]
    gutter = _gutter([p for _, p in pieces], float(page.width))
    items = _line_items(pieces, gutter, number)
    items = [i for i in items if not _is_page_number(i, float(page.height))]
    items.extend(_table_item(t, number) for t in tables)
    items = [i for i in items if i.lines]  # a table of empty cells has no rows
    return unwrap(_reading_order(items, gutter), gutter)


def _visual_rows(chars: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Characters grouped into visual lines (tops within LINE_TOLERANCE of the line's last), each
    left to right."""
    rows: list[list[dict[str, Any]]] = []
    last_top = None
    for c in sorted(chars, key=lambda c: (c["top"], c["x0"])):
        if last_top is None or c["top"] - last_top > LINE_TOLERANCE:
            rows.append([])
        rows[-1].append(c)
        last_top = c["top"]
    return [sorted(r, key=lambda c: c["x0"]) for r in rows]


def _pieces(row: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """A visual line cut where a gap is wider than PIECE_GAP_EMS characters (a gutter, a tab stop);
    a space character stays in its piece, never opens one."""
    out: list[list[dict[str, Any]]] = []
    right = None
    for c in row:
        if c["text"] in _SPACE_CHARS:
            if out:
                out[-1].append(c)
            continue
        height = c["bottom"] - c["top"]
        if right is None or c["x0"] - right > PIECE_GAP_EMS * max(height, 1.0):
            out.append([])
        out[-1].append(c)
        right = c["x1"]
    return out


def _extent(chars: Sequence[dict[str, Any]]) -> tuple[float, float, float, float]:
    return (min(c["x0"] for c in chars), min(c["top"] for c in chars),
            max(c["x1"] for c in chars), max(c["bottom"] for c in chars))


def _gutter(pieces: list[list[dict[str, Any]]], width: float) -> float | None:
    """The x of the gutter of a two-column page, or None for a page read in one column."""
    spans = [_extent(p) for p in pieces]
    if len(spans) < 2 * MIN_COLUMN_PIECES:
        return None
    best: tuple[int, float] | None = None
    for step in range(int(width * GUTTER_RANGE[0]), int(width * GUTTER_RANGE[1]) + 1):
        crossing = sum(1 for x0, _, x1, _ in spans if x0 < step < x1)
        if best is None or crossing < best[0]:
            best = (crossing, float(step))
    if best is None or best[0] > MAX_CROSSING_SHARE * len(spans):
        return None
    x = _widest_free(spans, best[1], width)
    left = [s for s in spans if s[2] <= x]
    right = [s for s in spans if s[0] >= x]
    beside = sum(1 for r in right if any(r[1] < lt[3] and lt[1] < r[3] for lt in left))
    wide = all(len(side) >= MIN_COLUMN_PIECES
               and statistics.median(s[2] - s[0] for s in side) >= MIN_COLUMN_WIDTH_SHARE * width
               for side in (left, right))
    return x if wide and beside >= MIN_COLUMN_PIECES else None


def _widest_free(spans: list[tuple[float, float, float, float]], x: float, width: float) -> float:
    """The middle of the gap between the columns around `x` (the best gutter found)."""
    left = max((s[2] for s in spans if s[2] <= x), default=x)
    right = min((s[0] for s in spans if s[0] >= x), default=x)
    return (left + right) / 2 if left <= right else x


def _line_items(pieces: list[tuple[int, list[dict[str, Any]]]], gutter: float | None, page: int) -> list[Item]:
    """The pieces of one visual line (row) on one side of the gutter joined again: one item each."""
    groups: dict[tuple[int, int], list[list[dict[str, Any]]]] = {}
    for row, piece in pieces:
        x0, _, x1, _ = _extent(piece)
        side = 0 if gutter is None else (-1 if x1 <= gutter else 1 if x0 >= gutter else 0)
        groups.setdefault((row, side), []).append(piece)
    items = []
    for group in groups.values():
        line = _text_line(group, page)
        if line.text:
            x0, top, x1, bottom = _extent([c for p in group for c in p])
            items.append(Item(x0, top, x1, bottom, [line], tabbed=len(group) > 1))
    return items


def _text_line(pieces: list[list[dict[str, Any]]], page: int) -> Line:
    """The text of some pieces of one visual line, one space wherever characters are further apart
    than WORD_GAP or a space is printed, and its box with the edge of every character."""
    chars = sorted((c for p in pieces for c in p), key=lambda c: c["x0"])
    text: list[str] = []
    edges: list[float] = []
    right = None
    spaced = False
    for c in chars:
        if c["text"] in _SPACE_CHARS:
            spaced = True
            continue
        if right is not None and (spaced or c["x0"] - right > WORD_GAP):
            text.append(" ")
            edges.append(right)
        spaced = False
        glyph = c["text"]
        step = (c["x1"] - c["x0"]) / max(len(glyph), 1)
        for k, ch in enumerate(glyph):
            text.append(ch)
            edges.append(c["x0"] + k * step)
        right = c["x1"]
    if not text:
        return Line("", page)
    edges.append(right if right is not None else 0.0)
    x0, top, x1, bottom = _extent([c for c in chars if c["text"] not in _SPACE_CHARS])
    joined = "".join(text)
    return Line(joined, page, [TextBox(0, len(joined), page, x0, top, x1, bottom, tuple(edges))])


def _is_page_number(item: Item, height: float) -> bool:
    in_margin = item.bottom <= height * MARGIN_SHARE or item.top >= height * (1 - MARGIN_SHARE)
    return in_margin and bool(PAGE_NUMBER.match(item.lines[0].text))


def _table_item(table: Any, page: int) -> Item:  # a pdfplumber Table
    """A table's non-empty rows as 'cell | cell' lines, each cell boxed where it is printed."""
    from .readers import table_cells

    x0, top, x1, bottom = table.bbox
    rows: list[Line] = []
    first_cells: list[tuple[float, float, float, float] | None] = next(
        (r.cells for r in table.rows if any(c is not None for c in r.cells)), [])
    columns = tuple(sorted({round(b, 1) for c in first_cells if c is not None for b in (c[0], c[2])}))
    for row, values in zip(table.rows, table.extract(), strict=True):
        cells = table_cells(values)
        if not any(cells):
            continue
        line = Line(" | ".join(cells), page)
        pos = 0
        for cell, bbox in zip(cells, row.cells, strict=False):
            if cell and bbox is not None:
                line.boxes.append(TextBox(pos, pos + len(cell), page, *bbox))
            pos += len(cell) + 3
        rows.append(line)
    if rows:
        shape = _TableShape(columns, rows[0].text)
        for r in rows:
            r.table = shape
    return Item(x0, top, x1, bottom, rows, is_table=True)


def _side(item: Item, gutter: float | None) -> int:
    """-1 left column, 1 right column, 0 across the gutter (or a one-column page)."""
    if gutter is None:
        return 0
    return -1 if item.x1 <= gutter else 1 if item.x0 >= gutter else 0


def _reading_order(items: list[Item], gutter: float | None) -> list[Item]:
    """Top to bottom; on a two-column page, between two blocks that cross the gutter, the left
    column, then the right one. Left lines above every right-column line, or below all of them
    after a gap of more than a line (a short paragraph under the columns), are read where they stand."""
    if gutter is None:
        return sorted(items, key=lambda i: i.top)
    across = sorted((i for i in items if _side(i, gutter) == 0), key=lambda i: i.top)
    columns = [i for i in items if _side(i, gutter) != 0]
    out: list[Item] = []
    above = float("-inf")
    for block in [*across, None]:
        below = block.top if block is not None else float("inf")
        band = [i for i in columns if above <= i.top < below]
        right = [i for i in band if _side(i, gutter) == 1]
        first = min((i.top for i in right), default=below)
        last = max((i.bottom for i in right), default=above)
        before = [i for i in band if i.bottom <= first]
        after = _after_columns([i for i in band if i not in before], last)
        beside = [i for i in band if i not in before and i not in after]
        out.extend(sorted(before, key=lambda i: i.top))
        out.extend(sorted(beside, key=lambda i: (_side(i, gutter), i.top)))
        out.extend(sorted(after, key=lambda i: i.top))
        if block is not None:
            out.append(block)
            above = block.top
    return out


def _after_columns(items: list[Item], last: float) -> list[Item]:
    """The items below `last` (the right column's end) from the first that stands more than a line
    height below the item above it: what follows the columns rather than ends the left one."""
    ordered = sorted(items, key=lambda i: i.top)
    height = statistics.median([i.bottom - i.top for i in ordered]) if ordered else 0.0
    for k, item in enumerate(ordered):
        above = ordered[k - 1].bottom if k else last
        if item.top >= last and item.top - max(above, last) > height:
            return ordered[k:]
    return []


def unwrap(items: list[Item], gutter: float | None) -> list[Item]:
    """Join visual lines back into paragraphs: a line that runs to its column's right edge without
    ending a sentence continues on the next line, unless either is laid out in pieces far apart,
    the next is a heading or a table."""
    right_edge: dict[int, float] = {}
    for i in items:
        if not i.is_table:
            side = _side(i, gutter)
            right_edge[side] = max(right_edge.get(side, 0.0), i.x1)
    out: list[Item] = []
    continues = False
    for item in items:
        if item.is_table:
            out.append(item)
            continues = False
            continue
        line = item.lines[0]
        if continues and not item.tabbed and not starts_with_heading(normalize_str(line.text)):
            out[-1].lines[0].extend(line)
        else:
            out.append(Item(item.x0, item.top, item.x1, item.bottom, [line]))
        continues = (not item.tabbed and item.x1 >= right_edge[_side(item, gutter)] - RIGHT_EDGE_SLACK
                     and not line.text.endswith(PARAGRAPH_END))
    return out
