"""GET /health: whether the service can answer, and over which index."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from core.config import Settings

from ...engine import Engine
from ...errors import RequestError
from ..deps import get_engine, get_settings
from ..llm_probe import LLMProbe

router = APIRouter(tags=["health"])


def _llm_status(request: Request, settings: Settings) -> dict[str, Any]:
    """Whether an LLM is configured and, if so, whether it answers (probed at most every 30 s)."""
    if not settings.llm_base_url:
        return {"llm_configured": False, "llm_reachable": None}
    probe = getattr(request.app.state, "llm_probe", None)
    if probe is None:
        probe = request.app.state.llm_probe = LLMProbe(settings.llm_base_url, settings.llm_api_key)
    return {"llm_configured": True, "llm_reachable": probe.reachable()}


@router.get("/health")
def health(request: Request, engine: Engine = Depends(get_engine),
           settings: Settings = Depends(get_settings)) -> dict[str, Any]:
    """Whether the service can answer: index version, counts, models, LLM reachable, auth on.

    Open without a key (it says nothing about the reports' content), so load balancers can call it.
    """
    common = {**_llm_status(request, settings), "auth": request.app.state.gate.required()}
    try:
        m = engine.view().snapshot.manifest
    except RequestError as exc:
        return {"status": "no_index", "detail": exc.message, **common}
    return {"status": "ok", "index_version": m["version"], "documents": m["n_documents"],
            "chunks": m["n_chunks"], "embedding_model": m["embedding_model"], **common}
