"""Every route's responses are readable as sent: Chinese goes out as UTF-8 Chinese, never as
`\\u` escapes, in JSON bodies, server-sent event data lines and error details alike.

The walk covers every operation of the app's OpenAPI schema, so a route added later is checked
without touching this file: each is called with a request that succeeds where one can without
changing the shared seed index, and with one it must refuse."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

MEDIATION = "2019年金杨新村街道的调解成功率是多少?"
UNKNOWN = "不存在的编号"
# \u escapes of CJK punctuation, kana, ideographs (U+3000..U+9FFF) and full-width forms (U+FF00..)
CJK_ESCAPE = re.compile(rb"\\u(?:[3-9][0-9a-f]{3}|ff[0-9a-f]{2})", re.IGNORECASE)


def _good_bodies(doc_id: str) -> dict[str, list[dict[str, Any]]]:
    """Requests that get an answer, by path (several: the plain and the streamed completion)."""
    chat = {"model": "reportqa", "messages": [{"role": "user", "content": MEDIATION}]}
    return {"/ask": [{"question": MEDIATION}], "/chat": [{"message": MEDIATION}],
            "/v1/chat/completions": [chat, {**chat, "stream": True}],
            "/summaries": [{"doc_ids": [doc_id]}, {"doc_ids": [doc_id], "style": "key_figures"}]}


def _calls(client: TestClient) -> list[tuple[str, str, Any]]:
    """(method, url, JSON body or None) for every operation: real ids where reading is safe, an
    unknown Chinese id everywhere, a body with a Chinese field no route accepts."""
    [doc] = client.get("/documents").json()["documents"]
    conversation = client.post("/chat", json={"message": MEDIATION}).json()["conversation_id"]
    real = {"doc_id": doc["doc_id"], "conversation_id": conversation}
    good = _good_bodies(doc["doc_id"])
    calls = []
    for path, operations in client.get("/openapi.json").json()["paths"].items():
        params = re.findall(r"\{(\w+)\}", path)
        for method in operations:
            ids = [UNKNOWN] + ([real[params[0]]] if method == "get" and params and params[0] in real else [])
            for value in ids:
                url = re.sub(r"\{\w+\}", value, path)
                if method in ("post", "put", "patch"):
                    calls += [(method, url, body) for body in good.get(path, [])]
                    calls.append((method, url, {"问题": MEDIATION}))
                else:
                    calls.append((method, url, None))
    return calls


def test_no_route_escapes_chinese_in_what_it_sends(client: TestClient) -> None:
    calls = _calls(client)
    assert {url for _, url, _ in calls} >= {"/ask", "/chat", "/v1/chat/completions", "/summaries", "/health", "/me",
                                            "/jobs", "/conversations", f"/documents/{UNKNOWN}"}
    chinese = 0
    for method, url, body in calls:
        response = client.request(method.upper(), url, json=body)
        assert response.status_code < 500, (method, url, response.text)
        escaped = CJK_ESCAPE.search(response.content)
        assert escaped is None, (method, url, response.status_code, response.content[:300])
        text = response.content.decode("utf-8")  # readable as sent: valid UTF-8
        chinese += bool(re.search(r"[\u4e00-\u9fff]", text))
    assert chinese >= len(calls) // 2, "most responses should carry Chinese, or this test checks nothing"


@pytest.mark.parametrize("body", [b'{"question": ', b'{"question": "' + "问".encode() * 1001 + b'"}'])
def test_refusals_of_broken_bodies_name_the_problem_in_plain_utf8(client: TestClient, body: bytes) -> None:
    response = client.post("/ask", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422 and CJK_ESCAPE.search(response.content) is None
    assert response.headers["content-type"].startswith("application/json") and response.json()["detail"]
