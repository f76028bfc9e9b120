"""Reading the indexed reports: the list, one report's metadata and sections, and its text."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request, Response

from core.config import Settings
from core.index import DocumentRecord
from ingest.readers import SCAN_FORMATS

from ...engine import Engine
from ...errors import RequestError
from ...index_holder import IndexView
from ...page_images import render_page
from ..deps import get_engine, get_principal, get_settings, get_view

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


@router.get("/documents/{doc_id}/pages/{number}.png", response_class=Response,
            responses={200: {"content": {"image/png": {}}, "description": "the page as a PNG image"}})
def page_image(
    doc_id: str,
    number: int,
    scale: float = Query(2.0, ge=0.25, le=4.0, description="pixels a PDF point (1 = 72 dpi, 2 = 144 dpi); for a "
                                                           "scanned image, pixels a pixel of the scan"),
    view: IndexView = Depends(get_view),
    settings: Settings = Depends(get_settings),
) -> Response:
    """Page `number` of a paged report as it is printed, drawn from the file it was read from; a
    citation's `boxes` are in the page's units (points; a scanned image's pixels), so at `scale` a box
    is at `scale` times them."""
    doc = view.snapshot.document(doc_id, with_text=False)
    if doc is None:
        raise RequestError(404, f"unknown doc_id: {doc_id}")
    if doc.layout is None:
        raise RequestError(409, f"report {doc_id} has no pages (it was read from a {doc.format} file)")
    if not 1 <= number <= len(doc.layout.pages):
        raise RequestError(404, f"report {doc_id} has no page {number} (pages 1 to {len(doc.layout.pages)})")
    original = view.snapshot.original(doc_id)
    if original is None or doc.format not in ("pdf", *SCAN_FORMATS):
        raise RequestError(409, f"report {doc_id}: its {doc.format} file cannot be drawn as page images")
    png = render_page(original, number, scale, settings.page_image_max_pixels, is_pdf=doc.format == "pdf")
    return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=3600"})
