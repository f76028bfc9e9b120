"""The FastAPI app factory: one router per resource over one index on disk."""

from __future__ import annotations

import logging

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from core.config import Settings
from core.version import __version__

from ..engine import Engine
from ..errors import RequestError
from .audit import AuditLog
from .auth import Gate, require_reader
from .jobs import JobRegistry
from .middleware import ServiceMiddleware
from .routes import (
    admin,
    ask,
    chat,
    documents,
    health,
    jobs,
    me,
    monitoring,
    openai_compat,
    summaries,
    web,
)

log = logging.getLogger(__name__)


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
        parts.append(f"{where}: {err.get('msg')}" if where else str(err.get("msg")))
    return "; ".join(parts) or "invalid request"


def create_app(settings: Settings) -> FastAPI:
    """An app serving the index at settings.index_dir: thin routes over one `Engine.open(settings)`."""
    from ingest.writer import recover

    app = FastAPI(title="reportqa", version=__version__,
                  description="Cited answers over Chinese government work reports.")
    app.state.settings = settings
    app.state.gate = gate = Gate(settings)
    if gate.required() and gate.keys.has_keys():
        log.info("%s", gate.describe())
    else:
        log.warning("*** %s ***", gate.describe())
    app.state.audit = audit = AuditLog(settings.state_path)  # the middleware's, and upload jobs' that end later
    # Leftovers of a writer killed mid-ingest, and changes it made but did not live to log.
    recover(settings.index_dir, then=lambda: audit.recover_changes(settings.index_dir))
    app.add_middleware(ServiceMiddleware, body_limit=settings.max_body_kb * 1024,
                       upload_limit=int(settings.max_upload_mb * 1024 * 1024), audit=audit)
    app.state.engine = Engine.open(settings)
    app.state.jobs = JobRegistry()

    @app.exception_handler(RequestError)
    async def _request_error(_: Request, exc: RequestError) -> JSONResponse:
        return JSONResponse(status_code=exc.status, content={"detail": exc.message})

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(status_code=422, content={"detail": _validation_message(exc)})

    for module in (health, web):  # open: they say nothing about the reports
        app.include_router(module.router)
    # Every API router needs a key once auth is on (service/http/auth.py); add new ones here.
    for module in (ask, documents, admin, jobs, monitoring, chat, openai_compat, summaries, me):
        app.include_router(module.router, dependencies=[Depends(require_reader)])
    return app
