"""POST /ask: a question in, the figure and the passages it came from out."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from core.config import Settings

from ..answering import answer_question
from ..deps import get_engine, get_llm_factory, get_settings
from ..index_holder import Engine
from ..schemas import Answer, AskRequest

router = APIRouter(tags=["ask"])


@router.post("/ask", response_model=Answer)
def ask(
    request: AskRequest,
    engine: Engine = Depends(get_engine),
    settings: Settings = Depends(get_settings),
    llm_factory: Callable[[Engine], Any] = Depends(get_llm_factory),
) -> JSONResponse:
    """Answer a question with the figure and the passages it came from."""
    return JSONResponse(answer_question(engine, request, settings, llm_factory).public())
