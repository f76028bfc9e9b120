"""A question read once: everything the retriever and the answerers need to know about it, parsed at
the top of a request and passed down, so no later stage reads or normalises the raw string again."""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.figures import RECORD_UNIT, SCALE, stored_unit
from core.normalize import normalize_str
from core.vocabulary import (
    ASKED_ACTUAL,
    ASKED_CHANGE,
    ASKED_COUNTER,
    ASKED_FALL,
    ASKED_GAP,
    ASKED_LEVEL,
    ASKED_MAGNITUDE,
    ASKED_RANK,
    ASKED_TARGET,
    FIVE_YEAR_PLAN,
    INCREMENT,
    MONTH,
    PRINTED_ALIAS,
    PRINTED_AS,
    REPORT_NAMED,
    YEAR,
    month_span,
)

from .query import PlaceIndex, place_chains

_RATE = re.compile(r"率|[意晓与成盖]度|比例|百分|占比|权重|同比|环比|增长|上升|下降")
# Words that say the unit outright: a counter or a measure after 多少 (read apart), money itself, a rate.
_UNIT_SAID = re.compile(r"多少钱|金额|罚款|罚金|率|比例|百分|占比")
_RATE_HEAD = re.compile(r"([\u4e00-\u9fff])(率|度)")
_NOT_RATES = {"频率", "效率", "概率"}
_MONEY = re.compile(r"金额|罚款|罚金|罚没|资金|经费|收入|支出|多少钱|多少元|万元")
_FIGURE_CUE = re.compile(rf"多少|几|{ASKED_MAGNITUDE}|率|比例|金额|数量|总数|总额|规模")
# The unit a question asks a figure in, with its scale as written (多少亿元, 几万千瓦, 多少万吨/日).
_ASKED_UNIT = re.compile(rf"(?:多少|几)\s*(?P<unit>(?:{SCALE})?\s*{RECORD_UNIT}|{SCALE})")


@dataclass(frozen=True)
class Question:
    """One question as asked and as read: its years and places only boost, never exclude;
    its unit and rates decide which figures may answer it."""

    text: str  # as asked: what the embedder, the tokenizer, the model and the answer see
    normalized: str
    years: frozenset[int]
    report_years: frozenset[int]  # years that name the report asked ("2026年政府工作报告")
    period_years: frozenset[int]  # the years the figure is asked of: the others and a five-year plan's (十四五:
    #                               2021-2025), or all when only the report's is named
    months: frozenset[tuple[int, int]]  # the months asked: (6, 6) for 6月, (1, 6) for the span 1-6月
    place_docs: dict[str, int]  # doc_id -> length of the matched name; the longest matches only
    unknown_places: tuple[str, ...]  # places named that no indexed report is from
    place_words: frozenset[str]  # names of the places it is about: where, not what, so no evidence
    expected_unit: str | None  # 多少起 -> 起, 成功率 -> %, 金额 -> 元; None when unsaid
    unit_inferred: bool  # the unit is only inferred from the metric's words (收入, 增长), not said
    rate_heads: frozenset[str]  # the rates asked, as bigrams (满意率 -> 意率): another rate is no answer
    asks_for_figure: bool
    asked_unit: str | None  # the unit asked with its scale, as written (多少亿元 -> 亿元)
    asks_target: bool  # a plan (目标, 预期, 打算) rather than what was done
    asks_actual: bool  # what was done (实际, 完成了), not a plan
    asks_change: bool  # how much a thing changed (增长多少, 同比) rather than its level
    asks_fall: bool  # a fall (下降, 减少)
    asks_level: bool  # a level or a total (总量, 规模, 一共), not a change
    asks_increment: bool  # a flow (新增, 新建), not a stock
    asks_gap: bool  # against another's figure (比全国快了多少), not the year before
    asks_rank: bool  # a rank or an ordinal (排第几, 第几届), not a count
    printed_terms: frozenset[str]  # the printed names of the terms it calls otherwise (经济总量: 地区生产总值, 官司: 诉讼)

    @classmethod
    def parse(cls, text: str, places: PlaceIndex) -> Question:
        """Read `text` against the places of the indexed reports.

        A known place named in front of an unknown one (浦东新区唐镇) is not the place asked about: the
        most specific place of each run of names decides, and a run that ends in an unknown one is
        masked before the reports' names are looked up (longest match wins)."""
        q = normalize_str(text)
        chains = place_chains(q)
        known = [chain for chain in chains if places.known(q[slice(*chain[-1])])]
        masked = q
        for chain in chains:
            if chain not in known:
                masked = masked[: chain[0][0]] + " " * (chain[-1][1] - chain[0][0]) + masked[chain[-1][1] :]
        matches = places.mentioned(masked)
        if matches:
            longest = max(matches.values())
            matches = {d: n for d, n in matches.items() if n == longest}
        matched_names = {n for d in matches for n in places.names_by_doc[d]}
        context = {q[slice(*span)] for chain in known for span in chain}
        years = frozenset(int(y) for y in YEAR.findall(q))
        report_years = frozenset(int(y) for y in REPORT_NAMED.findall(q))
        plans = frozenset(year for m in FIVE_YEAR_PLAN.finditer(q) for year in _plan_years(m.group(1), bool(m.group(2))))
        return cls(
            text=text,
            normalized=q,
            years=years,
            report_years=report_years,
            period_years=(years - report_years) | plans or years,
            months=frozenset(span for m in MONTH.finditer(q) if (span := month_span(m["first"], m["last"]))),
            place_docs=matches,
            unknown_places=tuple(q[slice(*chain[-1])] for chain in chains if chain not in known),
            place_words=frozenset(matched_names | context),
            expected_unit=_expected_unit(q),
            unit_inferred=not (ASKED_COUNTER.search(q) or _ASKED_UNIT.search(q) or _UNIT_SAID.search(q)),
            rate_heads=_rate_heads(q),
            asks_for_figure=bool(_FIGURE_CUE.search(q)),
            asked_unit=(stored_unit(m.group("unit")) if (m := _ASKED_UNIT.search(q)) else None),
            asks_target=bool(ASKED_TARGET.search(q)),
            asks_actual=bool(ASKED_ACTUAL.search(q)),
            asks_change=bool(ASKED_CHANGE.search(q)),
            asks_fall=bool(ASKED_FALL.search(q)),
            asks_level=bool(ASKED_LEVEL.search(q)),
            asks_increment=bool(INCREMENT.search(q)),
            asks_gap=bool(ASKED_GAP.search(q)),
            asks_rank=bool(ASKED_RANK.search(q)),
            printed_terms=frozenset(PRINTED_AS[m.group(0).lower()] for m in PRINTED_ALIAS.finditer(q)),
        )


def _plan_years(ordinal: str, end: bool) -> range:
    """The years of the five-year plan numbered 十 + `ordinal` (四: the 14th, 2021-2025), or its last."""
    first = 2006 + 5 * ("一二三四五六七八九".index(ordinal))  # the 11th plan began in 2006
    return range(first + 4 if end else first, first + 5)


def _expected_unit(q: str) -> str | None:
    m = ASKED_COUNTER.search(q)
    if m:
        return "元" if m.group(1) == "万元" else m.group(1)
    if _MONEY.search(q):
        return "元"
    return "%" if _RATE.search(q) else None


def _rate_heads(q: str) -> frozenset[str]:
    if not _RATE.search(q):
        return frozenset()
    return frozenset(m.group(0) for m in _RATE_HEAD.finditer(q) if m.group(0) not in _NOT_RATES)
