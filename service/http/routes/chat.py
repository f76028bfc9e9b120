"""POST /chat and /conversations: multi-turn questions, kept in SQLite under the state folder."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request

from ...chat.schemas import MAX_TURNS, ChatRequest
from ...chat.store import ConversationStore
from ...chat.turn import History, TurnOptions
from ...engine import Engine
from ...errors import RequestError
from ...index_holder import IndexView
from ..deps import Principal, get_engine, get_principal, get_view
from ..middleware import record_answer, record_question

router = APIRouter(tags=["chat"])
TITLE_CHARS = 60


def get_conversation_store(request: Request) -> ConversationStore:
    """The app's conversation store, opened on first use under settings.state_path."""
    store = getattr(request.app.state, "conversations", None)
    if store is None:
        store = request.app.state.conversations = ConversationStore(request.app.state.settings.state_path)
    return store


def visible_owner(principal: Principal) -> str | None:
    """Whose conversations a caller sees: an admin everyone's (None), a reader only their own."""
    return None if principal.role == "admin" else principal.key_id


def _history(store: ConversationStore, conversation_id: str) -> History:
    turns = store.turns(conversation_id)
    # The question each answer is for (a "where is that from?" turn keeps the one before it).
    return History([(t.answer.get("question", t.rewritten), t.answer.get("text", "")) for t in turns],
                   lambda: turns[-1].answer if turns else None)


@router.post("/chat")
def chat(
    body: ChatRequest,
    request: Request,
    engine: Engine = Depends(get_engine),
    view: IndexView = Depends(get_view),
    store: ConversationStore = Depends(get_conversation_store),
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    """Answer a message in a conversation; follow-ups (那2020年呢?) are resolved against earlier turns
    and the question actually answered comes back as `rewritten_question`."""
    record_question(request, body.message)
    history = History()
    conversation = None
    if body.conversation_id:
        conversation = store.get(body.conversation_id, visible_owner(principal))
        if conversation is None:
            raise RequestError(404, f"unknown conversation_id: {body.conversation_id}")
        if conversation.n_turns >= MAX_TURNS:
            raise RequestError(409, f"conversation {conversation.id} has reached {MAX_TURNS} turns: start a new one")
        history = _history(store, conversation.id)
    resolved, answer = engine.chat(body.message, history, TurnOptions(body.filters, body.mode, body.top_k), view)
    record_answer(request, answer.citations, answer.found)
    if conversation is None:
        conversation = store.create(principal.key_id, body.message[:TITLE_CHARS])
    payload = answer.public()
    turn = store.add_turn(conversation.id, body.message, resolved.question, payload)
    return {**payload, "conversation_id": conversation.id, "turn": turn.ordinal,
            "rewritten_question": resolved.question, "rewrite": resolved.kind}


@router.get("/conversations")
def list_conversations(
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0, le=10_000_000),  # SQLite integers end at 2**63
    store: ConversationStore = Depends(get_conversation_store),
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    """The caller's conversations (an admin's: everyone's), most recently active first."""
    return {"conversations": [c.to_dict() for c in store.conversations(visible_owner(principal), limit, offset)]}


@router.get("/conversations/{conversation_id}")
def get_conversation(
    conversation_id: str,
    store: ConversationStore = Depends(get_conversation_store),
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    """One conversation with every turn: message, rewritten question and answer."""
    conversation = store.get(conversation_id, visible_owner(principal))
    if conversation is None:
        raise RequestError(404, f"unknown conversation_id: {conversation_id}")
    return {**conversation.to_dict(), "turns": [t.to_dict() for t in store.turns(conversation_id)]}


@router.delete("/conversations/{conversation_id}")
def delete_conversation(
    conversation_id: str,
    store: ConversationStore = Depends(get_conversation_store),
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    """Delete a conversation and its turns."""
    if not store.delete(conversation_id, visible_owner(principal)):
        raise RequestError(404, f"unknown conversation_id: {conversation_id}")
    return {"deleted": conversation_id}
