"""Figure questions asked the way officials ask them, through /ask on a real uvicorn server: the right
figure and its span, a target told from an actual, the year asked picking the report, and a question
no figure fits refused.

The work reports are our own (a fictional city, 云岭市, two sessions): like a provincial work report,
the 2025 one states 2024's actuals and 2025's targets, the 2026 one 2025's actuals and 2026's targets,
in mostly the same words. The seed questions are our own paraphrases, not the gold set's."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import SEED, served

from core.config import Settings
from service.figure_ranking import same_class_of

REPORT_2025 = """2025年云岭市政府工作报告
一、2024年工作回顾
过去一年，全市地区生产总值达到1820.5亿元，增长5.8%；一般公共预算收入126.3亿元，增长4.1%。粮食总产量达到92.6万吨，城镇新增就业3.2万人，城镇调查失业率为5.1%。全市PM2.5平均浓度下降2.7%，空气质量优良天数比率达到93.4%。新改建农村公路1260公里，建成保障性住房4800套。
二、2025年主要目标任务
2025年全市经济社会发展的主要预期目标是：地区生产总值增长6%左右；一般公共预算收入增长5%；城镇新增就业3万人以上，城镇调查失业率控制在5.5%以内；粮食产量稳定在93万吨以上；新改建农村公路1000公里。
"""

REPORT_2026 = """2026年云岭市政府工作报告
一、2025年工作回顾
过去一年，全市地区生产总值达到1935.2亿元，增长5.6%；一般公共预算收入131.8亿元，增长4.4%。粮食总产量达到94.1万吨，城镇新增就业3.4万人，城镇调查失业率为5.0%。全市PM2.5平均浓度下降3.1%，较2020年下降18.6%，空气质量优良天数比率达到94.2%。新改建农村公路1180公里，建成保障性住房5200套。
二、2026年主要目标任务
2026年全市经济社会发展的主要预期目标是：地区生产总值增长5.5%左右；一般公共预算收入增长4.5%；城镇新增就业3.3万人以上，城镇调查失业率控制在5.5%以内；粮食产量稳定在94万吨以上；新改建农村公路900公里。
"""

# A town's report whose parts are headed by lines of their own, not numbered, and whose plans state no
# target word: its part headings tell last year's actuals from this year's plans. A town, because a town is
# known by its suffix (镇): the gazetteer knows no fictional city, so a question naming one would be
# matched to its report by the title's words alone.
REPORT_QINGCHUAN = """2026年青川镇政府工作报告
青川镇镇长 王平
各位代表：
现在，我代表镇人民政府向大会报告工作，请予审议。
2025年工作回顾
（一）城乡面貌持续改善。新改建农村公路640公里，全镇高速公路总里程突破1000公里、达1043公里。
（二）民生保障更加有力。新增养老床位2100张。全镇受理群众诉求2468件，其中按时办结诉求2301件、热线工单1960件。热线工单评价满意1850件、基本满意420件。
（三）基层治理更加扎实。目前，全镇共有86个人民调解委员会，其中社区调委会61个、行业性调委会25个。各级调解组织受理纠纷1264件，成功调处1217件。
2026年工作安排
（一）推进城乡融合。新改建农村公路520公里，新增养老床位1800张。
"""

# A street office's yearly report in the national outline, issued the January after the year it reports on:
# its first part reviews 上一年度, that is 2025, and states no year of its own.
REPORT_BAISHUI = """白水镇2025年度法治政府建设情况报告
发布机构:白水镇人民政府  发布日期:2026-01-20
一、上一年度推进法治政府建设的主要举措和成效
（一）法治宣传深入基层。开展“法治进乡村”专题宣讲活动28场，培训村（社区）法律明白人340名。
（二）矛盾纠纷多元化解。镇村两级调委会调处矛盾纠纷412件，调处成功率98.1%。在全县矛盾纠纷化解工作考核中位列第2名。
（三）行政争议依法化解。全年办理行政复议案件6件、行政诉讼案件3件。
二、上一年度推进法治政府建设存在的不足和原因
基层法治力量仍然薄弱。
"""

# A town's monthly hotline report: the sum since January (1-12月) beside December's own figures.
REPORT_SHIMEN = """石门镇2025年12月12345热线办理情况通报
发布机构:石门镇人民政府  发布日期:2026-01-08
一、总体情况
2025年1-12月，12345热线共受理群众诉求5230件，办结5198件，办结率99.4%。
12月份，热线受理群众诉求486件，办结480件，其中城市管理类诉求132件。
"""


@contextmanager
def served_reports(root: Path, reports: dict[str, str], *copied: Path) -> Iterator[str]:
    """The URL of a server over a fresh index of `reports` (file name: text) and `copied` files, built
    with the default model under `root`."""
    from ingest.pipeline import ingest_paths
    from service.http.app import create_app

    folder = root / "reports"
    folder.mkdir()
    for name, text in reports.items():
        (folder / name).write_text(text, encoding="utf-8")
    for path in copied:
        shutil.copy(path, folder / path.name)
    settings = Settings(index_dir=root / "index")
    assert not ingest_paths([folder], settings, progress=False).failed
    with served(create_app(settings)) as url:
        yield url


@pytest.fixture(scope="module")
def work_reports(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A served index of the work reports and the seed."""
    reports = {"yunling_2025.txt": REPORT_2025, "yunling_2026.txt": REPORT_2026,
               "qingchuan_2026.txt": REPORT_QINGCHUAN, "baishui_2025.txt": REPORT_BAISHUI}
    with served_reports(tmp_path_factory.mktemp("work_reports"), reports, SEED) as url:
        yield url


def ask(url: str, question: str) -> dict[str, Any]:
    response = httpx.post(f"{url}/ask", json={"question": question}, timeout=60)
    assert response.status_code == 200, response.text
    return response.json()


def assert_figure(url: str, answer: dict[str, Any], value: float, unit: str, title: str) -> None:
    """The answer is this figure, and its citation is the span of the source report, as the service
    hands the report out, that holds it."""
    assert answer["found"], answer
    assert answer["figure"]["value"] == pytest.approx(value), answer["answer"]
    assert answer["figure"]["unit"] == unit
    citation = answer["citations"][0]
    assert title in citation["title"]
    span = httpx.get(f"{url}/documents/{citation['doc_id']}/text",
                     params={"start": citation["char_start"], "end": citation["char_end"]}).json()
    assert span["text"] == citation["quote"]
    assert answer["figure"]["raw"] in citation["quote"]


@pytest.mark.parametrize(("question", "value", "unit"), [
    ("金杨新村街道2019年化解掉的各类纠纷一共有几件?", 987, "起"),
    ("2019年金杨新村街道给居民提供了几回法律咨询?", 565, "次"),
    ("2019年金杨新村街道领导班子一起学法学了多少回?", 10, "次"),
    ("城管金杨中队2019年简易程序的案子罚了多少钱?", 14180, "元"),
])
def test_paraphrased_seed_questions_get_the_figure_and_its_span(work_reports: str, question: str, value: float,
                                                                unit: str) -> None:
    assert_figure(work_reports, ask(work_reports, question), value, unit, "金杨新村街道")


def test_a_target_and_an_actual_of_one_metric_are_told_apart(work_reports: str) -> None:
    actual = ask(work_reports, "云岭市2026年政府工作报告里，2025年粮食总产量实际是多少万吨？")
    target = ask(work_reports, "云岭市2026年政府工作报告给2026年粮食产量定的目标是多少？")
    assert_figure(work_reports, actual, 94.1, "万吨", "2026年云岭市")
    assert_figure(work_reports, target, 94, "万吨", "2026年云岭市")
    assert "以上" in target["answer"]


def test_the_year_asked_picks_the_report(work_reports: str) -> None:
    earlier = ask(work_reports, "云岭市2024年城镇新增就业了多少人？")
    later = ask(work_reports, "云岭市2025年城镇新增就业实际有多少人？")
    assert_figure(work_reports, earlier, 3.2, "万人", "2025年云岭市")
    assert_figure(work_reports, later, 3.4, "万人", "2026年云岭市")


def test_a_fall_is_answered_with_its_sign(work_reports: str) -> None:
    """Of a fall on the year before and one on 2020 side by side, the question's 比上年 asks the first."""
    answer = ask(work_reports, "云岭市2025年PM2.5平均浓度比上年降了多少？")
    assert_figure(work_reports, answer, -3.1, "%", "2026年云岭市")
    assert answer["answer"].startswith("下降")


def test_a_question_no_figure_fits_is_refused(work_reports: str) -> None:
    for question in ("云岭市2025年全市常住人口有多少万人？", "2019年金杨新村街道的财政总收入是多少亿元?"):
        answer = ask(work_reports, question)
        assert not answer["found"], answer["answer"]
        assert answer["citations"] == []



def test_a_report_the_index_does_not_hold_is_named_in_the_refusal(work_reports: str) -> None:
    """Another year's report states other figures, in mostly the same words: asked of a report that is
    not there, the service says which one it lacks instead of answering from its neighbour."""
    for question, lacking in (("金杨新村街道2021年法治政府建设情况报告中，调解成功率是多少?", "没有金杨新村街道2021年的报告"),
                              ("云岭市2027年政府工作报告中，2026年粮食总产量实际是多少万吨？", "没有2027年的报告")):
        answer = ask(work_reports, question)
        assert not answer["found"] and answer["citations"] == [], answer["answer"]
        assert lacking in answer["text"]
    held = ask(work_reports, "云岭市2026年政府工作报告中，2025年粮食总产量实际是多少万吨？")
    assert_figure(work_reports, held, 94.1, "万吨", "2026年云岭市")


def test_an_indicator_asked_by_the_name_officials_use_is_the_printed_one(work_reports: str) -> None:
    """经济总量 and 经济增速 are what the reports print as 地区生产总值 and its growth."""
    level = ask(work_reports, "云岭市2025年的经济总量是多少亿元？")
    target = ask(work_reports, "2026年云岭市经济增速预期目标是多少？")
    assert_figure(work_reports, level, 1935.2, "亿元", "2026年云岭市")
    assert_figure(work_reports, target, 5.5, "%", "2026年云岭市")


def test_people_are_counted_apart_from_cases_and_things() -> None:
    """多少人次 is not answered by 30次, nor 多少起纠纷 by 40人; 个 counts anything."""
    assert same_class_of("人次", "名") and same_class_of("件", "起") and same_class_of("个", "人")
    assert not same_class_of("人次", "次") and not same_class_of("起", "人")


def test_people_asked_in_one_counter_are_answered_in_the_other(work_reports: str) -> None:
    """人 and 名 count the same people: 多少人 is answered by 340名."""
    answer = ask(work_reports, "白水镇2025年培训了多少人当法律明白人？")
    assert_figure(work_reports, answer, 340, "名", "白水镇")


def test_unnumbered_part_headings_tell_last_years_actual_from_this_years_plan(work_reports: str) -> None:
    done = ask(work_reports, "青川镇2025年实际新改建了多少公里农村公路？")
    planned = ask(work_reports, "青川镇2026年打算新改建多少公里农村公路？")
    assert_figure(work_reports, done, 640, "公里", "青川镇")
    assert_figure(work_reports, planned, 520, "公里", "青川镇")


def test_a_measure_is_answered_rather_than_the_bound_it_crossed(work_reports: str) -> None:
    """总里程突破1000公里、达1043公里: the length is 1043 km."""
    assert_figure(work_reports, ask(work_reports, "青川镇2025年高速公路总里程是多少公里？"), 1043, "公里", "青川镇")


def test_what_a_question_leaves_out_is_not_what_it_asks(work_reports: str) -> None:
    answer = ask(work_reports, "青川镇2025年热线工单里评价完全满意（不含基本满意）的有几件？")
    assert_figure(work_reports, answer, 1850, "件", "青川镇")


def test_a_counted_thing_after_its_counter_is_what_the_figure_measures(work_reports: str) -> None:
    """全镇共有86个人民调解委员会: the committees are counted after the number, not before it."""
    answer = ask(work_reports, "青川镇现在一共有多少个人民调解委员会？")
    assert_figure(work_reports, answer, 86, "个", "青川镇")


def test_a_figure_is_not_measured_by_the_clause_of_the_figure_after_it(work_reports: str) -> None:
    """受理纠纷1264件，成功调处1217件: 成功调处 is said of the second figure only."""
    answer = ask(work_reports, "青川镇各级调解组织2025年成功调处了多少件纠纷？")
    assert_figure(work_reports, answer, 1217, "件", "青川镇")


def test_a_total_and_a_part_of_it_are_each_answered_when_asked(work_reports: str) -> None:
    """受理群众诉求2468件，其中…热线工单1960件: 一共 asks the total of what it names, and the hotline's
    tickets are a part listed after 其中 that an official may also ask 一共 of."""
    total = ask(work_reports, "青川镇2025年群众诉求一共有多少件？")
    part = ask(work_reports, "青川镇2025年热线工单一共有多少件？")
    assert_figure(work_reports, total, 2468, "件", "青川镇")
    assert_figure(work_reports, part, 1960, "件", "青川镇")


def test_the_year_a_yearly_report_reviews_is_the_year_asked(work_reports: str) -> None:
    """A 2025年度 report issued in 2026 headed 上一年度…成效 gives 2025's figures, not 2024's."""
    answer = ask(work_reports, "白水镇2025年搞了几场法治进乡村的宣讲？")
    assert_figure(work_reports, answer, 28, "场", "白水镇")
    earlier = ask(work_reports, "白水镇2024年搞了几场法治进乡村的宣讲？")
    assert not earlier["found"] and earlier["citations"] == [], earlier["answer"]


def test_a_legal_term_asked_in_everyday_words_is_answered_by_the_printed_one(work_reports: str) -> None:
    """An official's 官司 is the report's 行政诉讼: 3件, not the 6件 of 行政复议 beside it."""
    answer = ask(work_reports, "白水镇2025年打了几起行政官司？")
    assert_figure(work_reports, answer, 3, "件", "白水镇")


def test_a_rank_is_answered_by_the_figure_after_its_di(work_reports: str) -> None:
    """位列第2名 answers 排第几 with the rank as written, not a count of two."""
    answer = ask(work_reports, "白水镇2025年化解矛盾纠纷的考核在全县排第几？")
    assert_figure(work_reports, answer, 2, "名", "白水镇")
    assert answer["figure"]["raw"] == "第2名"


def test_a_work_report_is_found_for_the_year_it_reviews_among_reports_of_that_year(tmp_path: Path) -> None:
    """Asked of 2025, the 2026 work report's review of 2025 is found, though reports of 2025 itself crowd
    the index (yearly reports of other towns, in the same words) and the city is one the gazetteer does
    not know, so no place narrows the search."""
    towns = {f"town_{n}.txt": REPORT_BAISHUI.replace("白水镇", f"{town}镇")
             for n, town in enumerate("东坪 西岭 南溪 北塘 上河 下湾 中岗 石门".split())}
    with served_reports(tmp_path, {"yunling_2026.txt": REPORT_2026, **towns}) as url:
        answer = ask(url, "云岭市2025年城镇新增就业实际有多少人？")
        assert_figure(url, answer, 3.4, "万人", "2026年云岭市")


def test_a_span_of_months_is_a_period_of_its_own(tmp_path: Path) -> None:
    """1-12月 is the sum since January: asked for, it answers; asked for December, December's figure does;
    asked for November or for 1-11月, which no figure states, nothing does (not the sum that runs
    through it, nor December's)."""
    with served_reports(tmp_path, {"shimen_2025_12.txt": REPORT_SHIMEN}) as url:
        assert_figure(url, ask(url, "石门镇2025年1-12月热线受理了多少件诉求？"), 5230, "件", "石门镇")
        assert_figure(url, ask(url, "石门镇2025年12月受理群众诉求多少件？"), 486, "件", "石门镇")
        for other in ("石门镇2025年11月份热线办结了多少件？", "石门镇2025年1到11月热线接到多少件诉求？"):
            answer = ask(url, other)
            assert not answer["found"] and answer["citations"] == [], answer["answer"]
