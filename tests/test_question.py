"""A question is read once into a Question: what the retriever and the answerers know of it."""

from __future__ import annotations

import pytest

from core.vocabulary import CITATION_MARKER, YEAR, YEAR_LOOSE
from service.query import PlaceIndex
from service.question import Question
from service.wording import question_core

PLACES = PlaceIndex({"seed": {"金杨新村街道", "金杨新村"}, "pudong": {"浦东新区", "上海市"}})


def test_a_question_names_its_years_places_unit_and_rates_once() -> None:
    q = Question.parse("上海市浦东新区金杨新村街道2019年调解成功率是多少?", PLACES)
    assert q.years == {2019} and q.place_docs == {"seed": 6} and q.unknown_places == ()
    assert {"上海市", "浦东新区", "金杨新村街道", "金杨新村"} <= q.place_words
    assert q.expected_unit == "%" and q.rate_heads == {"功率"} and q.asks_for_figure


@pytest.mark.parametrize("question, unit", [
    ("2019年成功调处了多少起矛盾纠纷?", "起"),
    ("罚款金额是多少?", "元"),
    ("共投入多少万元?", "元"),
    ("新建了多少栋安置房?", "栋"),  # every counter the figure extractor reads can be asked
    ("法治宣传的主要做法有哪些?", None),
])
def test_the_unit_a_question_asks_is_one_the_figure_extractor_reads(question: str, unit: str | None) -> None:
    assert Question.parse(question, PLACES).expected_unit == unit


@pytest.mark.parametrize("question, months", [
    ("金杨新村街道2019年6月份受理了多少件?", {(6, 6)}),
    ("金杨新村街道2019年5月热线接到多少件诉求?", {(5, 5)}),
    ("金杨新村街道2019年1-6月共受理多少件?", {(1, 6)}),  # a span of months: the sum since January, not June's
    ("金杨新村街道2019年1至6月共受理多少件?", {(1, 6)}),
    ("截至2019年6月30日共受理多少件?", set()),  # a day, not a month
])
def test_the_month_asked_is_a_month_or_a_span_of_months(question: str, months: set[tuple[int, int]]) -> None:
    assert Question.parse(question, PLACES).months == months


def test_a_place_no_report_is_from_is_unknown_and_matches_no_report() -> None:
    q = Question.parse("金桥镇2020年受理多少件?", PLACES)
    assert q.unknown_places == ("金桥镇",) and q.place_docs == {} and not q.place_words


@pytest.mark.parametrize("question, period_years, report_years", [
    ("浦东新区2026年政府工作报告中,“十四五”末全区地区生产总值达到多少?", {2025}, {2026}),  # the plan's last year
    ("浦东新区十三五期间新建了多少公里道路?", {2016, 2017, 2018, 2019, 2020}, set()),  # the whole plan
    ("浦东新区2026年政府工作报告中,2025年地区生产总值多少?", {2025}, {2026}),
    ("浦东新区2026年政府工作报告定的地区生产总值增长目标是多少?", {2026}, {2026}),  # only the report's year
])
def test_the_years_a_figure_is_asked_of_are_told_from_the_report_named(
    question: str, period_years: set[int], report_years: set[int],
) -> None:
    q = Question.parse(question, PLACES)
    assert (q.period_years, q.report_years) == (period_years, report_years)


@pytest.mark.parametrize("question", ["浦东新区2025年经济规模有多大?", "浦东新区新建道路有多长?", "浦东新区2025年增速有多快?"])
def test_how_big_or_how_long_asks_for_a_figure(question: str) -> None:
    assert Question.parse(question, PLACES).asks_for_figure


def test_an_indicator_called_by_another_name_is_read_as_the_printed_one() -> None:
    assert Question.parse("浦东新区2025年经济总量多少?", PLACES).printed_terms == {"地区生产总值"}
    assert Question.parse("浦东新区2025年GDP增速是多少?", PLACES).printed_terms == {"地区生产总值"}
    assert Question.parse("浦东新区2025年受理了多少件?", PLACES).printed_terms == set()


def test_a_legal_term_said_in_everyday_words_is_read_as_the_printed_one() -> None:
    """An official says 官司 and 案子 where the reports print 诉讼 and 案件."""
    assert Question.parse("浦东新区2025年打了几起行政官司?", PLACES).printed_terms == {"诉讼"}
    assert Question.parse("浦东新区2025年处理完了多少件案子?", PLACES).printed_terms == {"办结", "案件"}


def test_a_year_needs_its_nian_except_in_an_elliptical_follow_up() -> None:
    assert YEAR.findall("2019年度报告与2020年, 共2021件") == ["2019", "2020"]
    assert YEAR_LOOSE.findall("那2020呢") == ["2020"]


def test_a_citation_marker_has_up_to_three_digits() -> None:
    assert CITATION_MARKER.findall("[1] [12] [123] [1234]") == ["1", "12", "123"]


@pytest.mark.parametrize("question", [
    "浦东新区2019年政府工作报告中，2018年调解成功率是多少?",
    "按金杨新村街道2019年法治政府建设情况报告，调解成功率是多少?",
    "2019年的调解成功率是多少?",
])
def test_the_words_that_name_the_report_asked_are_no_evidence_of_what_is_asked(question: str) -> None:
    """Which report is asked (2019年政府工作报告中) says nothing of the figure: only 调解成功率 is evidence."""
    assert question_core(Question.parse(question, PLACES)) == {"调解", "解成", "成功", "功率"}
