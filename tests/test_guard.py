"""The number guard against an LLM that lies: a fake OpenAI-compatible server on 127.0.0.1 answers
every call with a scripted reply, and no wrong figure, outside link or oversized reply reaches the
user over /ask, /v1/chat/completions (plain and stream), /chat or /summaries in llm mode."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from core.config import Settings
from service.guard import unsupported_numbers
from service.http.app import create_app

QUESTION = "金杨新村街道2019年的调解成功率是多少?"
SOURCE = "2019 年成功调处各类矛盾纠纷 987 起,调解成功率 98.3 %,标的金额 20 万以上。"
HUGE_BYTES = 10 * 1024 * 1024


class FakeLLM(ThreadingHTTPServer):
    """An OpenAI-compatible endpoint whose every completion is `reply` (it ignores max_tokens)."""

    daemon_threads = True
    reply = ""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"


class _Handler(BaseHTTPRequestHandler):
    server: FakeLLM

    def log_message(self, *args: object) -> None:  # keep the test output clean
        pass

    def _send(self, body: bytes, content_type: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            for start in range(0, len(body), 65536):
                self.wfile.write(body[start : start + 65536])
        except OSError:  # the client stopped reading: what a capped reader does
            pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        models = {"object": "list", "data": [{"id": "liar", "object": "model", "created": 0, "owned_by": "test"}]}
        self._send(json.dumps(models).encode(), "application/json")

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        message = {"role": "assistant", "content": self.server.reply}
        if body.get("stream"):
            chunk = {"id": "x", "object": "chat.completion.chunk", "created": 0, "model": "liar",
                     "choices": [{"index": 0, "delta": message, "finish_reason": "stop"}]}
            self._send(f"data: {json.dumps(chunk)}\n\ndata: [DONE]\n\n".encode(), "text/event-stream")
            return
        completion = {"id": "x", "object": "chat.completion", "created": 0, "model": "liar",
                      "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                      "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}
        self._send(json.dumps(completion).encode(), "application/json")


@pytest.fixture(scope="module")
def fake_llm() -> Iterator[FakeLLM]:
    server = FakeLLM(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def client(seed_index: Path, fake_llm: FakeLLM, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = Settings(index_dir=seed_index, state_dir=tmp_path_factory.mktemp("state"), llm_base_url=fake_llm.url,
                        llm_timeout_s=30)
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def _v1(client: TestClient, stream: bool) -> httpx.Response:
    return client.post("/v1/chat/completions", json={"model": "reportqa-llm", "stream": stream,
                                                     "messages": [{"role": "user", "content": QUESTION}]})


def _streamed(response: httpx.Response) -> str:
    events = [json.loads(line[6:]) for line in response.text.splitlines()
              if line.startswith("data: ") and line != "data: [DONE]"]
    return "".join(e["choices"][0]["delta"].get("content") or "" for e in events)


def _seen(client: TestClient, route: str) -> tuple[httpx.Response, str]:
    """The response of `route` to QUESTION in llm mode, and the text its user reads."""
    if route == "ask":
        response = client.post("/ask", json={"question": QUESTION, "mode": "llm"})
        return response, f"{response.json()['answer']}\n{response.json()['text']}"
    if route == "chat":
        response = client.post("/chat", json={"message": QUESTION, "mode": "llm"})
        return response, f"{response.json()['answer']}\n{response.json()['text']}"
    if route == "v1":
        response = _v1(client, stream=False)
        return response, response.json()["choices"][0]["message"]["content"]
    if route == "v1-stream":
        response = _v1(client, stream=True)
        return response, _streamed(response)
    response = client.post("/summaries", json={"mode": "llm"})
    return response, response.json()["text"]


ROUTES = ["ask", "v1", "v1-stream", "chat", "summaries"]
LEAD = "2019年成功调处各类矛盾纠纷987起,"  # the report's own words, so only the lie differs
LIES = [  # (the model's reply, the wrong figure in it)
    pytest.param(f"{LEAD}调解成功率为九十九点一[1]。", "九十九点一", id="chinese-decimal"),
    pytest.param(f"{LEAD}调解成功率为九十八点三[1]。", "九十八点三", id="chinese-decimal-without-its-percent"),
    pytest.param(f"{LEAD}调解成功率为百分之九十九点九[1]。", "百分之九十九点九", id="chinese-percentage"),
    pytest.param(f"{LEAD}调解成功的约占三分之二[1]。", "三分之二", id="fraction"),
    pytest.param(f"{LEAD}调解成功率接近百分之百[1]。", "接近百分之百", id="approximation"),
    pytest.param(f"{LEAD}调解成功率为-98.3%[1]。", "-98.3%", id="sign"),
    pytest.param("2019年成功调处各类矛盾纠纷98.3起,调解成功率98.3%[1]。", "98.3起", id="unit-qi-for-percent"),
    pytest.param(f"{LEAD}调解成功率为98.3‰[1]。", "98.3‰", id="per-mille"),
    pytest.param(f"{LEAD}调解成功率提高98.3个百分点[1]。", "98.3个百分点", id="percentage-points"),
    pytest.param(f"{LEAD}平均每起调解用时98.3小时[1]。", "98.3小时", id="hours"),
    pytest.param("连续987年成功调处各类矛盾纠纷,调解成功率98.3%[1]。", "987年", id="years"),
    pytest.param("2019年成功调处各类矛盾纠纷两千,调解成功率98.3%[1]。", "两千", id="invented-count-in-words"),
]


def _compact(text: str) -> str:
    return re.sub(r"\s", "", text)


@pytest.mark.parametrize("reply, wrong", LIES)
def test_the_guard_names_each_kind_of_wrong_figure(reply: str, wrong: str) -> None:
    assert wrong in unsupported_numbers(reply, [SOURCE])


@pytest.mark.parametrize("said, source", [
    pytest.param("调解成功率为98.3%[1]。", SOURCE, id="same-percentage"),
    pytest.param("共调处九百八十七起", SOURCE, id="chinese-numerals"),
    pytest.param("2019年成功调处纠纷987件", SOURCE, id="jian-and-qi-count-the-same-cases"),
    pytest.param("标的金额200000元以上", SOURCE, id="wan-folded-and-yishang-as-the-source-says"),
    pytest.param("约98.3%", SOURCE, id="about-the-same-value"),
    pytest.param("罚款268700元", "罚款 26.87 万元", id="wan-yuan-folded"),
    pytest.param("受理投诉二十六项", "受理投诉 26 项", id="chinese-count"),
    pytest.param("增长百分之十二点五", "同比增长 12.5%", id="chinese-percentage"),
    pytest.param("下降-3.2%", "同比下降 -3.2%", id="same-sign"),
    pytest.param("约三分之一的案件", "约占三分之一", id="same-fraction"),
])
def test_a_grounded_figure_passes_the_guard(said: str, source: str) -> None:
    assert unsupported_numbers(said, [source]) == []


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("reply, wrong", LIES)
def test_a_lying_llm_delivers_no_wrong_figure(client: TestClient, fake_llm: FakeLLM, route: str, reply: str,
                                              wrong: str) -> None:
    fake_llm.reply = reply
    response, seen = _seen(client, route)
    assert response.status_code == 200 and seen.strip()
    assert _compact(wrong) not in _compact(seen)


@pytest.mark.parametrize("route", ["ask", "v1", "chat"])
def test_a_grounded_llm_answer_still_comes_back(client: TestClient, fake_llm: FakeLLM, route: str) -> None:
    fake_llm.reply = "2019年金杨新村街道成功调处矛盾纠纷987件,调解成功率为98.3%[1]。"
    _, seen = _seen(client, route)
    assert "调解成功率为98.3%" in seen and "extractive answer returned" not in seen


@pytest.mark.parametrize("reply, kept", [
    ("见![图](http://evil.example/p.png)。", "见。"),
    ("详见[官网](https://evil.example/r)。", "详见官网。"),
    ("成功率98.3%[1](http://evil.example)。", "成功率98.3%[1]。"),  # a linked marker stays a citation
    ('图<img src="https://evil.example/a.png">和<a href="http://evil.example">链接</a>', "图和链接"),
    ("见<https://evil.example/q?a=1>或 www.evil.example。", "见或 。"),
    ("正文\n[r]: http://evil.example/ref\n末行", "正文\n\n末行"),
])
def test_links_and_images_are_taken_out_of_a_reply_and_their_text_kept(reply: str, kept: str) -> None:
    from service.guard import strip_links

    assert strip_links(reply) == kept


@pytest.mark.parametrize("route", ROUTES)
def test_a_link_or_image_to_an_outside_host_never_reaches_the_user(client: TestClient, fake_llm: FakeLLM,
                                                                   route: str) -> None:
    fake_llm.reply = ("2019年成功调处各类矛盾纠纷987起![图](http://evil.example/pixel.png?q=x),调解成功率为98.3%[1],"
                      "详见[官网](https://evil.example/report)、<img src=\"https://evil.example/a.png\">和 www.evil.example。")
    response, seen = _seen(client, route)
    assert response.status_code == 200 and "98.3" in seen
    assert "evil.example" not in response.text


@pytest.mark.parametrize("route", ROUTES)
def test_a_reply_ignoring_max_tokens_is_refused_and_the_response_stays_small(client: TestClient, fake_llm: FakeLLM,
                                                                             route: str) -> None:
    sentence = "调解成功率为98.3%[1]。"
    fake_llm.reply = sentence * (HUGE_BYTES // len(sentence.encode()))
    response, seen = _seen(client, route)
    assert response.status_code == 200 and "98.3" in seen
    assert len(response.content) < 64 * 1024


def test_the_reply_cap_stops_reading_at_the_limit() -> None:
    from service.llm import CappedTransport, ReplyTooLarge

    pulled = []

    def endless() -> Iterator[bytes]:
        while True:
            pulled.append(1)
            yield b"x" * 1024

    transport = CappedTransport(8 * 1024, httpx.MockTransport(lambda request: httpx.Response(200, content=endless())))
    with httpx.Client(transport=transport) as http, pytest.raises(ReplyTooLarge):
        http.get("http://llm.invalid/v1/chat/completions")
    assert len(pulled) == 9  # 8 KiB read, and the one chunk that went over


def test_a_compressed_reply_is_refused_since_its_size_is_unknown_until_inflated() -> None:
    from service.llm import CappedTransport, ReplyTooLarge

    def gzipped(request: httpx.Request) -> httpx.Response:
        assert request.headers["Accept-Encoding"] == "identity"
        return httpx.Response(200, headers={"Content-Encoding": "gzip"}, content=b"")

    with httpx.Client(transport=CappedTransport(8 * 1024, httpx.MockTransport(gzipped))) as http:
        with pytest.raises(ReplyTooLarge):
            http.get("http://llm.invalid/v1/chat/completions")


def test_the_year_a_cited_report_is_filed_under_backs_the_year_an_answer_says() -> None:
    from service.guard import cited_sources
    from service.schemas import Citation

    citation = Citation(doc_id="d1", title="金杨新村街道法治政府建设情况的报告", issuer="金杨新村街道", year=2019,
                        section_path=[], char_start=0, char_end=17, quote="成功调处各类矛盾纠纷 987 起")
    assert unsupported_numbers("2019年成功调处纠纷987起[1]", cited_sources([citation])) == []
    assert unsupported_numbers("2020年成功调处纠纷987起[1]", cited_sources([citation])) == ["2020年"]
