"""The nouns of reportqa, defined once and imported everywhere.

Spans (`char_start`, `char_end`) always index the report's *original* text, so a
citation can be shown exactly as the report wrote it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class ReportMetadata:
    """What a report says about itself (header table, title line) or what the user overrides."""

    title: str | None = None
    issuer: str | None = None
    doc_number: str | None = None
    publish_date: str | None = None  # ISO yyyy-mm-dd
    index_number: str | None = None
    year: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Page:
    """One page of a paged source (PDF, scan, OFD): the characters of the report text it holds
    and its size, so a citation can name its page and a box can be drawn on the page image."""

    number: int  # 1-based, as printed by a viewer
    char_start: int  # span of the report text on this page
    char_end: int
    width: float  # PDF points (1/72 inch); for an image, pixels
    height: float


@dataclass(frozen=True)
class TextBox:
    """Where a run of the report text (one visual line or word) lies on its page; the
    coordinates are in the page's units (Page.width/height), origin at the top left."""

    char_start: int
    char_end: int
    page: int
    x0: float
    top: float
    x1: float
    bottom: float
    # Where each character of the run begins, then where the last one ends (len = span + 1), when
    # the reader knows it: a part of the run can then be boxed honestly (`clip`).
    edges: tuple[float, ...] = ()

    def clip(self, start: int, end: int) -> TextBox:
        """The box of the part of this run inside [start, end): narrowed to its characters when
        their edges are known, otherwise the whole run (never a guess)."""
        s, e = max(start, self.char_start), min(end, self.char_end)
        if len(self.edges) != self.char_end - self.char_start + 1 or (s, e) == (self.char_start, self.char_end):
            return self
        x0, x1 = self.edges[s - self.char_start], self.edges[e - self.char_start]
        return TextBox(s, e, self.page, x0, self.top, max(x0, x1), self.bottom,
                       self.edges[s - self.char_start : e - self.char_start + 1])


def page_numbers_of(pages: Iterable[Page], start: int, end: int) -> tuple[int, ...]:
    """The numbers of the pages the span [start, end) lies on (an empty span: the page it is on)."""
    return tuple(p.number for p in pages if p.char_start < max(end, start + 1) and start < p.char_end)


@dataclass
class Report:
    """A report as read from one file: its original text and where it came from."""

    doc_id: str  # hash of the original text: same text, same id, whatever the encoding
    source: str  # resolved path (or upload name) of the file
    format: str  # txt | md | html | docx | pdf | doc | wps | ofd | png | jpg | tiff (scans read by OCR)
    encoding: str | None
    text: str
    metadata: ReportMetadata = field(default_factory=ReportMetadata)
    pages: tuple[Page, ...] = ()  # paged sources only (ReadResult.pages)
    boxes: tuple[TextBox, ...] = ()
    original_sha256: str | None = None  # of the file's bytes, kept with the index for paged sources


@dataclass
class Section:
    """A heading and everything under it, up to the next heading of the same or higher rank."""

    heading: str
    level: int  # depth in the tree, 1 = top level
    rank: int  # kind of heading marker (第X章 < 一、 < (一) < 1. < (1) < 第X条)
    char_start: int  # start of the heading in the original text
    char_end: int  # end of the section's content
    body_start: int  # where the content after the heading begins
    children: list[Section] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "heading": self.heading,
            "level": self.level,
            "char_start": self.char_start,
            "char_end": self.char_end,
            "children": [c.to_dict() for c in self.children],
        }


@dataclass
class Chunk:
    """A retrievable, citable piece of one report; `text == report.text[char_start:char_end]`."""

    chunk_id: str
    doc_id: str
    ordinal: int
    section_path: list[str]
    text: str
    char_start: int
    char_end: int
    sentences: list[tuple[int, int]]  # absolute spans of the sentences inside the chunk
    embed_text: str  # title + section path (+ table caption/header) + normalised text
    kind: str = "text"  # text | table
    pages: tuple[int, ...] = ()  # the page numbers the chunk lies on (paged reports only)
