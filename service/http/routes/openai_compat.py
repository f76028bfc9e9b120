"""OpenAI-compatible `/v1/chat/completions` and `/v1/models`, so chat front-ends (Open WebUI,
ChatBox, LobeChat) and the `openai` client can use reportqa as a model.

The conversation is the request's messages: earlier user messages are resolved one after
another like /chat turns, the last one is answered. Nothing is stored.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, StreamingResponse

from ...chat.followup import rewrite
from ...chat.openai_format import completion, stream_events
from ...chat.schemas import MAX_HISTORY_CHARS, ChatCompletionRequest, ChatMessage
from ...chat.turn import History, TurnOptions, places_of
from ...engine import Engine
from ...errors import RequestError
from ...index_holder import IndexView
from ...schemas import MAX_QUESTION_CHARS, AskRequest
from ..deps import get_engine, get_view
from ..middleware import record_answer, record_question

router = APIRouter(prefix="/v1", tags=["openai"])
MODEL_MODES: dict[str, str | None] = {"reportqa": None, "reportqa-extractive": "extractive", "reportqa-llm": "llm"}


def _model_ids(engine: Engine) -> list[str]:
    return [m for m, mode in MODEL_MODES.items() if mode != "llm" or engine.chat_model is not None]


@router.get("/models")
def models(engine: Engine = Depends(get_engine)) -> dict[str, Any]:
    """The models reportqa answers as: `reportqa` (the default mode), `reportqa-extractive`,
    and `reportqa-llm` when an LLM endpoint is configured."""
    return {"object": "list",
            "data": [{"id": m, "object": "model", "created": 0, "owned_by": "reportqa"} for m in _model_ids(engine)]}


def _last_question(messages: list[ChatMessage]) -> str:
    if sum(len(m.text()) for m in messages) > MAX_HISTORY_CHARS:
        raise RequestError(413, f"the messages hold more than {MAX_HISTORY_CHARS} characters: shorten the history")
    last = messages[-1]
    if last.role != "user":
        raise RequestError(422, f"the last message must be the user's question, not a {last.role!r} message")
    question = last.text().strip()
    if not question:
        raise RequestError(422, "the last user message is empty")
    if len(question) > MAX_QUESTION_CHARS:
        raise RequestError(422, f"the last user message is longer than {MAX_QUESTION_CHARS} characters")
    return question


def _history(messages: list[ChatMessage], engine: Engine, view: IndexView, options: TurnOptions) -> History:
    """Earlier user messages resolved in order (by the rules), each with the assistant reply after it."""
    places = places_of(view)
    turns: list[tuple[str, str]] = []
    for i, message in enumerate(messages[:-1]):
        if message.role != "user" or not message.text().strip():
            continue
        resolved = rewrite(message.text(), turns[-1][0] if turns else None, places)
        question = turns[-1][0] if resolved.kind == "where" else resolved.question
        after = messages[i + 1]
        reply = after.text() if after.role == "assistant" else ""
        turns.append((question, reply))

    def previous_answer() -> dict[str, Any] | None:
        if not turns:
            return None
        request = AskRequest(question=turns[-1][0][:MAX_QUESTION_CHARS], filters=options.filters, mode=options.mode)
        return engine.ask(request, view).public()

    return History(turns, previous_answer)


@router.post("/chat/completions")
def chat_completions(
    body: ChatCompletionRequest,
    request: Request,
    engine: Engine = Depends(get_engine),
    view: IndexView = Depends(get_view),
) -> Any:
    """Answer the last user message (follow-ups resolved against the earlier ones), with numbered
    footnotes in the content and a `citations` field; `stream: true` sends OpenAI's SSE chunks."""
    if body.model not in MODEL_MODES:
        raise RequestError(404, f"unknown model: {body.model} (available: {', '.join(_model_ids(engine))})")
    question = _last_question(body.messages)
    record_question(request, question)
    options = TurnOptions(filters=body.filters, mode=MODEL_MODES[body.model])
    history = _history(body.messages, engine, view, options)
    resolved, answer = engine.chat(question, history, options, view)
    record_answer(request, answer.citations, answer.found)
    if body.stream:
        return StreamingResponse(stream_events(answer, body.model, resolved.question), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
    return JSONResponse(completion(answer, body.model, resolved.question))
