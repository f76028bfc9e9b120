"""A summary request in, a cited Summary out: shared by POST /summaries and `reportqa summarize`."""

from __future__ import annotations

import logging

from core.config import Settings

from ..errors import RequestError
from ..guard import unsupported_numbers
from ..index_holder import IndexView
from ..llm import ChatModel
from ..retrieval import Filters
from .citations import CitationBook
from .compare import column_labels, compare
from .document import DocumentView
from .extractive import briefing, figures_table, sections
from .render import REPORT_TEXT, STYLE_TITLES, markdown
from .schemas import MAX_DOCUMENTS, Summary, SummaryRequest

log = logging.getLogger(__name__)


def select_documents(view: IndexView, request: SummaryRequest) -> list[DocumentView]:
    """The reports to summarise: the ids given, those the filters allow, or all (at most MAX_DOCUMENTS)."""
    documents = view.retriever.documents
    if not documents:
        raise RequestError(409, "the index holds no reports: ingest some first")
    if request.doc_ids:
        unknown = [d for d in request.doc_ids if d not in documents]
        if unknown:
            raise RequestError(404, f"unknown doc_id: {', '.join(unknown)}")
        ids = list(dict.fromkeys(request.doc_ids))
    else:
        f = request.filters
        filters = Filters(year=f.year, issuer=f.issuer, doc_ids=tuple(f.doc_ids) if f.doc_ids else None) if f else Filters()
        ids = [d for d, doc in documents.items() if filters.allows(doc)]
        if not ids:
            raise RequestError(404, "no indexed report matches the filters")
    if len(ids) > MAX_DOCUMENTS:
        raise RequestError(422, f"{len(ids)} reports match; summarise at most {MAX_DOCUMENTS} at once "
                                "(name doc_ids or narrow the filters)")
    records = [view.snapshot.document(d) for d in ids]
    views = [DocumentView(r) for r in records if r is not None]
    return sorted(views, key=lambda v: (v.record.metadata.issuer or "", v.record.metadata.year or 0, v.title))


def extractive_summary(views: list[DocumentView], request: SummaryRequest) -> Summary:
    """The summary in the requested style, every sentence and figure the reports' own, cited."""
    book = CitationBook()
    render = REPORT_TEXT[request.style]
    reports = []
    for view in views:
        if request.style == "key_figures":
            report = figures_table(view, book)
            report.text = render(report)
        elif request.style == "briefing":
            report = briefing(view, book, request.max_chars, render)
        else:
            report = sections(view, book, request.max_chars, render)
        reports.append(report)
    comparison = compare(views, book) if len(views) > 1 else None
    what = STYLE_TITLES[request.style]
    title = f"{views[0].title}·{what}" if len(views) == 1 else f"{'、'.join(column_labels(views))}报告对比·{what}"
    return Summary(style=request.style, mode="extractive", title=title, reports=reports, comparison=comparison,
                   citations=book.citations)


def finish(summary: Summary, views: list[DocumentView]) -> Summary:
    """Render the Markdown and check, as for answers, that every number stands in a source."""
    summary.text = markdown(summary)
    bad = unsupported_numbers(summary.text, [v.text for v in views])
    if bad:
        log.error("summary %r states numbers without a source: %s", summary.title, bad)
    return summary


def summarize(view: IndexView, request: SummaryRequest, settings: Settings,
              chat_model: ChatModel | None = None) -> Summary:
    """Summarise through the requested (or default) mode; the LLM path falls back to the extractive one.

    Mode 'llm' needs a chat model: the engine has one when an LLM endpoint is configured.
    """
    mode = request.mode or settings.default_mode
    if mode == "llm" and chat_model is None:
        raise RequestError(400, "mode 'llm' needs an LLM endpoint: set REPORTQA_LLM_BASE_URL")
    views = select_documents(view, request)
    summary = extractive_summary(views, request)
    if mode == "llm" and chat_model is not None:
        from .llm import llm_summary

        summary = llm_summary(summary, views, request, chat_model)
    return finish(summary, views)
