"""One question through the configured mode: shared by /ask, `reportqa ask` and the eval."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from core.config import Settings

from .errors import RequestError
from .guard import enforce_traceable
from .index_holder import Engine
from .retrieval import Filters
from .schemas import Answer, AskRequest, FiltersIn


def to_filters(filters: FiltersIn | None, engine: Engine) -> Filters | None:
    """Request filters as retrieval filters; unknown doc ids are the client's error."""
    if filters is None:
        return None
    if filters.doc_ids:
        unknown = [d for d in filters.doc_ids if d not in engine.retriever.documents]
        if unknown:
            raise RequestError(404, f"unknown doc_id: {', '.join(unknown)}")
    return Filters(year=filters.year, issuer=filters.issuer,
                   doc_ids=tuple(filters.doc_ids) if filters.doc_ids else None)


def answer_question(engine: Engine, request: AskRequest, settings: Settings,
                    llm_factory: Callable[[Engine], Any]) -> Answer:
    """Answer through the requested (or default) mode; every answer passes the number guard."""
    if not engine.retriever.documents:
        raise RequestError(409, "the index holds no reports: ingest some first")
    filters = to_filters(request.filters, engine)
    top_k = request.top_k or settings.default_top_k
    mode = request.mode or settings.default_mode
    if mode == "llm":
        if not settings.llm_base_url:
            raise RequestError(400, "mode 'llm' needs an LLM endpoint: set REPORTQA_LLM_BASE_URL")
        return enforce_traceable(llm_factory(engine).answer(request.question, top_k, filters))
    return enforce_traceable(engine.extractive.answer(request.question, top_k, filters))
