"""Request and response models of /summaries (and of `reportqa summarize --format json`)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, model_validator

from ..schemas import Citation, FiltersIn

Style = Literal["briefing", "key_figures", "sections"]
Format = Literal["json", "md", "docx"]
MIN_CHARS, MAX_CHARS, DEFAULT_CHARS = 100, 20_000, 800
MAX_DOCUMENTS = 20


class SummaryRequest(BaseModel):
    model_config = {"extra": "forbid"}

    doc_ids: list[str] | None = Field(None, min_length=1, max_length=MAX_DOCUMENTS)
    filters: FiltersIn | None = None
    style: Style = "briefing"
    max_chars: int = Field(DEFAULT_CHARS, ge=MIN_CHARS, le=MAX_CHARS,
                           description="Longest briefing (or section summary) text of each report.")
    mode: Literal["extractive", "llm"] | None = None
    format: Format = "json"

    @model_validator(mode="after")
    def _one_selection(self) -> SummaryRequest:
        if self.doc_ids and self.filters:
            raise ValueError("give doc_ids or filters, not both")
        return self


class CitedText(BaseModel):
    """A sentence (or clause) quoted from a report; `citation` numbers into Summary.citations."""

    text: str
    citation: int


class FigureRow(BaseModel):
    metric: str
    value: float
    value_max: float | None = None
    unit: str
    raw: str  # as the report writes it
    section: str
    citation: int


class SectionSummary(BaseModel):
    heading: str
    sentences: list[CitedText]


class ReportSummary(BaseModel):
    doc_id: str
    title: str
    issuer: str | None
    year: int | None
    publish_date: str | None
    headline: list[CitedText] = []
    key_figures: list[FigureRow] = []
    problems: list[CitedText] = []
    plans: list[CitedText] = []
    sections: list[SectionSummary] = []
    text: str = ""  # this report's part as plain text with [n] markers (a briefing stays within max_chars)


class ComparisonRow(BaseModel):
    metric: str
    unit: str
    cells: list[FigureRow | None]  # one per column, None where that report does not state it


class Comparison(BaseModel):
    columns: list[str]
    doc_ids: list[str]
    rows: list[ComparisonRow]


class Summary(BaseModel):
    style: Style
    mode: Literal["extractive", "llm"]
    title: str
    reports: list[ReportSummary]
    comparison: Comparison | None = None
    citations: list[Citation]
    text: str = ""  # the whole summary as Markdown, sources last
    note: str | None = None
    unsupported_numbers: list[str] | None = None

    def public(self) -> dict:
        data = self.model_dump()
        for optional in ("note", "unsupported_numbers", "comparison"):
            if data[optional] is None:
                del data[optional]
        return data
