"""Places of every level that no indexed report is from are refused, saying so; the indexed office is
answered under each name officials give it, with its district and city in front (the seed index holds
only 金杨新村街道's report, so 浦东新区 and 上海市 alone are refused: a street's figure is not theirs)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from core.index import DocumentRecord
from core.models import ReportMetadata
from core.prompts import render
from service.query import PlaceIndex, place_names
from service.question import Question

UNKNOWN = {
    "街道": ["潍坊新村街道", "金龙街道", "白云路街道", "新华街道"],
    "镇": ["唐镇", "金桥镇", "张江镇", "北蔡镇"],
    "乡": ["石门乡", "清水乡"],
    "区": ["静海区", "朝阳区", "浦东新区", "海淀区", "滨海新区"],
    "县": ["忠县", "沛县", "汶上县", "长丰县"],
    "市": ["上海市", "北京市", "苏州市", "潍坊市", "义乌市"],
    "省": ["四川省", "浙江省", "河北省"],
    "自治区": ["广西壮族自治区", "内蒙古自治区", "西藏自治区"],
    "州 盟 旗": ["延边朝鲜族自治州", "锡林郭勒盟", "阿拉善左旗"],
    "without suffix": ["上海", "四川"],
}
ASKED = ["{}2019年的调解成功率是多少?", "2019年{}的调解成功率是多少?", "请问{}2019年调解成功率是多少?"]
CASES = [(ASKED[k % len(ASKED)].format(place), place)
         for k, place in enumerate(p for places in UNKNOWN.values() for p in places)]


@pytest.mark.parametrize("question, place", CASES)
def test_a_place_of_any_level_no_report_covers_is_refused_saying_so(client: TestClient, question: str,
                                                                     place: str) -> None:
    answer = client.post("/ask", json={"question": question}).json()
    assert answer["found"] is False and answer["figure"] is None and answer["citations"] == []
    assert answer["text"] == render("not_found", reason=f"(没有{place}的报告)")


@pytest.mark.parametrize("question, place", [
    ("上海市浦东新区唐镇2019年的调解成功率是多少?", "唐镇"),
    ("四川省成都市2019年的调解成功率是多少?", "成都市"),
])
def test_the_most_specific_place_of_a_chain_is_the_one_refused(client: TestClient, question: str,
                                                               place: str) -> None:
    answer = client.post("/ask", json={"question": question}).json()
    assert answer["found"] is False and answer["text"] == render("not_found", reason=f"(没有{place}的报告)")


@pytest.mark.parametrize("office", ["金杨新村", "金杨新村街道", "浦东新区金杨新村街道", "上海市浦东新区金杨新村街道",
                                    "上海浦东金杨新村街道"])
def test_the_indexed_office_is_answered_under_its_short_full_and_chained_names(client: TestClient,
                                                                               office: str) -> None:
    answer = client.post("/ask", json={"question": f"{office}2019年的调解成功率是多少?"}).json()
    assert answer["found"] is True and answer["answer"] == "98.3 %"


def _report(title: str, issuer: str | None = None) -> DocumentRecord:
    return DocumentRecord(doc_id=title, source=f"{title}.txt", format="txt", encoding="utf-8",
                          metadata=ReportMetadata(title=title, issuer=issuer), n_chunks=1, added_at="")


@pytest.mark.parametrize("question", ["2024年四川省地区生产总值是多少?", "四川2024年地区生产总值增长多少?",
                                      "2024年四川全省粮食产量是多少?"])
def test_a_province_with_an_indexed_report_is_known_with_or_without_its_suffix(question: str) -> None:
    places = PlaceIndex({"sichuan": place_names(_report("2025年四川省政府工作报告", "四川省人民政府"))})
    parsed = Question.parse(question, places)
    assert parsed.unknown_places == () and set(parsed.place_docs) == {"sichuan"}


def test_a_street_is_named_by_its_endings_but_not_by_a_two_character_fragment() -> None:
    names = place_names(_report("区人大莫愁湖街道代表组召开座谈会", "南京市建邺区人大常委会"))
    assert {"莫愁湖街道", "莫愁湖", "建邺区", "南京市"} <= names
    assert "湖街道" not in names and "愁湖街道" not in names
    assert "新村街道" not in place_names(_report("金杨新村街道关于2019年度法治政府建设情况的报告", "金杨新村街道"))


@pytest.mark.parametrize("question, unknown", [
    ("浦东新区唐镇2019年的调解成功率是多少?", ["唐镇"]),
    ("上海市浦东新区唐镇2019年的调解成功率是多少?", ["唐镇"]),
    ("四川省成都市2024年地区生产总值是多少?", ["成都市"]),
])
def test_an_indexed_place_in_front_of_an_unknown_one_does_not_answer_for_it(question: str, unknown: list[str]) -> None:
    places = PlaceIndex({"pudong": {"浦东新区", "上海市"}, "sichuan": {"四川省", "四川"}})
    parsed = Question.parse(question, places)
    assert list(parsed.unknown_places) == unknown and parsed.place_docs == {}


def test_a_known_place_beside_an_unknown_one_is_still_the_place_asked_about() -> None:
    places = PlaceIndex({"seed": place_names(_report("金杨新村街道关于2019年度法治政府建设情况的报告", "金杨新村街道"))})
    question = "2019年金桥镇和金杨新村街道共调解多少件?"
    parsed = Question.parse(question, places)
    assert parsed.unknown_places == ("金桥镇",) and set(parsed.place_docs) == {"seed"}
