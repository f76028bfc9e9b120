"""Figures are records of the index: ingest stores every figure of a report with its value in base
units, sign, period, kind, metric and section, and `reportqa figures` lists them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_cli import _run

from core.config import Settings
from core.figure_records import FigureRecord, report_figure_records
from core.figures import extract_figures
from core.index import FormatMismatchError, current_version_dir, open_index
from core.models import Report
from ingest.chunking import chunk_report
from ingest.pipeline import ingest_paths

pytestmark = pytest.mark.usefixtures("fast_embedding")

# A provincial report of our own: last year's actuals, this year's targets, and a table whose unit
# is in its row label.
REPORT = """江南省2025年政府工作报告

一、2024年工作回顾
2024年地区生产总值增长5.3%，全省高速公路总里程达8184公里。去年城镇化率达到65.2%，一般公共预算收入1.2万亿元。全年PM2.5平均浓度35微克/立方米，比2020年下降1.5个百分点。
2024年全面完成年度主要目标任务。港口集装箱吞吐量达到1260万标准箱，PM10平均浓度降至52微克每立方米，臭氧浓度为每立方米140微克。
12月份全省受理群众诉求665件，其中乡镇(街道)调委会调处412件。坚决做到“两个维护”，新建两个调解中心。

二、2025年主要预期目标
2025年主要预期目标：地区生产总值增长5%左右，粮食产量稳定在600亿斤以上，单位GDP能耗下降2.7%。今年新增污水处理能力12万吨/日。

三、主要指标
主要指标完成情况
指标 | 2023年 | 2024年
发电装机（万千瓦） | 8500 | 9120
居民人均可支配收入 | 42000元 | 44310元
"""


@pytest.fixture
def indexed(tmp_path: Path) -> tuple[Settings, str]:
    folder = tmp_path / "reports"
    folder.mkdir()
    (folder / "jiangnan_2025.txt").write_text(REPORT, encoding="utf-8")
    settings = Settings(index_dir=tmp_path / "index")
    summary = ingest_paths([folder], settings, progress=False)
    assert summary.count("added") == 1, summary.to_dict()
    return settings, summary.outcomes[0].doc_id or ""


def _by_raw(settings: Settings, doc_id: str) -> dict[str, FigureRecord]:
    snap = open_index(settings.index_dir)
    try:
        records = snap.figures(doc_id)
    finally:
        snap.close()
    by_raw = {r.raw: r for r in records}
    assert len(by_raw) == len(records)  # a figure two overlapping chunks share is stored once
    return by_raw


@pytest.mark.parametrize(
    ("raw", "base_value", "unit", "scale_unit", "period", "kind", "qualifier", "metric"),
    # Every period is stated in the figure's sentence (去年 and 今年 against the report's 2025) but those
    # of the 全年 sentence, which take 2024 from the sentence before (比2020年 is a base, not a period).
    [
        ("5.3%", 5.3, "%", "%", "2024", "change", None, "2024年地区生产总值增长"),
        ("8184公里", 8184, "公里", "公里", "2024", "actual", None, "全省高速公路总里程"),
        ("65.2%", 65.2, "%", "%", "2024", "share", None, "去年城镇化率"),  # 去年 of a 2025 report
        ("1.2万亿元", 1.2e12, "元", "万亿元", "2024", "actual", None, "一般公共预算收入"),
        ("35微克/立方米", 35, "微克/立方米", "微克/立方米", "2024", "actual", None, "PM2.5平均浓度"),
        ("1.5个百分点", -1.5, "个百分点", "个百分点", "2024", "change", None, "比2020年下降"),
        ("5%左右", 5, "%", "%", "2025", "target", "左右", "地区生产总值增长"),
        ("600亿斤以上", 6e10, "斤", "亿斤", "2025", "target", "以上", "粮食产量稳定在"),
        ("2.7%", -2.7, "%", "%", "2025", "target", None, "单位GDP能耗下降"),
        ("12万吨/日", 120000, "吨/日", "万吨/日", "2025", "target", None, "新增污水处理能力"),  # 今年 = 2025, under 主要预期目标
        # Targets met (完成…主要目标任务) make the figures after them no targets; a measure per a volume
        # is one unit however it is written, with the 每 that comes first cited as part of the figure.
        ("1260万标准箱", 1.26e7, "标准箱", "万标准箱", "2024", "actual", None, "港口集装箱吞吐量"),
        ("52微克每立方米", 52, "微克/立方米", "微克/立方米", "2024", "actual", None, "PM10平均浓度降至"),
        ("每立方米140微克", 140, "微克/立方米", "微克/立方米", "2024", "actual", None, "臭氧浓度"),
        # A month alone is of the year stated before it; a bracket is part of its clause's words.
        ("665件", 665, "件", "件", "2024-12", "actual", None, "12月份全省受理群众诉求"),
        ("412件", 412, "件", "件", "2024-12", "actual", None, "乡镇(街道)调委会调处"),
    ],
)
def test_each_prose_figure_is_stored_with_base_value_sign_period_kind_and_metric(
    indexed: tuple[Settings, str], raw: str, base_value: float, unit: str, scale_unit: str, period: str, kind: str,
    qualifier: str | None, metric: str,
) -> None:
    settings, doc_id = indexed
    record = _by_raw(settings, doc_id)[raw]
    assert (record.base_value, record.unit, record.scale_unit) == (base_value, unit, scale_unit)
    in_context = ("35微克/立方米", "1.5个百分点", "1260万标准箱", "52微克每立方米", "每立方米140微克")
    basis = "context" if raw in in_context else "stated"
    assert (record.period, record.period_basis, record.kind) == (period, basis, kind)
    assert (record.qualifier, record.metric) == (qualifier, metric)
    assert record.sign == (-1 if base_value < 0 else 1)
    assert REPORT[record.char_start : record.char_end] == raw  # the span cites the report as written


def test_a_figure_keeps_its_section_path_and_its_number_as_written(indexed: tuple[Settings, str]) -> None:
    settings, doc_id = indexed
    grain = _by_raw(settings, doc_id)["600亿斤以上"]
    assert grain.section_path == ["二、2025年主要预期目标"]
    assert grain.value == 600 and grain.doc_id == doc_id and grain.chunk_id.startswith(doc_id[:12])


def test_a_table_cell_is_measured_by_its_row_and_column_labels_and_takes_the_label_unit(
    indexed: tuple[Settings, str],
) -> None:
    settings, doc_id = indexed
    records = _by_raw(settings, doc_id)
    power = records["9120"]
    assert power.metric == "发电装机（万千瓦） 2024年"
    assert (power.base_value, power.unit, power.scale_unit, power.period) == (9.12e7, "千瓦", "万千瓦", "2024")
    income = records["42000元"]
    assert (income.metric, income.base_value, income.period) == ("居民人均可支配收入 2023年", 42000, "2023")
    assert income.section_path == ["三、主要指标"]


def test_a_clause_of_no_words_borrows_those_after_the_figure_before_it() -> None:
    """A figure right after a semicolon or a 、 is measured by the words of the clause before it, not by
    that clause's own figure."""
    figures = extract_figures("调解纠纷20件(含线上调解);15件当场调结、5件转办", unit_grammar=True)
    assert [(f.raw, f.metric) for f in figures] == [("20件", "调解纠纷"), ("15件", "含线上调解"), ("5件", "当场调结")]


def test_a_measure_restated_after_a_bound_keeps_its_words() -> None:
    """总里程突破800公里、达812公里: the second figure measures what the first does."""
    figures = extract_figures("全市高速公路总里程突破800公里、达812公里。", unit_grammar=True)
    assert [(f.raw, f.metric) for f in figures] == [("800公里", "高速公路总里程突破"),
                                                    ("812公里", "高速公路总里程突破")]


def test_a_rank_or_an_ordinal_is_a_figure_of_its_own_and_no_count() -> None:
    """居全省第3位 and 第十五届 say which, not how many: the records read them as ranks, and neither they nor
    the plain reading take 第4次 for four times."""
    text = "全市经济总量居全省第3位。开展第十五届政务公开日活动，第4次专项检查发现问题12个。"
    figures = extract_figures(text, unit_grammar=True)
    assert [(f.raw, f.value, f.unit, f.ordinal) for f in figures] == [
        ("第3位", 3, "位", True), ("第十五届", 15, "届", True), ("第4次", 4, "次", True), ("12个", 12, "个", False)]
    assert [f.raw for f in extract_figures(text)] == ["12个"]


def test_a_none_statement_is_cited_up_to_its_last_word() -> None:
    """未发生…案件 。: the space a converted file leaves before the full stop is not part of the figure."""
    figures = extract_figures("全年街道未发生行政诉讼案件 。", unit_grammar=True)
    assert [(f.raw, f.value, f.negative) for f in figures] == [("未发生行政诉讼案件", 0.0, True)]


def test_a_list_of_targets_cut_by_chunk_windows_stays_a_list_of_targets() -> None:
    """主要预期目标是：…；… read in windows that open inside the list: every figure of the list is a target
    (增长3% no change, 620亿斤以上 no actual), and the paragraph after it is led by no targets."""
    text = ("二、2026年工作安排\n今年主要预期目标是：地区生产总值增长6%左右；城镇新增就业40万人，城镇调查失业率5%左右；"
            "居民消费价格涨幅2%左右；地方一般公共预算收入增长3%，粮食产量620亿斤以上；按照国家要求完成节能减排任务。\n"
            "全年新建学校12所。\n")
    chunks = chunk_report(Report(doc_id="d", source="s", format="txt", encoding="utf-8", text=text), max_chars=60)
    assert not any("预期目标" in chunk.text for chunk in chunks[1:])  # the windows after the first cut the list
    kinds = [(r.raw, r.kind) for records in report_figure_records(chunks, 2026) for r in records]
    assert kinds == [("6%左右", "target"), ("40万人", "target"), ("5%左右", "target"), ("2%左右", "target"),
                     ("3%", "target"), ("620亿斤以上", "target"), ("12所", "actual")]


def _ingested(tmp_path: Path, name: str, text: str) -> dict[str, FigureRecord]:
    """The records of one report of ours, `text` saved as `name` and ingested into a fresh index."""
    folder = tmp_path / "reports"
    folder.mkdir()
    (folder / name).write_text(text, encoding="utf-8")
    settings = Settings(index_dir=tmp_path / "index")
    summary = ingest_paths([folder], settings, progress=False)
    return _by_raw(settings, summary.outcomes[0].doc_id or "")


def test_unnumbered_part_headings_give_the_period_of_the_figures_under_them(tmp_path: Path) -> None:
    """A work report whose parts are headed by lines of their own (2025年工作回顾, 2026年工作安排): the
    same measure is last year's actual in one and this year's plan in the other."""
    records = _ingested(tmp_path, "yunling_2026.txt",
        "2026年云岭市政府工作报告\n云岭市市长 李明\n各位代表：\n现在，我代表市人民政府向大会报告工作。\n"
        "2025年工作回顾\n（一）推进乡村振兴。新改建农村公路900公里。2025年在政府网站公布了《2024年乡村振兴规划》等30项文件。\n"
        "2026年工作安排\n（一）推进乡村振兴。新改建农村公路800公里。\n")
    done, planned = records["900公里"], records["800公里"]
    assert (done.period, done.period_basis, done.section_path) == ("2025", "section", ["2025年工作回顾", "（一）推进乡村振兴"])
    assert (planned.period, planned.period_basis) == ("2026", "section")
    # the year of a title the sentence quotes names that document, not the figure's period
    assert (records["30项"].period, records["30项"].period_basis) == ("2025", "stated")


def test_a_headings_relative_year_counts_from_the_day_the_report_was_issued(tmp_path: Path) -> None:
    """A yearly report in the national outline, issued the January after its year: 上一年度 in a heading is
    the year reported on, and a sentence's 今年 is the report's year."""
    records = _ingested(tmp_path, "qingchuan_2025.txt",
        "青川镇2025年度法治政府建设情况报告\n发布机构:青川镇人民政府  发布日期:2026-01-20\n"
        "一、上一年度推进法治政府建设的主要举措和成效\n开展法治宣传进村活动15场。今年办理行政复议答复3件。\n")
    assert (records["15场"].period, records["15场"].period_basis) == ("2025", "section")
    assert (records["3件"].period, records["3件"].period_basis) == ("2025", "stated")


def test_a_section_whose_heading_names_no_year_takes_the_year_it_opens_with(tmp_path: Path) -> None:
    """A work report's review part headed 牢记嘱托… opens 2024年是…: a figure in it that states no year is
    2024's; the plans part, opening with no year, keeps the report's year."""
    records = _ingested(tmp_path, "yunling_2025.txt",
        "2025年云岭县政府工作报告\n一、牢记嘱托，在接续奋斗中取得新成效\n"
        "2024年是极不平凡的一年。全县上下团结奋斗，经济社会发展取得新成效。\n粮食播种面积稳定，产量61.2万吨。\n"
        "二、奋勇争先，扎实做好各项工作\n今年要重点抓好以下工作。新改建农村公路300公里。\n")
    assert (records["61.2万吨"].period, records["61.2万吨"].period_basis) == ("2024", "section")
    assert (records["300公里"].period, records["300公里"].period_basis) == ("2025", "report")


def test_a_numeral_that_opens_a_quoted_name_is_no_figure(indexed: tuple[Settings, str]) -> None:
    """“两个维护” names a slogan; 两个调解中心 counts centres, and its metric words go on to them."""
    settings, doc_id = indexed
    twos = [r for r in _by_raw(settings, doc_id).values() if r.raw == "两个"]
    assert [r.metric for r in twos] == ["新建调解中心"]


# 1: no figure records; 2: no figure description vectors; 3: no segments; 4: records of the older unit grammar;
# 5: no sections under unnumbered heading lines; 6: a counter's metric words stop before the thing it counts;
# 7: a heading's 上一年度 counted from the report's year, not from the day it was issued; 8: no ranks or ordinals;
# 9: no year a section opens with
@pytest.mark.parametrize("old_format", [1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
def test_an_index_of_an_old_format_asks_to_be_reindexed(indexed: tuple[Settings, str], old_format: int) -> None:
    settings, _ = indexed
    folder = current_version_dir(settings.index_dir)
    assert folder is not None
    manifest_path = folder / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest_path.write_text(json.dumps({**manifest, "format_version": old_format}), encoding="utf-8")
    with pytest.raises(FormatMismatchError, match=r"re-index the reports with `reportqa ingest PATH --rebuild`"):
        open_index(settings.index_dir)
    # Nor does ingest add to it: the old reports would have no figure records or vectors.
    with pytest.raises(FormatMismatchError, match="--rebuild"):
        ingest_paths([Path(__file__)], settings, progress=False)
    listed = _run("documents", "--index", str(settings.index_dir))
    assert listed.returncode == 1 and "--rebuild" in listed.stderr


def test_figures_command_prints_a_reports_figures_as_text_and_json(indexed: tuple[Settings, str]) -> None:
    settings, doc_id = indexed
    shown = _run("figures", doc_id, "--index", str(settings.index_dir))
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith(f"20 figures of {doc_id}")
    assert any("600亿斤以上" in line and "6e+10" in line and "2025" in line and "target" in line
               for line in shown.stdout.splitlines())
    as_json = json.loads(_run("figures", doc_id, "--index", str(settings.index_dir), "--json").stdout)
    assert {"raw": "2.7%", "base_value": -2.7, "kind": "target"}.items() <= as_json[14].items()
    unknown = _run("figures", "0000", "--index", str(settings.index_dir))
    assert unknown.returncode == 1 and "no report with doc_id 0000" in unknown.stderr
