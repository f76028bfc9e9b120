"""One question through the configured mode: what `Engine.ask` and every chat turn run."""

from __future__ import annotations

from core.config import Settings

from .errors import RequestError
from .guard import enforce_traceable
from .index_holder import IndexView
from .llm import ChatModel, LLMAnswerer
from .retrieval import Filters
from .schemas import Answer, AskRequest, FiltersIn


def to_filters(filters: FiltersIn | None, view: IndexView) -> Filters | None:
    """Request filters as retrieval filters; unknown doc ids are the client's error."""
    if filters is None:
        return None
    if filters.doc_ids:
        unknown = [d for d in filters.doc_ids if d not in view.retriever.documents]
        if unknown:
            raise RequestError(404, f"unknown doc_id: {', '.join(unknown)}")
    return Filters(year=filters.year, issuer=filters.issuer,
                   doc_ids=tuple(filters.doc_ids) if filters.doc_ids else None)


def answer_question(view: IndexView, request: AskRequest, settings: Settings,
                    chat_model: ChatModel | None) -> Answer:
    """Answer through the requested (or default) mode; every answer passes the number guard.

    Mode 'llm' needs a chat model: the engine has one when an LLM endpoint is configured.
    """
    if not view.retriever.documents:
        raise RequestError(409, "the index holds no reports: ingest some first")
    filters = to_filters(request.filters, view)
    top_k = request.top_k or settings.default_top_k
    mode = request.mode or settings.default_mode
    if mode == "llm":
        if chat_model is None:
            raise RequestError(400, "mode 'llm' needs an LLM endpoint: set REPORTQA_LLM_BASE_URL")
        return enforce_traceable(LLMAnswerer(settings, view.extractive, chat_model).answer(request.question, top_k, filters))
    return enforce_traceable(view.extractive.answer(request.question, top_k, filters))
