"""Request and response models of the API (and of `reportqa ask --json`)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, field_validator

from core.index import DocumentRecord

MAX_QUESTION_CHARS = 1000


class FiltersIn(BaseModel):
    """Explicit restrictions; they win over what the question names."""

    model_config = {"extra": "forbid"}

    year: int | None = Field(None, ge=1949, le=2100)
    issuer: str | None = Field(None, min_length=1, max_length=100)
    doc_ids: list[str] | None = Field(None, min_length=1, max_length=100)


class AskRequest(BaseModel):
    model_config = {"extra": "forbid"}

    question: str = Field(..., max_length=MAX_QUESTION_CHARS)
    top_k: int | None = Field(None, ge=1, le=50)
    filters: FiltersIn | None = None
    mode: Literal["extractive", "llm"] | None = None

    @field_validator("question")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("question is empty")
        return value.strip()


class CitedBox(BaseModel):
    """Where part of a quote is printed on its page (page units, origin at the top left; see
    `pages` of GET /documents/{doc_id} for the page's size)."""

    page: int
    x0: float
    top: float
    x1: float
    bottom: float


class Citation(BaseModel):
    """Where a statement comes from: `quote == document text[char_start:char_end]`, and for a paged
    report the pages the quote is on and the boxes where its text is printed."""

    doc_id: str
    title: str | None
    issuer: str | None
    year: int | None
    section_path: list[str]
    char_start: int
    char_end: int
    quote: str
    pages: list[int] | None = None  # null for a report without pages (txt, html, docx)
    boxes: list[CitedBox] = []

    @classmethod
    def of(cls, doc: DocumentRecord, section_path: list[str], start: int, end: int, quote: str) -> Citation:
        """The one way a citation is made: the report's metadata beside the quoted span, and where
        a paged report prints it."""
        m = doc.metadata
        layout = doc.layout
        pages = list(layout.page_numbers(start, end)) if layout else None
        boxes = [CitedBox(page=b.page, x0=b.x0, top=b.top, x1=b.x1, bottom=b.bottom)
                 for b in layout.boxes(start, end)] if layout else []
        return cls(doc_id=doc.doc_id, title=m.title, issuer=m.issuer, year=m.year, section_path=section_path,
                   char_start=start, char_end=end, quote=quote, pages=pages, boxes=boxes)


class FigureOut(BaseModel):
    value: float
    unit: str
    raw: str


class Answer(BaseModel):
    question: str
    found: bool
    answer: str | None
    text: str
    figure: FigureOut | None = None
    citations: list[Citation] = []
    mode: Literal["extractive", "llm"] = "extractive"
    confidence: float = 0.0
    unsupported_numbers: list[str] | None = None
    note: str | None = None

    def public(self) -> dict:
        """The JSON the API and `reportqa ask --json` return: `note` and
        `unsupported_numbers` only when they say something, every other key always."""
        data = self.model_dump()
        for optional in ("unsupported_numbers", "note"):
            if data[optional] is None:
                del data[optional]
        return data
