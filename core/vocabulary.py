"""The words reportqa reads questions and reports by, declared once: years, dates and periods, the counters a
question asks in, the words that make a figure a target, a change or a fall, place suffixes and citation markers. Patterns that
differ in meaning keep separate names."""

from __future__ import annotations

import re

from core.figures import COUNT_WORDS, COUNTERS, alternation

_YEAR_DIGITS = r"(?:19|20)\d{2}"
# A year as a text writes it (2019年, 2019年度); group 1 is the year. 年 is required: a bare 2019 in a
# question or report is as often a count or a number as a year.
YEAR = re.compile(rf"({_YEAR_DIGITS})\s*年度?")
# A year in an elliptical follow-up, where 年 may be left out ("那2020呢?"); group 1 is the year.
YEAR_LOOSE = re.compile(rf"({_YEAR_DIGITS})\s*年?度?")
# A day, with its year when written, and the 截至 before it (截至2019年12月31日): when, not what.
DATE = re.compile(rf"(?:截至|截止|到)?(?:{_YEAR_DIGITS}\s*年)?\s*\d{{1,2}}\s*月\s*\d{{1,2}}\s*日")

# What a printed line ends with when its paragraph ends there (either width): a line of a PDF, OFD or
# scan that runs to the margin without one of these was wrapped and goes on on the next line.
PARAGRAPH_END = tuple("。!?;:！？；：")

# The counters a question asks a figure in (多少起, 几项): the figure extractor's units, and 万元 for 元.
ASKED_COUNTERS = sorted([*COUNTERS, "万元"], key=len, reverse=True)
ASKED_COUNTER = re.compile(r"(?:多少|几)\s*(" + alternation(ASKED_COUNTERS) + ")")
# The counting words a question's 多少/几 takes, which say nothing about the metric (多少起, 几项, 多少万元);
# measures (多少公里) stay among its content words.
ASKED_COUNT_WORDS = sorted([*COUNT_WORDS, "万元"], key=len, reverse=True)

# Streets, towns and townships: in no gazetteer, known by their suffix alone.
TOWN_SUFFIXES = ("街道", "镇", "乡")
# The suffixes a follow-up's new place may end in ("金桥镇呢?", "浦东新区呢?"): towns, counties, cities, villages.
FOLLOW_UP_PLACE_SUFFIXES = (*TOWN_SUFFIXES, "区", "县", "市", "街", "村")
# The suffix of an administrative name of any level, at the end of the name (四川省 -> 四川).
ADMIN_SUFFIX = re.compile(r"(?:[壮回]族|维吾尔)?自治区$|特别行政区$|街道$|[省市区县镇乡旗盟]$")

# A citation marker [n] in a model's reply; three digits, since a summary may cite more than 99 passages.
CITATION_MARKER = re.compile(r"\[(\d{1,3})\]")

# A quoted title (《2018年工作报告》, 《上海市…条例》): its years and places name a document, not a figure's
# period or the place a question asks about.
BOOK_TITLE = re.compile(r"《[^》]*》")

# What a figure of a report refers to and how it reads (the figure records of the index):
# the words that make it a target, a change or a fall, and the years said relative to the report's.
# 计划 names a programme when something is done to it (五年行动计划启动实施): no target then.
TARGET_WORDS = re.compile(r"预期|目标|力争|计划(?!启动|实施|出台|印发|发布|落地)|确保|争取")
# A government work report (政府工作报告) is delivered early in its year: it reviews the year before and plans
# its own. Other yearly reports (法治政府建设情况报告, 信息公开年报) are named by the year they report on.
WORK_REPORT = re.compile(r"政府工作报告")


def reviews_year(title: str | None, year: int | None, asked: frozenset[int]) -> bool:
    """Is the report a work report of the year after one `asked`, whose actuals it reviews (asked 2025,
    the 2026年政府工作报告)?"""
    return year is not None and year - 1 in asked and bool(WORK_REPORT.search(title or ""))


# A flow rather than a stock (新增就业, 新建学校): not what a question of a total (装机总量) asks.
INCREMENT = re.compile(r"新增|新建|新开工|新改建")
# A figure against another's (高于全国8.5个百分点), and a question that asks for one (比全国快了多少), not a
# change on the year before (比上年).
GAP_WORDS = re.compile(r"高于|快于|低于|慢于|好于")
ASKED_GAP = re.compile(r"比(?!上年|去年|前一年|同期)[^,;。?]{1,8}?(?:快|高|低|慢|多|少)")
# A threshold crossed right before a figure (总里程突破800公里、达812公里): a round bound, beside which
# a report often gives the measure itself.
BOUND_BEFORE = re.compile(r"(?:突破|超过|超|逾)\s*$")
# Words that announce a list of targets for the rest of their paragraph (主要预期目标是：…；…, 主要目标任务
# 建议为…); a sentence that reports targets met (全面完成年度主要目标任务。) announces none.
TARGET_LEAD = re.compile(r"目标(?:任务)?[^。；;，,]{0,4}?(?:是|为|如下|[:：])")
CHANGE_WORDS = re.compile(r"同比|环比|增长|增加|增幅|提高|上升|下降|减少|回落|降低|下滑|较上年|比上年")
# What a question asks of a figure in its own words: a plan rather than what was done, how much a
# thing changed rather than its level, and a fall.
ASKED_TARGET = re.compile(r"预期|目标|力争|计划|争取|打算|要(?:达到|实现|完成|控制)|定为|定的|安排")
ASKED_CHANGE = re.compile(r"同比|环比|增长|增速|增幅|增加了|提高了|提升了|上升|下降|减少|降低|压减|压缩|回落|下滑|涨|降了"
                          r"|比上年|较上年")
# How big, how long, how fast (新建道路有多长): a figure asked without 多少.
ASKED_MAGNITUDE = "多[大高长快重远]"
ASKED_LEVEL = re.compile(r"总量|总额|规模|总数|总共|一共|合计")
# A rank or an ordinal asked (居全国第几位, 排名第几, 第几届): answered by a figure after 第, not a count.
ASKED_RANK = re.compile(r"第几|排名|排第|排在|排行|位次|名次|位列")
ASKED_ACTUAL = re.compile(r"实际|实现了|完成了|已经|已")
# The words of a question that name the report it asks ("2026年政府工作报告中，2025年…"): an official may
# leave them out; group 1 is the report's year, told apart from the period asked.
REPORT_NAMED = re.compile(rf"({_YEAR_DIGITS})\s*年度?\s*(?:的|版)?\s*[\u4e00-\u9fff]{{0,10}}?(?:报告|年报|年鉴)"
                          r"(?:中|里|上)?的?[，,]?")
# The names officials use for the main statistical indicators of a work report, beside the name the
# reports print (the National Bureau of Statistics' indicator names): a question that asks for 经济总量 or
# 经济增速 asks for 地区生产总值 or its growth.
INDICATOR_ALIASES = {
    "地区生产总值": ("GDP", "经济总量", "经济规模", "经济体量", "经济盘子", "经济增速", "经济增长速度", "经济增长率"),
    "一般公共预算收入": ("地方财政收入", "财政收入"),
    "社会消费品零售总额": ("社会消费品零售额", "消费品零售总额", "社零"),
    "固定资产投资": ("固投",),
    "居民消费价格": ("CPI", "物价涨幅", "物价水平"),
    "规模以上工业增加值": ("规上工业增加值",),
    "城镇调查失业率": ("调查失业率", "失业率"),
    "进出口": ("外贸", "对外贸易"),
    "居民人均可支配收入": ("人均可支配收入", "居民收入"),
    "PM2.5": ("细颗粒物",),
}
# The everyday words officials say for the legal and administrative terms the reports print (the terms of
# the 行政诉讼法, 行政处罚法 and 信访工作条例): a 官司 is a 诉讼, a 案子 a 案件, a case 处理完 is 办结, and
# 一般程序 is the 行政处罚法's 普通程序. Only the speech of any official about any report: none of a
# report's own wording.
EVERYDAY_TERMS = {
    "诉讼": ("官司", "告上法庭", "告到法院", "起诉到法院"),
    "案件": ("案子",),
    "办结": ("办完", "处理完", "办理完", "处置完"),
    "不予受理": ("没被受理", "没有受理", "没受理", "不受理"),
    "调解成功": ("调解成", "调成"),
    "普通程序": ("一般程序",),
    "违法建设": ("违建",),
    "规范性文件": ("红头文件",),
    "信访": ("上访",),
}
# Applied to questions only (a question also reads the printed name); longer aliases first.
PRINTED_AS = {alias.lower(): name for table in (INDICATOR_ALIASES, EVERYDAY_TERMS)
              for name, aliases in table.items() for alias in aliases}
PRINTED_ALIAS = re.compile(alternation(PRINTED_AS), re.IGNORECASE)
# A month a question or a report names (6月, 6月份) or a span of months (1-6月, 1至6月: the sum since
# January, another figure than June's): its first month (None for a month alone) and its last are groups
# first and last. An ordinal (第6月) names none, nor does a day (6月30日).
_MONTH_START = r"(?<![\d\-~—–至到第])"
_SPAN_FROM = r"(?:(?P<{}>\d{{1,2}})\s*[-~—–至到]\s*)?"  # a span's first month, in a group of the given name
MONTH = re.compile(_MONTH_START + _SPAN_FROM.format("first") + r"(?P<last>\d{1,2})\s*月(?:份)?(?!\s*\d{1,2}\s*日)")


def month_span(first: str | None, last: str) -> tuple[int, int] | None:
    """The first and last month a match of MONTH or PERIOD names ((6, 6) for 6月, (1, 6) for 1-6月); None
    when they are no months of a year (13月, 6-1月)."""
    start, end = int(first or last), int(last)
    return (start, end) if 1 <= start <= end <= 12 else None


ASKED_FALL = re.compile(r"下降|减少|降低|回落|下滑|降了|少了")
FALLING = re.compile(r"(?:下降|减少|回落|降低|下滑|收窄)(?:了|约|近|为|达)?\s*$")
# A section that opens with its year (2024年是…, 2024年，面对…): a work report's part whose heading names no
# year (一、牢记殷殷嘱托，在接续奋斗中…取得新成效) says it so; group 1 is the year. A year counted from
# (2018年以来) opens no section of its own.
SECTION_OPENING_YEAR = re.compile(rf"^\s*({_YEAR_DIGITS})\s*年\s*(?:是|，|,)")
# A five-year plan a question names (十三五期间, "十四五"末: group 2 says its last year alone); 十四五 is 2021-2025.
FIVE_YEAR_PLAN = re.compile(r"十([一二三四五六七八九])五[”\"]?(?:规划)?(期?末)?")
RELATIVE_YEARS = {"前年": -2, "去年": -1, "上年": -1, "上一年": -1, "过去一年": -1, "今年": 0, "本年": 0, "当年": 0, "明年": 1}
# A period a sentence states: a 截至 day, a month or a span of months (of a year or alone), a year, or a year relative
# to the report's; a year after 比/较/与 is what a change is measured against, not the figure's period.
PERIOD = re.compile(
    rf"(?P<base>[比较与]\s*)?(?:(?:截至|截止)\s*(?P<dy>{_YEAR_DIGITS})\s*年\s*(?P<dm>\d{{1,2}})\s*月\s*(?P<dd>\d{{1,2}})\s*日"
    rf"|(?P<my>{_YEAR_DIGITS})\s*年\s*{_SPAN_FROM.format('ms')}(?P<mm>\d{{1,2}})\s*月(?!\s*\d)|(?P<y>{_YEAR_DIGITS})\s*年"
    rf"|(?P<rel>{'|'.join(RELATIVE_YEARS)})"
    rf"|{_MONTH_START}{_SPAN_FROM.format('s')}(?P<m>\d{{1,2}})\s*月份?(?!\s*\d))"  # a month alone (6月份): of the year before it
)
