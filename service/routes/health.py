"""GET /health: whether the service can answer, and over which index."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from ingest.store import IndexError_
from reportqa.config import Settings

from ..deps import get_holder, get_settings
from ..index_holder import IndexHolder

router = APIRouter(tags=["health"])


@router.get("/health")
def health(holder: IndexHolder = Depends(get_holder), settings: Settings = Depends(get_settings)) -> dict[str, Any]:
    """Whether the service can answer: index version, counts, models."""
    try:
        m = holder.get().snapshot.manifest
    except IndexError_ as exc:
        return {"status": "no_index", "detail": str(exc), "llm_configured": bool(settings.llm_base_url)}
    return {"status": "ok", "index_version": m["version"], "documents": m["n_documents"],
            "chunks": m["n_chunks"], "embedding_model": m["embedding_model"],
            "llm_configured": bool(settings.llm_base_url)}
