"""Answers in OpenAI's chat-completion shapes: one completion, or the chunks of a stream.

Citations go twice: as numbered footnotes in the content (title, section, quote), which any
chat front-end shows, and as structured extra fields for clients that read them (the web page):
the plain completion and the last chunk of a stream carry `text`, `answer`, `figure`, `found`,
`note`, `citations` and `rewritten_question`, so no client has to parse the prose back.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

from ..schemas import Answer

STREAM_PIECE_CHARS = 16
_STOPS = "。.!?!?"


def content_of(answer: Answer) -> str:
    """The answer text with [n] markers, then one footnote per citation, then the note if any."""
    markers = "".join(f"[{n}]" for n in range(1, len(answer.citations) + 1))
    text = answer.text.rstrip()
    stop = text[-1:] if text[-1:] in _STOPS else ""
    lines = [f"{text[: len(text) - len(stop)]}{markers}{stop}"]
    if answer.citations:
        lines.append("")
        lines.append("来源:")
        for n, c in enumerate(answer.citations, 1):
            lines.append(f"[{n}] 《{c.title or c.doc_id}》 {' > '.join(c.section_path)}:“{c.quote}”")
    if answer.note:
        lines += ["", f"注:{answer.note}"]
    return "\n".join(lines)


def _extras(answer: Answer, question: str) -> dict[str, Any]:
    """The answer as fields: the sentence without markers or footnotes, the figure, the note."""
    return {"text": answer.text, "answer": answer.answer, "figure": answer.figure.model_dump() if answer.figure else None,
            "found": answer.found, "note": answer.note, "citations": [c.model_dump() for c in answer.citations],
            "rewritten_question": question}


def completion(answer: Answer, model: str, question: str) -> dict[str, Any]:
    """A `chat.completion` object for the answer."""
    content = content_of(answer)
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": len(question), "completion_tokens": len(content),
                  "total_tokens": len(question) + len(content)},
        **_extras(answer, question),
    }


def stream_events(answer: Answer, model: str, question: str) -> Iterator[str]:
    """Server-sent events: a role chunk, content chunks, a final chunk with finish_reason and
    the answer's fields (as the plain completion has them), then `data: [DONE]`."""
    base = {"id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion.chunk",
            "created": int(time.time()), "model": model}

    def event(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
        chunk = {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra}
        return f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n"

    yield event({"role": "assistant", "content": ""})
    content = content_of(answer)
    for start in range(0, len(content), STREAM_PIECE_CHARS):
        yield event({"content": content[start : start + STREAM_PIECE_CHARS]})
    yield event({}, "stop", **_extras(answer, question))
    yield "data: [DONE]\n\n"
