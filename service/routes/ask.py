"""POST /ask: a question in, the figure and the passages it came from out."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from core.config import Settings

from ..answering import answer_question
from ..deps import get_engine, get_llm_factory, get_settings
from ..index_holder import Engine
from ..middleware import record_answer, record_question
from ..schemas import Answer, AskRequest

router = APIRouter(tags=["ask"])


@router.post("/ask", response_model=Answer)
def ask(
    request: AskRequest,
    http: Request,
    engine: Engine = Depends(get_engine),
    settings: Settings = Depends(get_settings),
    llm_factory: Callable[[Engine], Any] = Depends(get_llm_factory),
) -> JSONResponse:
    """Answer a question with the figure and the passages it came from."""
    record_question(http, request.question)
    answer = answer_question(engine, request, settings, llm_factory)
    record_answer(http, answer.citations, answer.found)
    return JSONResponse(answer.public())
