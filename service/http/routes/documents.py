"""Reading the indexed reports: the list, one report's metadata and sections, and its text."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request

from core.index import DocumentRecord

from ...engine import Engine
from ...errors import RequestError
from ...index_holder import IndexView
from ..deps import get_engine, get_principal, get_view

router = APIRouter(tags=["documents"])


def find_document(view: IndexView, doc_id: str) -> DocumentRecord:
    """The full record of one report, or a 404 naming the id."""
    doc = view.snapshot.document(doc_id)
    if doc is None:
        raise RequestError(404, f"unknown doc_id: {doc_id}")
    return doc


def _full_source(request: Request) -> bool:
    """Admins see where a report came from on the server; readers only its file name."""
    return get_principal(request).role == "admin"


@router.get("/documents")
def documents(request: Request, engine: Engine = Depends(get_engine),
              view: IndexView = Depends(get_view)) -> dict[str, Any]:
    """The indexed reports with their metadata."""
    full = _full_source(request)
    return {"index_version": view.snapshot.version, "documents": [d.to_dict(full) for d in engine.documents(view)]}


@router.get("/documents/{doc_id}")
def document(doc_id: str, request: Request, view: IndexView = Depends(get_view)) -> dict[str, Any]:
    """One report's metadata and section tree."""
    return find_document(view, doc_id).to_dict(_full_source(request))


@router.get("/documents/{doc_id}/text")
def document_text(
    doc_id: str,
    start: int | None = Query(None, ge=0),
    end: int | None = Query(None, ge=0),
    view: IndexView = Depends(get_view),
) -> dict[str, Any]:
    """The report's original text, or the span [start, end) of it (to show a citation in context)."""
    text = find_document(view, doc_id).text or ""
    s = 0 if start is None else start
    e = len(text) if end is None else end
    if s > e or e > len(text):
        raise RequestError(400, f"span [{s}, {e}) is outside the document (length {len(text)})")
    return {"doc_id": doc_id, "start": s, "end": e, "length": len(text), "text": text[s:e]}
