"""POST /summaries: cited briefings, key-figure tables, section digests and comparisons, as JSON,
Markdown or a Word document."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from ...engine import Engine
from ...index_holder import IndexView
from ...summary.render import docx_bytes
from ...summary.schemas import Summary, SummaryRequest
from ..deps import get_engine, get_view
from ..middleware import record_answer

router = APIRouter(tags=["summaries"])
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@router.post("/summaries", response_model=Summary)
def summaries(
    body: SummaryRequest,
    request: Request,
    engine: Engine = Depends(get_engine),
    view: IndexView = Depends(get_view),
) -> Response:
    """Summarise the reports named by `doc_ids` (or allowed by `filters`, or all) in a style:
    `briefing`, `key_figures` or `sections`; several reports add a comparison table.
    `format` picks JSON (default), Markdown (`md`) or Word (`docx`)."""
    summary = engine.summarize(body, view)
    record_answer(request, summary.citations)
    if body.format == "md":
        return Response(summary.text, media_type="text/markdown; charset=utf-8")
    if body.format == "docx":
        return Response(docx_bytes(summary), media_type=DOCX_TYPE,
                        headers={"Content-Disposition": f'attachment; filename="summary-{body.style}.docx"'})
    return JSONResponse(summary.public())
