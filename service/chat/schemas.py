"""Request models of /chat and of the OpenAI-compatible endpoint."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

from ..schemas import MAX_QUESTION_CHARS, FiltersIn

MAX_TURNS = 200  # a conversation longer than this is refused: start a new one
MAX_MESSAGES = 100  # messages in one OpenAI-style request
MAX_HISTORY_CHARS = 50_000  # all message contents of one OpenAI-style request together


class ChatRequest(BaseModel):
    model_config = {"extra": "forbid"}

    conversation_id: str | None = Field(None, min_length=1, max_length=64,
                                        description="Continue this conversation; omit to start one.")
    message: str = Field(..., max_length=MAX_QUESTION_CHARS, description="A question or a follow-up (那2020年呢?).")
    filters: FiltersIn | None = None
    mode: Literal["extractive", "llm"] | None = None
    top_k: int | None = Field(None, ge=1, le=50)

    @field_validator("message")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("message is empty")
        return value.strip()


class ChatMessage(BaseModel):
    """One OpenAI chat message; content as a string or as a list of text parts."""

    role: Literal["system", "user", "assistant", "tool", "developer"]
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return "".join(str(p.get("text", "")) for p in self.content if p.get("type") == "text")
        return self.content or ""


class ChatCompletionRequest(BaseModel):
    """The OpenAI chat-completions request; sampling fields are accepted and ignored (answers are
    extractive or guarded), `filters` is reportqa's own extra."""

    model_config = {"extra": "allow"}

    model: str
    messages: list[ChatMessage] = Field(..., min_length=1, max_length=MAX_MESSAGES)
    stream: bool = False
    filters: FiltersIn | None = None
