"""The OpenAI-compatible endpoint, driven by the real `openai` client against a real uvicorn server."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import openai
import pytest
from conftest import served

from core.config import Settings
from service.http.app import create_app

QUESTION = "金杨新村街道2019年的调解成功率是多少?"


@pytest.fixture(scope="module")
def base_url(two_year_index: Path, tmp_path_factory: pytest.TempPathFactory):
    """reportqa served by uvicorn on a free port of 127.0.0.1 for this module's tests."""
    app = create_app(Settings(index_dir=two_year_index, state_dir=tmp_path_factory.mktemp("state")))
    with served(app) as url:
        yield f"{url}/v1"


@pytest.fixture(scope="module")
def client(base_url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=base_url, api_key="unused", max_retries=0, timeout=60)


def test_models_lists_reportqa(client: openai.OpenAI) -> None:
    ids = [m.id for m in client.models.list()]
    assert ids == ["reportqa", "reportqa-extractive"]  # no LLM configured: no reportqa-llm


def test_a_completion_carries_the_answer_and_its_citations(client: openai.OpenAI) -> None:
    response = client.chat.completions.create(model="reportqa", messages=[{"role": "user", "content": QUESTION}])
    content = response.choices[0].message.content
    assert response.choices[0].finish_reason == "stop"
    assert "98.3%[1]" in content and "来源:" in content
    assert "[1] 《金杨新村街道关于2019年度法治政府建设情况的报告》 一、主要做法和成效 > (四)" in content
    [citation] = response.citations
    assert "98.3 %" in citation["quote"] and citation["quote"] in content and citation["year"] == 2019


def test_a_stream_delivers_the_same_answer_in_chunks(client: openai.OpenAI) -> None:
    messages = [{"role": "user", "content": QUESTION}]
    whole = client.chat.completions.create(model="reportqa", messages=messages).choices[0].message.content
    chunks = list(client.chat.completions.create(model="reportqa", messages=messages, stream=True))
    assert len(chunks) > 3 and chunks[0].choices[0].delta.role == "assistant"
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == whole
    last = chunks[-1]
    assert last.choices[0].finish_reason == "stop" and "98.3 %" in last.citations[0]["quote"]


def test_the_last_chunk_carries_the_answers_fields_as_the_plain_completion_does(base_url: str) -> None:
    """The web page reads these instead of parsing the footnoted content."""
    fields = ("text", "answer", "figure", "found", "note", "citations", "rewritten_question")
    body = {"model": "reportqa", "messages": [{"role": "user", "content": QUESTION}]}
    plain = httpx.post(f"{base_url}/chat/completions", json=body, timeout=60).json()
    with httpx.stream("POST", f"{base_url}/chat/completions", json={**body, "stream": True}, timeout=60) as stream:
        events = [line[6:] for line in stream.iter_lines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    last = json.loads(events[-2])
    assert {f: last[f] for f in fields} == {f: plain[f] for f in fields}
    assert last["found"] and last["figure"]["value"] == 98.3 and last["note"] is None
    assert last["text"] in plain["choices"][0]["message"]["content"].replace("[1]", "") and "来源" not in last["text"]
    assert all(f not in json.loads(e) for e in events[:-2] for f in fields)


def test_a_follow_up_in_the_messages_is_resolved(client: openai.OpenAI) -> None:
    first = client.chat.completions.create(model="reportqa", messages=[{"role": "user", "content": QUESTION}])
    messages = [{"role": "system", "content": "你是助手"},
                {"role": "user", "content": QUESTION},
                {"role": "assistant", "content": first.choices[0].message.content},
                {"role": "user", "content": "那2020年呢?"}]
    follow = client.chat.completions.create(model="reportqa", messages=messages)
    assert follow.rewritten_question == "金杨新村街道2020年的调解成功率是多少?"
    assert "98.9%[1]" in follow.choices[0].message.content and follow.citations[0]["year"] == 2020
    where = client.chat.completions.create(
        model="reportqa", messages=messages + [{"role": "assistant", "content": "…"},
                                               {"role": "user", "content": "这个数字在哪一节?"}], stream=True)
    text = "".join(c.choices[0].delta.content or "" for c in where)
    assert "一、主要做法和成效 > (四)加强法治保障,推动法治政府建设" in text and "98.9" in text


@pytest.mark.parametrize("body, status, words", [
    ({"model": "gpt-4", "messages": [{"role": "user", "content": QUESTION}]}, 404, "unknown model: gpt-4"),
    ({"model": "reportqa", "messages": []}, 422, "messages"),
    ({"model": "reportqa", "messages": [{"role": "user", "content": " "}]}, 422, "empty"),
    ({"model": "reportqa", "messages": [{"role": "assistant", "content": "hi"}]}, 422, "last message"),
    ({"model": "reportqa", "messages": [{"role": "user", "content": "问" * 1001}]}, 422, "longer than"),
    ({"model": "reportqa", "messages": [{"role": "user", "content": "问" * 900}] * 60}, 413, "history"),
    ({"model": "reportqa-llm", "messages": [{"role": "user", "content": QUESTION}]}, 400, "LLM endpoint"),
])
def test_bad_requests_are_4xx_with_detail(base_url: str, body: dict, status: int, words: str) -> None:
    response = httpx.post(f"{base_url}/chat/completions", json=body, timeout=60)
    assert response.status_code == status and words in response.json()["detail"]


def test_the_client_sees_errors_as_api_errors(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="gpt-4", messages=[{"role": "user", "content": QUESTION}])
