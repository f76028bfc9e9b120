"""POST /ask: a question in, the figure and the passages it came from out."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from ...engine import Engine
from ...index_holder import IndexView
from ...schemas import Answer, AskRequest
from ..deps import get_engine, get_view
from ..middleware import record_answer, record_question

router = APIRouter(tags=["ask"])


@router.post("/ask", response_model=Answer)
def ask(
    request: AskRequest,
    http: Request,
    engine: Engine = Depends(get_engine),
    view: IndexView = Depends(get_view),
) -> JSONResponse:
    """Answer a question with the figure and the passages it came from."""
    record_question(http, request.question)
    answer = engine.ask(request, view)
    record_answer(http, answer.citations, answer.found)
    return JSONResponse(answer.public())
