"""Figures in Chinese report text: numbers with their units and the words they measure.

One module for answering, summaries and the eval. It reads Arabic numbers with spaces
and separators ("268738 元", "98.3 %", "1,234", "99·5 9%"), Chinese numerals with a
counter (二十六项, 两名), 万/亿 multipliers, ranges (2 到 3 名), approximations (20余次,
60%以上) and negative statements (未发生行政诉讼 = 0). Every figure keeps its span in
the original text, so whatever the service says can be cited. `stated_numbers` reads, for
the number guard, every number a text states: bare ones too, years and durations, Chinese
decimals and shares (九十八点三, 百分之九十九点九, 三分之二), signs and qualifiers (接近).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from core.normalize import NormalizedText, normalize

# Shares; words that count things (and money); physical measures, which also say what is measured
# (公里 of a length, 吨 of an output), so a question's 多少公里 keeps 公里 among its content words.
SHARES = ["%", "‰", "个百分点"]
COUNT_WORDS = """人次 户次 场次 件次 元 起 件 项 次 名 个 场 处 户 家 天 宗 份 条 篇 类 人 期 批 座 所 套 台 辆 间 栋 本
    册 块 张 部 支 只 头 株 棵""".split()
MEASURES = "吨 公斤 千克 平方米 平方公里 亩 公里 千米 米 小时 分钟".split()
# Longest first so 人次 wins over 人 and 万元 over 元.
UNITS = sorted([*SHARES, *COUNT_WORDS, *MEASURES], key=len, reverse=True)
COUNTERS = [u for u in UNITS if u not in SHARES]
# The scales a figure is written with (26.87万元, 600亿斤, 1.2万亿元) and what they multiply by.
SCALE_FACTORS = {"万": 10_000, "亿": 100_000_000, "万亿": 10**12}
SCALE = "万亿|[万亿]"
_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000}
MAX_CHINESE_VALUE = 10**15  # beyond what any report writes in Chinese numerals, within a float's exact range
_MONEY_HINT = re.compile(r"金额|资金|经费|罚|款|费|投入|预算|收入|支出|元")



def alternation(words: Iterable[str]) -> str:
    """A regex alternative of `words`, escaped, longest first (so 人次 wins over 人, 经济增速 over 经济)."""
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


_UNIT_RE = alternation(UNITS)
_ARABIC = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\s?[.·]\s?\d+(?: \d+(?=\s?%))?)?"
_APPROX_BEFORE = r"(?:约|近|超过|逾|达到|达|共|计|合计|累计|总计|为)?"

# The unit grammar of the figure records: a measure (the table above and the ones below), optionally
# per a measure or a time (万吨/日, 微克/立方米); the scale before it is the figure's 万/亿/万亿. The
# measures below are read by the records alone: in MEASURES they would change the counters a question
# asks in, and so the extractive answers.
RECORD_MEASURES = "千瓦时 千瓦 立方米 标准煤 公顷 斤 微克 毫克 克 标准箱 标箱 度".split()
_PER = "日 天 年 月 小时 人 平方米 立方米 公里 千瓦时".split()
# What a measure is per when the per comes first (每立方米20微克): space, not time or heads, whose
# 每年3次 and 每人20元 say how often or how much each, not the unit of a measure.
_PER_BEFORE = "平方米 立方米 公里 千瓦时".split()
_PER_WORD = "/|每"  # 万吨/日 and 微克每立方米 are one unit, stored with the slash



RECORD_UNIT = rf"(?:{alternation([*UNITS, *RECORD_MEASURES])})(?:(?:{_PER_WORD})(?:{alternation(_PER)}))?"


def _figure_pattern(unit_re: str, mult_re: str, per_before: str = "") -> re.Pattern[str]:
    return re.compile(
        (rf"(?:每\s?(?P<per>{per_before})\s?)?" if per_before else "")
        + rf"(?P<num>{_ARABIC})(?:\s*(?:到|至|-|~)\s*(?P<num2>{_ARABIC}))?"
        rf"\s?(?P<approx>余|多)?\s?(?P<mult>{mult_re})?\s?(?P<approx2>余|多)?\s?(?P<unit>{unit_re})?"
        rf"(?P<tail>以上|以下|左右|余)?"
    )


_FIGURE = _figure_pattern(_UNIT_RE, "[万亿]")
_RECORD_FIGURE = _figure_pattern(RECORD_UNIT, SCALE, alternation(_PER_BEFORE))
_CN_NUM = "零〇一二两三四五六七八九十百千"
_CN_FIGURE = re.compile(
    rf"(?<![第{_CN_NUM}])(?P<num>[{_CN_NUM}]+)(?P<approx>余|多)?(?P<mult>[万亿])?"
    rf"(?P<unit>{alternation(COUNTERS)})"
)
# The counters of a rank or an ordinal (居全国第3位, 第十五届, 第一季度, 第二批): each is a figure of the records
# of its own kind, and its number is no count (第4次 is not four times).
ORDINAL_UNITS = "位 名 届 次 批 季度 轮 期".split()
_ORDINAL = re.compile(rf"第\s?(?P<num>\d{{1,3}}|[{_CN_NUM}]{{1,4}})\s?(?P<unit>{alternation(ORDINAL_UNITS)})")
_NAME_OPENERS = "\"'《「『"  # what opens a quoted name (normalised quotes): a numeral right after it names
_NEGATIVE = re.compile(r"(?:未发生|未出现|未收到|未受理|没有发生|无一)(?P<what>[^,,。;;]{1,30})")
_CLAUSE_BREAK = re.compile(r"[,。;:!?、\n]|\s{2,}")  # a bracket (乡镇(街道)调委会) stays in its clause
_FILLER = re.compile(r"^(?:\(\s*[一二三四五六七八九十\d]{1,3}\s*\)"  # an item's number: (二), (3)
                     r"|其中|共计|共|累计|合计|总计|全年|年内|今年|全市|全区|现|已|均|分别|达到|达|为|约|有|是|的|了)+")
_FILLER_END = re.compile(r"(?:共计|共|累计|合计|总计|达到|达|为|约|有|是|超过|近|逾|计|的)+$")


@dataclass(frozen=True)
class Figure:
    """One number with its unit, where it stands, and what it measures."""

    value: float
    unit: str  # as written after the number (万 folded into value; 万元 -> 元)
    raw: str  # the exact original text of the figure
    char_start: int
    char_end: int
    metric: str  # the words before it in its clause (or its table row/column labels)
    after: str = ""  # the words after it in its clause (全镇共有86个人民调解委员会)
    value_max: float | None = None  # upper end of a range
    approx: str | None = None  # 余 / 多 / 以上 / 以下 / 左右
    negative: bool = False  # a "未发生…" statement read as zero
    ordinal: bool = False  # a rank or an ordinal (第3位, 第十五届): its number says which, not how many

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def parse_arabic(raw: str) -> float:
    """'1,234' -> 1234, '99·5 9' -> 99.59, '98.3' -> 98.3."""
    return float(re.sub(r"[,\s]", "", raw).replace("·", "."))


def parse_chinese_number(raw: str) -> int | None:
    """二十六 -> 26, 两 -> 2, 一百零五 -> 105, 三千 -> 3000; None if it is not a number."""
    total, current = 0, None
    for ch in raw:
        if ch in _CN_DIGITS:
            current = _CN_DIGITS[ch] if current is None else current * 10 + _CN_DIGITS[ch]
        elif ch in _CN_UNITS:
            total += (1 if current is None else current) * _CN_UNITS[ch]
            current = None
        else:
            return None
    return total + (current or 0)


def _fold_unit(unit: str, mult: str | None, metric: str) -> tuple[str, int]:
    """The unit and the 万/亿 factor; a bare 万 on an amount of money means 元."""
    factor = SCALE_FACTORS[mult] if mult else 1
    if not unit and mult and _MONEY_HINT.search(metric):
        unit = "元"
    return unit, factor


def clause_before(norm: str, pos: int) -> tuple[int, str]:
    """Start and text of the clause that ends at `pos` (the metric words of a figure)."""
    start = pos
    while start > 0 and not _CLAUSE_BREAK.match(norm, start - 1):
        start -= 1
    return start, norm[start:pos]


def _metric(norm: str, pos: int) -> str:
    start, words = clause_before(norm, pos)
    words = _FILLER_END.sub("", _FILLER.sub("", words.strip())).strip()
    if len(words) < 2 and start > 1:
        # "…行政检查,共计181项": the clause says nothing; the one before it does, after its own figure
        # if it has one (调解纠纷20件(含线上调解);15件…: 含线上调解), else the words that figure measures:
        # the same measure restated (总里程突破800公里、达812公里).
        _, prev = clause_before(norm, start - 1)
        own = [m for m in _RECORD_FIGURE.finditer(prev) if m.group("unit") or m.group("mult")]
        if own:
            after = prev[own[-1].end():].strip().strip("()")
            prev = after if len(after) >= 2 else _FILLER_END.sub("", prev[: own[-1].start()].strip())
        words = (_FILLER.sub("", prev.strip()) + words).strip()
    return words


def clause_after(norm: str, pos: int) -> str:
    """Words after a figure up to the clause end or the next number (14个镇街和21个区级部门)."""
    end = pos
    while end < len(norm) and end - pos < 20 and not _CLAUSE_BREAK.match(norm, end) and not norm[end].isdigit():
        end += 1
    return norm[pos:end].strip()


def extract_figures(text: str, norm: NormalizedText | None = None, start: int = 0, end: int | None = None,
                    *, unit_grammar: bool = False) -> list[Figure]:
    """All figures in the original range text[start:end], in order, with original spans.

    `unit_grammar` reads units by the records' grammar (万亿元, 亿斤, 万吨/日) instead of the unit table
    the answerer was tuned on, whose answers stay as they are.
    """
    norm = norm or normalize(text)
    end = len(text) if end is None else end
    n_start = norm.from_original(start)
    n_end = norm.from_original(end)
    ntext = norm.text
    figures: list[Figure] = []
    taken: list[tuple[int, int]] = []
    if unit_grammar:
        for m in _ORDINAL.finditer(ntext, n_start, n_end):
            value = int(m.group("num")) if m.group("num").isdigit() else parse_chinese_number(m.group("num"))
            if value:  # 第十百 is no numeral
                figures.append(_ordinal_figure(text, norm, m, value))
    for m in (_RECORD_FIGURE if unit_grammar else _FIGURE).finditer(ntext, n_start, n_end):
        if not (m.group("unit") or m.group("mult")):
            continue  # a number without a unit is a year, a date, a hotline or a code
        if m.start("num") > 0 and (ntext[m.start("num") - 1].isdigit() or ntext[m.start("num") - 1] in ".·"):
            continue
        if ntext[max(0, m.start("num") - 2) : m.start("num")].rstrip().endswith("第"):
            continue  # an ordinal (第4次), as a Chinese numeral after 第 is
        figure = _arabic_figure(text, norm, m)
        if not (math.isfinite(figure.value) and math.isfinite(figure.value_max or 0.0)):
            continue  # hundreds of digits: a float cannot hold it, and the API could not send it as JSON
        figures.append(figure)
        taken.append((m.start(), m.end()))
    for m in _CN_FIGURE.finditer(ntext, n_start, n_end):
        value = parse_chinese_number(m.group("num"))
        if value is None or value == 0 or len(m.group("num")) == 1 and value >= 10:
            continue  # 千家万户, 百姓: a lone 十/百/千 is a word, not a number
        if value > MAX_CHINESE_VALUE:
            continue  # a run of numerals no report writes as one figure (nor a float holds)
        if any(s <= m.start() < e for s, e in taken):
            continue
        if m.start() > 0 and ntext[m.start() - 1] in _NAME_OPENERS:
            continue  # "十二个坚持", "两个确立": a slogan's name, not a count
        figures.append(_chinese_figure(text, norm, m, value))
    for m in _NEGATIVE.finditer(ntext, n_start, n_end):
        end = m.start() + len(m.group(0).rstrip())  # the statement, not the space before its full stop
        o_start, o_end = norm.to_original(m.start(), end)
        figures.append(
            Figure(0.0, "", text[o_start:o_end], o_start, o_end, m.group("what").strip(),
                   clause_after(norm.text, end), negative=True)
        )
    figures.sort(key=lambda f: f.char_start)
    return figures


def _arabic_figure(text: str, norm: NormalizedText, m: re.Match[str]) -> Figure:
    unit, start = _record_unit(m)
    metric = _metric(norm.text, start)
    unit, factor = _fold_unit(unit, m.group("mult"), metric)
    value = parse_arabic(m.group("num")) * factor
    value_max = parse_arabic(m.group("num2")) * factor if m.group("num2") else None
    approx = m.group("approx") or m.group("approx2") or m.group("tail")
    raw_end = m.end()
    while raw_end > start and norm.text[raw_end - 1].isspace():
        raw_end -= 1
    o_start, o_end = norm.to_original(start, raw_end)
    return Figure(_clean(value), unit, text[o_start:o_end], o_start, o_end, metric, clause_after(norm.text, m.end()),
                  _clean(value_max) if value_max is not None else None, approx)


def stored_unit(written: str) -> str:
    """A unit of the record grammar as the index stores it: 微克每立方米 -> 微克/立方米, spaces dropped."""
    return re.sub(_PER_WORD, "/", written.replace(" ", ""))


def _record_unit(m: re.Match[str]) -> tuple[str, int]:
    """The unit as stored (微克每立方米 and 每立方米…微克 are 微克/立方米) and where the figure starts: at
    its 每 when a measure is per what comes first, else at its number."""
    unit = stored_unit(m.group("unit") or "")
    per = m.groupdict().get("per")
    if per and unit and "/" not in unit and unit not in COUNT_WORDS and unit not in SHARES:
        return f"{unit}/{per}", m.start()
    return unit, m.start("num")


def _chinese_figure(text: str, norm: NormalizedText, m: re.Match[str], value: int) -> Figure:
    metric = _metric(norm.text, m.start())
    unit, factor = _fold_unit(m.group("unit"), m.group("mult"), metric)
    o_start, o_end = norm.to_original(m.start(), m.end())
    return Figure(float(value * factor), unit, text[o_start:o_end], o_start, o_end, metric,
                  clause_after(norm.text, m.end()), None, m.group("approx"))


def _ordinal_figure(text: str, norm: NormalizedText, m: re.Match[str], value: int) -> Figure:
    o_start, o_end = norm.to_original(m.start(), m.end())
    return Figure(float(value), m.group("unit"), text[o_start:o_end], o_start, o_end, _metric(norm.text, m.start()),
                  clause_after(norm.text, m.end()), ordinal=True)


def _clean(value: float) -> float:
    return round(value, 6)


# What the number guard reads besides the figures above: a year or a duration is a number an
# answer can get wrong too (连续987年), so 年/月/日 count as units here (not for extract_figures,
# where 2019年 is a date, not a figure).
_STATED_UNITS = sorted(UNITS + ["年", "个月", "月", "日", "周", "岁", "倍"], key=len, reverse=True)
_CN_ALL = _CN_NUM + "万亿"
_CN_DIGIT = "零〇一二三四五六七八九"
_CN_RUN = rf"[{_CN_ALL}]+(?:点[{_CN_DIGIT}]+)?"
_CN_SECTION = ("(?:[一二两三四五六七八九]?千)?(?:[零〇]?[一二两三四五六七八九]?百)?"
               "(?:[零〇]?[一二两三四五六七八九]?十)?(?:[零〇]?[一二两三四五六七八九])?")
_CN_WELL_FORMED = re.compile(
    rf"(?:(?P<yi>{_CN_SECTION})亿)?(?:(?P<wan>{_CN_SECTION})万)?(?P<rest>{_CN_SECTION})(?:点(?P<frac>[{_CN_DIGIT}]+))?"
)
_CN_YEAR = re.compile(rf"[{_CN_DIGIT}]{{4}}")  # 二〇一九(年)
_STATED = re.compile(
    rf"(?P<before>大约|大概|约|接近|将近|超过|逾|不到|不足)?(?P<sign>[-负])?\s?"
    rf"(?:(?P<den>[{_CN_ALL}]+)分之(?P<part>{_ARABIC}|{_CN_RUN})"
    rf"|(?P<num>{_ARABIC})(?:\s*(?:到|至|-|~)\s*(?P<num2>{_ARABIC}))?"
    rf"|(?P<cn>{_CN_RUN}))"
    rf"\s?(?P<approx>余|多)?\s?(?P<mult>[万亿])?\s?(?P<approx2>余|多)?\s?"
    rf"(?P<unit>{'|'.join(re.escape(u) for u in _STATED_UNITS)})?(?P<tail>以上|以下|左右|余|多)?"
)
_SHARE_UNITS = {100: "%", 1000: "‰"}


@dataclass(frozen=True)
class Stated:
    """A number as a sentence states it, for the number guard: the signed value (万/亿 folded in),
    its unit ('' when bare; % for 百分之, ‰ for 千分之, 分之 for other fractions), its qualifier."""

    value: float
    unit: str
    raw: str
    qualifier: str | None = None  # 约 / 接近 / 超过 / 余 / 以上 / 左右 …


def chinese_value(raw: str) -> float | None:
    """九十八点三 -> 98.3, 两千 -> 2000, 一万二千 -> 12000; None unless a well-formed numeral
    (十四五, 七八 and 千方百计's 千 are words, not numbers)."""
    m = _CN_WELL_FORMED.fullmatch(raw)
    if not m or not raw or raw[0] in "点万亿" or any(m.group(g) == "" for g in ("yi", "wan") if m.group(g) is not None):
        return None
    value = 0.0
    for group, factor in (("yi", 100_000_000), ("wan", 10_000), ("rest", 1)):
        part = m.group(group)
        if part:
            value += (parse_chinese_number(part) or 0) * factor
    if m.group("frac"):
        value += float("0." + "".join(str(_CN_DIGITS[ch]) for ch in m.group("frac")))
    return _clean(value)


def _stated_value(raw: str, unit: str) -> float | None:
    """An Arabic or Chinese number's value; a lone Chinese numeral only with a counter (三项, not 三农),
    and never 一 + counter, which is an article (一起, 一项) far more often than a count."""
    if raw[0].isdigit():
        return parse_arabic(raw)
    if len(raw) == 1:
        return None if not unit or raw in "一十百千万亿" else chinese_value(raw)
    if unit == "年" and _CN_YEAR.fullmatch(raw):
        return float("".join(str(_CN_DIGITS[ch]) for ch in raw))
    return chinese_value(raw)


def stated_numbers(text: str) -> list[Stated]:
    """Every number `text` states, with or without a unit, in Arabic or Chinese numerals, as shares
    (百分之九十九点九, 三分之二), with its sign (-98.3%) and qualifier (接近百分之百): what the number
    guard compares between an answer and the passages it cites. Ordinals (第三) are not numbers."""
    norm = normalize(text).text
    stated: list[Stated] = []
    for m in _STATED.finditer(norm):
        before = norm[m.start() - 1] if m.start() > 0 else " "
        if before == "第" or not (m.group("before") or m.group("sign")) and (before.isdigit() or before in ".·"):
            continue  # an ordinal, or the rest of a number read already
        unit = m.group("unit") or ""
        if m.group("den"):
            den = chinese_value(m.group("den"))
            part = parse_arabic(m.group("part")) if m.group("part")[0].isdigit() else chinese_value(m.group("part"))
            if not den or part is None:
                continue
            unit = _SHARE_UNITS.get(int(den), "分之")
            values = [part if unit != "分之" else _clean(part / den)]
        else:
            first = _stated_value(m.group("num") or m.group("cn"), unit)
            if first is None:
                continue
            factor = SCALE_FACTORS[m.group("mult")] if m.group("mult") else 1
            values = [_clean(first * factor)]
            if m.group("num2"):
                values.append(_clean(parse_arabic(m.group("num2")) * factor))
        sign = -1.0 if m.group("sign") and not before.isdigit() else 1.0  # 2019-12 is a range, not -12
        qualifier = m.group("before") or m.group("approx") or m.group("approx2") or m.group("tail")
        raw = m.group(0).strip()
        stated += [Stated(sign * v, unit, raw, qualifier) for v in values if math.isfinite(v)]
    return stated
