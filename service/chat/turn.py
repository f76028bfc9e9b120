"""One chat turn: resolve the message against the earlier turns, then answer it.

Shared by /chat (history from the conversation store) and /v1/chat/completions (history
in the request's messages). "Where is that from?" follow-ups are answered from the previous
answer's citation, every other question through `answer_question` and its number guard.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from core.config import Settings

from ..answering import answer_question
from ..errors import RequestError
from ..guard import enforce_traceable
from ..index_holder import IndexView
from ..llm import ChatModel
from ..schemas import Answer, AskRequest, Citation, FigureOut, FiltersIn
from .followup import Rewrite, condense_with_llm, rewrite


@dataclass
class History:
    """What a follow-up may refer to: earlier resolved questions with their answer texts, and a
    way to get the previous answer's JSON (stored by /chat, recomputed by the OpenAI endpoint)."""

    turns: list[tuple[str, str]] = field(default_factory=list)  # (resolved question, answer text)
    previous_answer: Callable[[], dict[str, Any] | None] = lambda: None

    @property
    def previous_question(self) -> str | None:
        return self.turns[-1][0] if self.turns else None


@dataclass(frozen=True)
class TurnOptions:
    filters: FiltersIn | None = None
    mode: str | None = None
    top_k: int | None = None


def places_of(view: IndexView) -> set[str]:
    """Every place name of the indexed reports (to find the place a question names)."""
    return set().union(*view.retriever.names_by_doc.values()) if view.retriever.names_by_doc else set()


def resolve(view: IndexView, message: str, history: History, settings: Settings, mode: str | None,
            chat_model: ChatModel | None) -> Rewrite:
    """The standalone question for `message`: rules, or the LLM's condensing prompt in llm mode."""
    places = places_of(view)
    if (mode or settings.default_mode) == "llm" and chat_model is not None:
        return condense_with_llm(chat_model, message, history.turns, places)
    return rewrite(message, history.previous_question, places)


def _still_indexed(view: IndexView, cited: Citation) -> bool:
    """Whether the current index still holds the cited span as quoted (the report may since have
    been removed or replaced, and a stored answer must not outlive its source)."""
    record = view.snapshot.document(cited.doc_id)
    return record is not None and (record.text or "")[cited.char_start:cited.char_end] == cited.quote


def source_answer(view: IndexView, question: str, previous: dict[str, Any] | None) -> Answer:
    """Where the previous answer stands: the section path of its first citation. The answer's
    `question` stays the previous question, so a later follow-up still builds on it."""
    if previous is None:
        return Answer(question=question, found=False, answer=None,
                      text="这是对话的第一句:还没有上一个回答可以指出出处,请先提问。", citations=[])
    citations = previous.get("citations") or []
    if not citations:
        return Answer(question=question, found=False, answer=None,
                      text="上一个回答没有引用报告原文,无法指出出处。", citations=[])
    cited = Citation(**citations[0])
    if not _still_indexed(view, cited):
        return Answer(question=question, found=False, answer=None, citations=[],
                      text=f"上一个回答引用的《{cited.title or cited.doc_id}》已不在索引中(已删除或替换),"
                           "无法指出出处;请重新提问。")
    path = " > ".join(cited.section_path) or "正文开头"
    figure = previous.get("figure")
    what = f"数字 {figure['raw']} " if figure else "上一个回答"
    text = f"{what}出自《{cited.title or cited.doc_id}》的“{path}”部分,原文:{cited.quote}"
    return Answer(question=question, found=True, answer=path, text=text,
                  figure=FigureOut(**figure) if figure else None, citations=[cited],
                  mode=previous.get("mode", "extractive"), confidence=float(previous.get("confidence", 0.0)))


def answer_turn(view: IndexView, message: str, history: History, options: TurnOptions, settings: Settings,
                chat_model: ChatModel | None) -> tuple[Rewrite, Answer]:
    """Resolve and answer one message; every answer passes the number guard."""
    resolved = resolve(view, message, history, settings, options.mode, chat_model)
    if resolved.kind == "where":
        previous = history.previous_question or resolved.question
        return resolved, enforce_traceable(source_answer(view, previous, history.previous_answer()))
    try:
        request = AskRequest(question=resolved.question, top_k=options.top_k, filters=options.filters,
                             mode=options.mode)
    except ValidationError as exc:
        raise RequestError(422, f"the resolved question is not valid: {exc.errors()[0]['msg']}") from exc
    return resolved, answer_question(view, request, settings, chat_model)
