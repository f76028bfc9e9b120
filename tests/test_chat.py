"""Multi-turn chat: follow-ups resolved against earlier turns, conversations kept across restarts."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from core.config import Settings
from service.chat.followup import rewrite
from service.http.app import create_app

FIRST = "金杨新村街道2019年的调解成功率是多少?"
PLACES = {"金杨新村街道", "金杨新村"}


@pytest.fixture(scope="module")
def chat_settings(two_year_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(index_dir=two_year_index, state_dir=tmp_path_factory.mktemp("state"))


@pytest.fixture(scope="module")
def chat_client(chat_settings: Settings):
    with TestClient(create_app(chat_settings)) as client:
        yield client


@pytest.mark.parametrize("message, expected, kind", [
    ("那2020年呢?", "金杨新村街道2020年的调解成功率是多少?", "year"),
    ("金桥镇呢?", "金桥镇2019年的调解成功率是多少?", "place"),
    ("那在静海区呢?", "静海区2019年的调解成功率是多少?", "place"),
    ("唐镇呢?", "唐镇2019年的调解成功率是多少?", "place"),
    ("那上海呢?", "上海2019年的调解成功率是多少?", "place"),
    ("成功调处了多少起矛盾纠纷呢?", "2019年金杨新村街道的成功调处了多少起矛盾纠纷?", "topic"),
    ("2020年金杨新村街道办结了多少起一般程序案件?", "2020年金杨新村街道办结了多少起一般程序案件?", "standalone"),
])
def test_follow_ups_are_rewritten_against_the_previous_question(message: str, expected: str, kind: str) -> None:
    resolved = rewrite(message, FIRST, PLACES)
    assert (resolved.question, resolved.kind) == (expected, kind)


def test_where_follow_up_refers_to_the_previous_answer() -> None:
    assert rewrite("这个数字在哪一节?", FIRST, PLACES).kind == "where"
    assert rewrite("这个数字在哪一节?", None, PLACES) == rewrite("这个数字在哪一节?", None, set())
    assert rewrite("这个数字在哪一节?", None, PLACES).question == "这个数字在哪一节?"


def test_two_turn_conversation_answers_the_follow_up_with_the_other_years_figure(chat_client: TestClient) -> None:
    first = chat_client.post("/chat", json={"message": FIRST}).json()
    assert first["answer"] == "98.3 %" and first["rewritten_question"] == FIRST and first["turn"] == 1
    conversation = first["conversation_id"]
    second = chat_client.post("/chat", json={"conversation_id": conversation, "message": "那2020年呢?"}).json()
    assert second["rewritten_question"] == "金杨新村街道2020年的调解成功率是多少?"
    assert second["found"] and second["answer"] == "98.9 %" and second["turn"] == 2
    [citation] = second["citations"]
    assert citation["year"] == 2020 and "98.9" in citation["quote"]

    where = chat_client.post("/chat", json={"conversation_id": conversation, "message": "这个数字在哪一节?"}).json()
    assert where["rewrite"] == "where" and where["found"]
    assert where["answer"] == "一、主要做法和成效 > (四)加强法治保障,推动法治政府建设"
    assert where["citations"][0] == citation

    other_place = chat_client.post("/chat", json={"conversation_id": conversation, "message": "金桥镇呢?"}).json()
    assert other_place["rewritten_question"] == "金桥镇2020年的调解成功率是多少?"
    assert other_place["found"] is False and other_place["citations"] == []

    stored = chat_client.get(f"/conversations/{conversation}").json()
    assert [t["message"] for t in stored["turns"]] == [FIRST, "那2020年呢?", "这个数字在哪一节?", "金桥镇呢?"]
    assert stored["turns"][1]["answer"]["answer"] == "98.9 %" and stored["owner"] == "local"
    listed = chat_client.get("/conversations").json()["conversations"]
    assert any(c["conversation_id"] == conversation and c["n_turns"] == 4 for c in listed)


def test_a_restart_keeps_the_conversation(chat_settings: Settings) -> None:
    with TestClient(create_app(chat_settings)) as client:
        conversation = client.post("/chat", json={"message": FIRST}).json()["conversation_id"]
    with TestClient(create_app(chat_settings)) as restarted:
        kept = restarted.get(f"/conversations/{conversation}").json()
        assert kept["turns"][0]["answer"]["answer"] == "98.3 %"
        follow = restarted.post("/chat", json={"conversation_id": conversation, "message": "那2020年呢?"}).json()
        assert follow["answer"] == "98.9 %" and follow["turn"] == 2
        assert restarted.delete(f"/conversations/{conversation}").json() == {"deleted": conversation}
        assert restarted.get(f"/conversations/{conversation}").status_code == 404


@pytest.mark.parametrize("body, status, words", [
    ({"message": ""}, 422, "message is empty"),
    ({"message": "   "}, 422, "message is empty"),
    ({"message": "问" * 1001}, 422, "message"),
    ({"message": FIRST, "conversation_id": "nope"}, 404, "unknown conversation_id: nope"),
    ({"message": FIRST, "mode": "poetry"}, 422, "mode"),
    ({"message": FIRST, "filters": {"doc_ids": ["missing"]}}, 404, "unknown doc_id: missing"),
    ({"message": FIRST, "extra": 1}, 422, "extra"),
])
def test_bad_chat_input_is_a_4xx_naming_the_problem(chat_client: TestClient, body: dict, status: int, words: str) -> None:
    response = chat_client.post("/chat", json=body)
    assert response.status_code == status and words in response.json()["detail"]


def test_asking_where_before_any_answer_says_so(chat_client: TestClient) -> None:
    answer = chat_client.post("/chat", json={"message": "这个数字在哪一节?"}).json()
    assert answer["rewrite"] == "where" and answer["found"] is False and "还没有上一个回答" in answer["text"]


def test_unknown_conversations_are_404(chat_client: TestClient) -> None:
    assert chat_client.get("/conversations/missing").status_code == 404
    assert chat_client.delete("/conversations/missing").json() == {"detail": "unknown conversation_id: missing"}


def test_terminal_chat_resolves_follow_ups(two_year_index: Path) -> None:
    from typer.testing import CliRunner

    from reportqa.cli import app as cli

    lines = "\n".join([FIRST, "那2020年呢?", "这个数字在哪一节?", "", ""])
    result = CliRunner().invoke(cli, ["chat", "--index", str(two_year_index)], input=lines)
    assert result.exit_code == 0, result.output
    assert "98.3%" in result.output and "(理解为:金杨新村街道2020年的调解成功率是多少?)" in result.output
    assert "98.9%" in result.output and "“一、主要做法和成效 > (四)加强法治保障,推动法治政府建设”部分" in result.output


def test_readers_see_only_their_own_conversations_and_admins_all(seed_index: Path, tmp_path: Path) -> None:
    from service.http.keys import hash_key

    keys = {"amy": "rqa_amy-key-for-chat-tests-0123456789", "bob": "rqa_bob-key-for-chat-tests-0123456789",
            "ops": "rqa_ops-key-for-chat-tests-0123456789"}
    settings = Settings(index_dir=seed_index, state_dir=tmp_path / "state", auth="on", rate_limit="off",
                        api_keys=[f"amy:reader:{hash_key(keys['amy'])}", f"bob:reader:{hash_key(keys['bob'])}",
                                  f"ops:admin:{hash_key(keys['ops'])}"])
    amy, bob, ops = ({"Authorization": f"Bearer {keys[n]}"} for n in ("amy", "bob", "ops"))
    with TestClient(create_app(settings)) as client:
        mine = client.post("/chat", json={"message": FIRST}, headers=amy).json()["conversation_id"]
        assert client.get(f"/conversations/{mine}", headers=amy).json()["turns"][0]["answer"]["answer"] == "98.3 %"
        assert client.get(f"/conversations/{mine}", headers=bob).status_code == 404
        assert client.post("/chat", json={"conversation_id": mine, "message": "那2020年呢?"}, headers=bob).status_code == 404
        assert client.delete(f"/conversations/{mine}", headers=bob).status_code == 404
        assert client.get("/conversations", headers=bob).json() == {"conversations": []}
        [listed] = client.get("/conversations", headers=ops).json()["conversations"]
        assert listed["conversation_id"] == mine and listed["owner"] != "local"
        assert client.delete(f"/conversations/{mine}", headers=ops).json() == {"deleted": mine}


def test_a_conversation_past_its_turn_limit_is_refused(chat_client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("service.http.routes.chat.MAX_TURNS", 2)
    conversation = chat_client.post("/chat", json={"message": FIRST}).json()["conversation_id"]
    assert chat_client.post("/chat", json={"conversation_id": conversation, "message": "那2020年呢?"}).status_code == 200
    refused = chat_client.post("/chat", json={"conversation_id": conversation, "message": "金桥镇呢?"})
    assert refused.status_code == 409 and "start a new one" in refused.json()["detail"]
    assert len(chat_client.get(f"/conversations/{conversation}").json()["turns"]) == 2


def test_the_llm_condenses_follow_ups_and_the_rules_stand_in_when_it_fails() -> None:
    from langchain_core.language_models.fake_chat_models import FakeListChatModel

    from service.chat.followup import Rewrite, condense_with_llm

    history = [(FIRST, "根据《金杨新村街道关于2019年度法治政府建设情况的报告》,2019年调解成功率为98.3%。")]
    model = FakeListChatModel(responses=["“2020年金杨新村街道的调解成功率是多少?”\n解释:换了年份"])
    assert condense_with_llm(model, "那2020年呢?", history, PLACES) == Rewrite("2020年金杨新村街道的调解成功率是多少?", "llm")
    silent = FakeListChatModel(responses=[""])
    assert condense_with_llm(silent, "那2020年呢?", history, PLACES).kind == "year"
    assert condense_with_llm(model, "这个数字在哪一节?", history, PLACES).kind == "where"  # no model call needed


def test_asking_where_after_the_cited_report_was_removed_says_it_is_gone(seed_index: Path, tmp_path: Path) -> None:
    import shutil

    index = Path(shutil.copytree(seed_index, tmp_path / "index"))
    with TestClient(create_app(Settings(index_dir=index, state_dir=tmp_path / "state"))) as client:
        first = client.post("/chat", json={"message": FIRST}).json()
        assert first["found"] and first["figure"]["value"] == pytest.approx(98.3)
        assert client.delete(f"/documents/{first['citations'][0]['doc_id']}").status_code == 200
        where = client.post("/chat", json={"conversation_id": first["conversation_id"], "message": "这个数字在哪一节?"})
    answer = where.json()
    assert answer["rewrite"] == "where" and answer["found"] is False and answer["citations"] == []
    assert "已不在索引中" in answer["text"] and "98.3" not in answer["text"]
