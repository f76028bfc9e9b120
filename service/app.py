"""The FastAPI app: cited answers, documents and health over one index on disk."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from ingest.store import IndexError_, IndexNotFoundError, ModelMismatchError
from reportqa.config import Settings
from reportqa.version import __version__

from .errors import RequestError
from .guard import enforce_traceable
from .index_holder import Engine, IndexHolder
from .retrieval import Filters
from .schemas import Answer, AskRequest, FiltersIn

log = logging.getLogger(__name__)


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
        parts.append(f"{where}: {err.get('msg')}" if where else str(err.get("msg")))
    return "; ".join(parts) or "invalid request"


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


def load_engine(holder: IndexHolder) -> Engine:
    """The current engine, or a RequestError saying why there is none."""
    try:
        return holder.get()
    except (IndexNotFoundError, ModelMismatchError) as exc:
        raise RequestError(409, str(exc)) from exc
    except IndexError_ as exc:
        raise RequestError(503, str(exc)) from exc


def answer_question(engine: Engine, request: AskRequest, settings: Settings, llm_factory: Callable[[Engine], Any]) -> Answer:
    """One question through the configured mode (shared by the API and `reportqa ask`)."""
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


def create_app(settings: Settings) -> FastAPI:
    """An app serving the index at settings.index_dir."""
    from ingest.pipeline import get_embedder

    from .llm import LLMAnswerer, build_chat_model

    app = FastAPI(title="reportqa", version=__version__,
                  description="Cited answers over Chinese government work reports.")
    holder = IndexHolder(settings.index_dir, get_embedder(settings))
    chat_model = build_chat_model(settings) if settings.llm_base_url else None
    app.state.settings = settings
    app.state.holder = holder

    def llm_factory(engine: Engine) -> LLMAnswerer:
        return LLMAnswerer(settings, engine.extractive, chat_model)

    def engine() -> Engine:
        return load_engine(holder)

    @app.exception_handler(RequestError)
    async def _request_error(_: Request, exc: RequestError) -> JSONResponse:
        return JSONResponse(status_code=exc.status, content={"detail": exc.message})

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(status_code=422, content={"detail": _validation_message(exc)})

    @app.post("/ask", response_model=Answer)
    def ask(request: AskRequest, eng: Engine = Depends(engine)) -> JSONResponse:
        """Answer a question with the figure and the passages it came from."""
        return JSONResponse(answer_question(eng, request, settings, llm_factory).public())

    @app.get("/documents")
    def documents(eng: Engine = Depends(engine)) -> dict[str, Any]:
        """The indexed reports with their metadata."""
        return {"index_version": eng.snapshot.version,
                "documents": [d.to_dict() for d in eng.retriever.documents.values()]}

    def _document(eng: Engine, doc_id: str):  # noqa: ANN202
        doc = eng.snapshot.document(doc_id)
        if doc is None:
            raise RequestError(404, f"unknown doc_id: {doc_id}")
        return doc

    @app.get("/documents/{doc_id}")
    def document(doc_id: str, eng: Engine = Depends(engine)) -> dict[str, Any]:
        """One report's metadata and section tree."""
        return _document(eng, doc_id).to_dict()

    @app.get("/documents/{doc_id}/text")
    def document_text(
        doc_id: str,
        start: int | None = Query(None, ge=0),
        end: int | None = Query(None, ge=0),
        eng: Engine = Depends(engine),
    ) -> dict[str, Any]:
        """The report's original text, or the span [start, end) of it (to show a citation in context)."""
        text = _document(eng, doc_id).text or ""
        s = 0 if start is None else start
        e = len(text) if end is None else end
        if s > e or e > len(text):
            raise RequestError(400, f"span [{s}, {e}) is outside the document (length {len(text)})")
        return {"doc_id": doc_id, "start": s, "end": e, "length": len(text), "text": text[s:e]}

    @app.get("/health")
    def health() -> dict[str, Any]:
        """Whether the service can answer: index version, counts, models."""
        try:
            m = holder.get().snapshot.manifest
        except IndexError_ as exc:
            return {"status": "no_index", "detail": str(exc), "llm_configured": bool(settings.llm_base_url)}
        return {"status": "ok", "index_version": m["version"], "documents": m["n_documents"],
                "chunks": m["n_chunks"], "embedding_model": m["embedding_model"],
                "llm_configured": bool(settings.llm_base_url)}

    return app
