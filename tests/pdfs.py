"""PDFs the tests build with reportlab, and a record of where each string was printed on them, so a
test can check a box the reader reports against the place the text really is."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

FONT = "STSong-Light"
WIDTH, HEIGHT = 595.0, 842.0  # A4 in points
MARGIN = 50.0


@dataclass(frozen=True)
class Printed:
    """One string drawn on a page, in page units with the origin at the top left (as TextBox)."""

    page: int
    text: str
    x0: float
    top: float
    x1: float
    bottom: float

    def x_of(self, sub: str) -> tuple[float, float]:
        """Where `sub` (in this string) begins and ends on the page."""
        k = self.text.index(sub)
        size = self.bottom - self.top
        return (self.x0 + pdfmetrics.stringWidth(self.text[:k], FONT, size),
                self.x0 + pdfmetrics.stringWidth(self.text[: k + len(sub)], FONT, size))


@dataclass
class PdfBuilder:
    """Draws text lines, wrapped paragraphs, columns and ruled tables onto A4 pages."""

    path: Path
    size: float = 10.5
    leading: float = 16.0
    printed: list[Printed] = field(default_factory=list)

    def __post_init__(self) -> None:
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
        self.canvas = canvas.Canvas(str(self.path), pagesize=(WIDTH, HEIGHT))
        self.page = 1
        self.y = HEIGHT - MARGIN  # top of the next line, from the top
        self.canvas.setFont(FONT, self.size)

    def new_page(self) -> None:
        self.canvas.showPage()
        self.canvas.setFont(FONT, self.size)
        self.page += 1
        self.y = HEIGHT - MARGIN

    def _room(self, height: float) -> None:
        if self.y - height < MARGIN:
            self.new_page()

    def line(self, text: str, x0: float = MARGIN, y: float | None = None) -> Printed:
        """One line of text whose top is `y` points below the page's top (default: the next line)."""
        top = HEIGHT - self.y if y is None else y
        self.canvas.drawString(x0, HEIGHT - top - self.size, text)
        inked = x0 + pdfmetrics.stringWidth(text.rstrip(), FONT, self.size)  # a trailing space prints nothing
        done = Printed(self.page, text, x0, top, inked, top + self.size)
        self.printed.append(done)
        return done

    def wrap(self, text: str, width: float) -> list[str]:
        """`text` cut into lines at most `width` points wide (continuation lines lose leading spaces)."""
        lines, current = [], ""
        for ch in text:
            if current and pdfmetrics.stringWidth(current + ch, FONT, self.size) > width:
                lines.append(current)
                current = ""
            if current or ch != " ":
                current += ch
        return [*lines, current] if current else lines

    def paragraph(self, text: str, width: float = WIDTH - 2 * MARGIN) -> None:
        """A paragraph wrapped at `width`, flowing onto new pages."""
        for part in self.wrap(text, width):
            self._room(self.leading)
            self.line(part)
            self.y -= self.leading

    def columns(self, left: list[str], right: list[str], gap: float = 30.0) -> None:
        """Two columns side by side from the current line down (each paragraph wrapped in its column)."""
        width = (WIDTH - 2 * MARGIN - gap) / 2
        top = self.y
        bottom = top
        for paragraphs, x0 in ((left, MARGIN), (right, MARGIN + width + gap)):
            self.y = top
            for text in paragraphs:
                for part in self.wrap(text, width):
                    self.line(part, x0)
                    self.y -= self.leading
            bottom = min(bottom, self.y)
        self.y = bottom

    def table(self, rows: list[list[str]], widths: list[float], repeat_header: bool = False) -> None:
        """A ruled table, one line a row; it breaks onto a new page where it runs out of room
        (repeating its header row there only when asked)."""
        height = self.leading + 4
        header = rows[0]
        for k, row in enumerate(rows):
            if self.y - height < MARGIN:
                self.new_page()
                if repeat_header and k:
                    self._row(header, widths, height)
            self._row(row, widths, height)

    def _row(self, row: list[str], widths: list[float], height: float) -> None:
        c = self.canvas
        top = self.y
        x = MARGIN
        c.line(MARGIN, top, MARGIN + sum(widths), top)
        c.line(MARGIN, top - height, MARGIN + sum(widths), top - height)
        for cell, w in zip(row, widths, strict=True):
            c.line(x, top, x, top - height)
            self.line(cell, x + 4, HEIGHT - top + 3)
            x += w
        c.line(x, top, x, top - height)
        self.y -= height

    def save(self) -> Path:
        self.canvas.save()
        return self.path


def seed_pdf(path: Path, text: str) -> PdfBuilder:
    """The seed report as a PDF of several A4 pages, each paragraph wrapped at the right margin."""
    pdf = PdfBuilder(path)
    for paragraph in text.splitlines():
        if paragraph.strip():
            pdf.paragraph(paragraph.strip())
    pdf.save()
    return pdf
