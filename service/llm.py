"""The LLM path: any OpenAI-compatible chat endpoint through langchain, behind a number guard.

Passages go to the model numbered [1]..[n]; its [n] markers become citations. Every
number in the model's answer must appear (normalised) in a passage it cites, or the
answer is refused and the extractive one is returned, saying why. Timeouts and
errors of the endpoint fall back the same way. Every reply passes two checks on its way in,
whatever asks (answers, chat condensing, summaries): its body is read up to
`llm_max_reply_kb` and no further, and links and images it writes are taken out.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Protocol, cast

import httpx

from core.config import Settings
from core.prompts import load_prompt, render
from core.vocabulary import CITATION_MARKER

from .extractive import ExtractiveAnswerer, not_found
from .guard import cited_sources, strip_links, unsupported_numbers
from .question import Question
from .retrieval import Filters, ScoredChunk
from .schemas import Answer, Citation

if TYPE_CHECKING:
    from langchain_core.messages import BaseMessage

log = logging.getLogger(__name__)

_NOT_FOUND = re.compile(r"未找到|没有找到|无法回答|没有相关")


class ReplyTooLarge(Exception):
    """The endpoint sent more than `llm_max_reply_kb` (it ignored max_tokens), or a compressed body,
    whose size is not known before it is inflated."""


class _CappedStream(httpx.SyncByteStream):
    def __init__(self, stream: httpx.SyncByteStream, limit: int) -> None:
        self.stream, self.limit = stream, limit

    def __iter__(self) -> Iterator[bytes]:
        read = 0
        for chunk in self.stream:
            read += len(chunk)
            if read > self.limit:
                raise ReplyTooLarge(f"the LLM reply is larger than {self.limit // 1024} KiB")
            yield chunk

    def close(self) -> None:
        self.stream.close()


class CappedTransport(httpx.BaseTransport):
    """Reads at most `limit` bytes of each response, so an endpoint that ignores max_tokens cannot
    fill memory or the answer. Bodies come uncompressed: a cap on gzip bytes would not bound them."""

    def __init__(self, limit: int, inner: httpx.BaseTransport | None = None) -> None:
        self.limit = limit
        self.inner = inner or httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.headers["Accept-Encoding"] = "identity"
        response = self.inner.handle_request(request)
        if response.headers.get("Content-Encoding", "identity").lower() != "identity":
            response.close()
            raise ReplyTooLarge("the LLM endpoint compressed its reply though asked not to")
        stream = _CappedStream(cast(httpx.SyncByteStream, response.stream), self.limit)
        return httpx.Response(response.status_code, headers=response.headers, stream=stream,
                              extensions=response.extensions)

    def close(self) -> None:
        self.inner.close()


class ChatModel(Protocol):
    """What reportqa calls on a chat model: `invoke` with (role, text) messages (answers, condensing
    follow-ups) and `batch` (summaries, as the model step of a langchain `prompt | model | parser`
    chain); replies have a `content`. The endpoint's model from `build_chat_model` and langchain's
    fake chat models in tests both fit."""

    def invoke(self, input: Any, config: Any = None, **kwargs: Any) -> Any: ...  # noqa: A002 - langchain's name

    def batch(self, inputs: list[Any], config: Any = None, **kwargs: Any) -> list[Any]: ...


def _without_links(message: BaseMessage) -> BaseMessage:
    return message.model_copy(update={"content": strip_links(str(message.content))})


def build_chat_model(settings: Settings) -> ChatModel:
    """A langchain chat model for the configured OpenAI-compatible endpoint: its replies read up
    to `llm_max_reply_kb`, their links and images taken out before anything else sees them."""
    from langchain_core.runnables import RunnableLambda
    from langchain_openai import ChatOpenAI

    model = ChatOpenAI(
        base_url=settings.llm_base_url,
        model=settings.llm_model,
        api_key=settings.llm_api_key or "not-needed",
        timeout=settings.llm_timeout_s,
        max_retries=0,
        temperature=0,
        # Sent as `max_tokens` in the body: langchain's own field goes out as
        # `max_completion_tokens`, which llama.cpp, vLLM and Ollama servers ignore.
        extra_body={"max_tokens": settings.llm_max_tokens},
        http_client=httpx.Client(transport=CappedTransport(settings.llm_max_reply_kb * 1024)),
    )
    return model | RunnableLambda(_without_links)


def _passage_block(hits: list[ScoredChunk]) -> str:
    lines = []
    for n, hit in enumerate(hits, 1):
        path = " > ".join(hit.chunk.section_path)
        lines.append(f"[{n}] 《{hit.doc.metadata.title or ''}》 {path}: {hit.chunk.text}")
    return "\n".join(lines)


class LLMAnswerer:
    """Answers with a chat model, guarded; falls back to the extractive answerer."""

    def __init__(self, settings: Settings, extractive: ExtractiveAnswerer, chat_model: ChatModel) -> None:
        self.settings = settings
        self.extractive = extractive
        self.chat = chat_model

    def _fallback(self, question: Question, top_k: int, filters: Filters | None, hits: list[ScoredChunk],
                  note: str, unsupported: list[str] | None = None) -> Answer:
        answer = self.extractive.answer(question, top_k, filters, hits)
        return answer.model_copy(update={"note": note, "unsupported_numbers": unsupported})

    def answer(self, question: str | Question, top_k: int = 5, filters: Filters | None = None) -> Answer:
        """The model's answer from the top_k passages, or the extractive one from the same retrieval."""
        question = self.extractive.retriever.parse(question)
        retrieved = self.extractive.passages(question, top_k, filters)
        hits = retrieved[:top_k]
        if not hits:
            return not_found(question.text, "")
        messages = [
            ("system", load_prompt("llm_answer")),
            ("human", render("llm_answer_user", passages=_passage_block(hits), question=question.text)),
        ]
        try:
            reply = str(self.chat.invoke(messages).content).strip()
        except Exception as exc:  # any endpoint failure (timeout, refused, bad reply) falls back
            log.warning("LLM call failed: %s: %s", type(exc).__name__, exc)
            why = f"LLM unavailable ({type(exc).__name__}); answered extractively"
            return self._fallback(question, top_k, filters, retrieved, why)
        if not reply or _NOT_FOUND.search(reply):
            answer = not_found(question.text, "")
            return answer.model_copy(update={"mode": "llm"})
        cited = [hits[n - 1] for n in dict.fromkeys(int(m) for m in CITATION_MARKER.findall(reply)) if 1 <= n <= len(hits)]
        citations = [Citation.of(h.doc, h.chunk.section_path, h.chunk.char_start, h.chunk.char_end, h.chunk.text)
                     for h in cited]
        bad = unsupported_numbers(reply, cited_sources(citations))
        if bad or not cited:
            why = "numbers not found in the cited passages, listed in unsupported_numbers" if bad else "no passage cited"
            log.info("number guard rejected the LLM answer (%s)", why)
            return self._fallback(question, top_k, filters, retrieved,
                                  f"the LLM answer was rejected by the number guard ({why}); extractive answer returned",
                                  bad or None)
        text = CITATION_MARKER.sub("", reply).strip()
        return Answer(question=question.text, found=True, answer=text, text=text, figure=None,
                      citations=citations, mode="llm", confidence=0.5)
