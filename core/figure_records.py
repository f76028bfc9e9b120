"""Figures as records of the index: each figure of a chunk with what its context says about it.

`core.figures` reads a number, its unit and its metric words; a record adds what a question about a
figure needs and the sentence around it tells: the value in base units (600亿斤 -> 6e10 斤), its sign
(下降2.7% -> -2.7), the period it refers to (2024年, 截至 a day, 去年 resolved against the report's
year), its kind (actual, target, change, share, rank) and its section path. Table cells take their row and
column labels as their metric. Ingest builds the records once, so the writer only stores them, with
the vector of each record's short description (`describe`).
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass
from typing import Any

from core.figures import COUNT_WORDS, SCALE, SCALE_FACTORS, SHARES, Figure, clause_before, extract_figures
from core.models import Chunk
from core.normalize import NormalizedText, normalize
from core.vocabulary import (
    BOOK_TITLE,
    CHANGE_WORDS,
    FALLING,
    PERIOD,
    RELATIVE_YEARS,
    SECTION_OPENING_YEAR,
    TARGET_LEAD,
    TARGET_WORDS,
    month_span,
)

KINDS = ("actual", "target", "change", "share", "rank")
KIND_WORDS = {"actual": "实际", "target": "目标", "change": "增长变化", "share": "比例", "rank": "排名第几"}
# A description's metric and heading are cut to these lengths: the metric words nearest the figure
# say what it measures, and the heading's first words its topic. On bench/ingest.py's 50 synthetic
# reports (1902 figures beside 799 chunks, 2 shared cores) descriptions with the whole heading and
# spaces between the parts (24 tokens) added 86% to the ingest time; written as here (19 tokens),
# 24% and 31% in two runs against main's code.
DESCRIPTION_METRIC_CHARS = 40
DESCRIPTION_HEADING_CHARS = 12
# A heading's number (一、 (二) 3. 第四章) and its words after the first comma are left out.
_HEADING_NUMBER = re.compile(r"^\s*(?:第\s*[一二三四五六七八九十百\d]+\s*[章编条]|[(（]\s*[一二三四五六七八九十百\d]+\s*[)）]"
                             r"|[一二三四五六七八九十百\d]+\s*(?:、|\.(?!\d)))\s*")
_CLAUSE_END = re.compile(r"[,，、;；:：。]")
# What a chunk is told of the paragraph it opens inside of: the words that lead the paragraph's targets
# when they came before the chunk, else its last characters, where such words may begin (longer than
# any TARGET_LEAD match). Bounded, so a report with no line breaks costs what one with them does.
_PARAGRAPH_TAIL = 16
_SCALE = re.compile(SCALE)
_CELL_NUMBER = re.compile(r"\s*(-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?)\s*(%?)\s*")
_LABEL_UNIT = re.compile(r"[(（]\s*(?:单位[:：]\s*)?(?P<scale>" + SCALE + r")?(?P<unit>[^()（）]{1,8}?)\s*[)）]")


@dataclass(frozen=True)
class FigureRecord:
    """One figure of a report as the index stores it; spans index the report's original text."""

    doc_id: str
    chunk_id: str
    char_start: int
    char_end: int
    raw: str  # the figure as written
    value: float  # the number as written, scale not folded (600 of 600亿斤)
    unit: str  # the base unit (斤; '' for none)
    scale_unit: str  # the unit as written with its scale (亿斤)
    base_value: float  # signed value in base units (6e10; -2.7 for 下降2.7%)
    base_value_max: float | None  # the upper end of a range, in base units
    qualifier: str | None  # 余 / 多 / 以上 / 以下 / 左右 / 约
    sign: int  # -1 when a 下降/减少/回落 makes it a fall
    metric: str  # the clause words it measures, or a table cell's row and column labels
    period: str | None  # 2024, 2024-09, 2024-01/2024-06 (1-6月) or 2024-12-31
    period_basis: str  # stated (its sentence), context (earlier in its chunk), section (its headings), report, none
    kind: str  # one of KINDS
    section_path: list[str]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def describe(record: FigureRecord) -> str:
    """A short text of what a figure measures, embedded at ingest as a passage with the chunks' model:
    its metric words (the clause's end, next to the figure, or a cell's labels), its unit as written
    (亿斤) and its period (2024年) unless the metric words say them, its kind (目标), and the first
    words of the last heading of its section: 粮食产量稳定在亿斤2025年目标 2025年主要预期目标.

    A question asks for a figure in words like these, not in the words of its whole chunk, whose
    vector is shared by every figure in it. The parts are written together, without spaces (each a
    token), so the descriptions, about 2.4 per chunk, cost about a quarter of the chunks' embedding."""
    metric = record.metric.strip()[-DESCRIPTION_METRIC_CHARS:]
    said = "".join(p for p in (record.scale_unit, _period_words(record.period)) if p not in metric)
    return f"{metric}{said}{KIND_WORDS[record.kind]} {_heading_words(record.section_path)}".rstrip()


def _heading_words(section_path: list[str]) -> str:
    """The first words of the last heading, its number left out: 一、2024年工作回顾 -> 2024年工作回顾."""
    words = _HEADING_NUMBER.sub("", section_path[-1], count=1) if section_path else ""
    return _CLAUSE_END.split(words, maxsplit=1)[0][:DESCRIPTION_HEADING_CHARS].strip()


def _period_words(period: str | None) -> str:
    """2024 -> 2024年, 2024-09 -> 2024年9月, 2024-01/2024-06 -> 2024年1-6月, 2024-12-31 -> 2024年12月31日."""
    if period is None:
        return ""
    months = period_months(period)
    if "/" in period and months is not None:
        return f"{period[:4]}年{months[0]}-{months[1]}月"
    return "".join(f"{int(part)}{word}" for part, word in zip(period.split("-"), "年月日", strict=False))


def report_figure_records(chunks: list[Chunk], report_year: int | None,
                          written_year: int | None = None) -> list[list[FigureRecord]]:
    """The records of a report's chunks, one list per chunk: a figure that two overlapping windows
    share is kept in the first, and a table cut into several chunks labels its cells by its first row.
    `written_year` is the year the report was issued (its 发布日期), when known: see `_default_period`.
    A section's year is the one its headings state, else the one its first sentence opens with (2024年是…),
    else its parent section's."""
    seen: set[tuple[int, int]] = set()
    out: list[list[FigureRecord]] = []
    header: list[str] | None = None
    previous: Chunk | None = None
    opening: dict[tuple[str, ...], str | None] = {}
    before_chunk = ""  # what the chunk's paragraph says before it (see _PARAGRAPH_TAIL)
    for chunk in chunks:
        continues = (previous is not None and previous.kind == chunk.kind == "table"
                     and chunk.char_start == previous.char_end + 1)
        if chunk.kind == "table" and not continues:
            first = chunk.sentences[0]
            header = _labels(chunk.text, first[0] - chunk.char_start, first[1] - chunk.char_start)
        path = tuple(chunk.section_path)
        if path not in opening:
            opening[path] = _opening_year(chunk) or next(
                (opening[path[:n]] for n in range(len(path) - 1, 0, -1) if opening.get(path[:n])), None)
        before_chunk = _paragraph_before(previous, before_chunk, chunk)
        records = chunk_figure_records(chunk, report_year, header if continues else None, written_year, opening[path],
                                       before_chunk)
        out.append([r for r in records if (r.char_start, r.char_end) not in seen])
        seen.update((r.char_start, r.char_end) for r in records)
        previous = chunk
    return out


def _paragraph_before(previous: Chunk | None, previous_before: str, chunk: Chunk) -> str:
    """What the paragraph `chunk` opens inside of says before it, from the window before (`previous`, whose
    own paragraph said `previous_before` before it): "" when the chunk opens a paragraph or follows no window."""
    if previous is None or not previous.char_start <= chunk.char_start <= previous.char_end:
        return ""
    part = previous.text[: chunk.char_start - previous.char_start]
    line_start = part.rfind("\n") + 1
    paragraph = (previous_before if line_start == 0 else "") + part[line_start:]
    lead = TARGET_LEAD.search(paragraph)
    return lead.group(0) if lead else paragraph[-_PARAGRAPH_TAIL:]


def chunk_figure_records(chunk: Chunk, report_year: int | None, header: list[str] | None = None,
                         written_year: int | None = None, section_year: str | None = None,
                         paragraph_before: str = "") -> list[FigureRecord]:
    """The records of every figure in `chunk`; a table chunk reads its rows cell by cell, labelled by
    the first cell of the row and the `header` cell of the column (the table's first row).
    `section_year` is the year its section opens with, when it does (see `report_figure_records`);
    `paragraph_before` is what the paragraph the chunk opens inside of says before it (`_paragraph_before`):
    a window that cuts a list of targets (主要预期目标是：…；…) keeps them targets."""
    if chunk.kind == "table":
        return _table_records(chunk, report_year, header, written_year, section_year)
    norm = normalize(chunk.text)
    records: list[FigureRecord] = []
    context: str | None = None
    for s_start, s_end in chunk.sentences:
        start, end = s_start - chunk.char_start, s_end - chunk.char_start
        for fig in extract_figures(chunk.text, norm, start, end, unit_grammar=True):
            period = _period(chunk.text[start : fig.char_start], report_year, context[:4] if context else None)
            basis = "stated"
            if period is None:
                period, basis = ((context, "context") if context
                                 else _default_period(chunk, report_year, written_year, section_year))
            else:
                context = period
            line_start = chunk.text.rfind("\n", 0, fig.char_start) + 1
            paragraph = (paragraph_before if line_start == 0 else "") + chunk.text[line_start : fig.char_start]
            before = paragraph if TARGET_LEAD.search(paragraph) else chunk.text[start : fig.char_start]
            records.append(_record(chunk, fig, _scale_of(fig), norm, _measured(fig), (period, basis), before))
    return records


def _measured(fig: Figure) -> str:
    """A figure's metric words: the words before it, and after a counter the thing it counts
    (新建两个调解中心: 新建调解中心; 全镇共有86个人民调解委员会). An amount of money is followed by
    what it pays for (安排2.5亿元用于稳岗), not by what it measures. An ordinal is followed by what it
    ranks (第十五届政务公开日)."""
    if (fig.ordinal or fig.unit in COUNT_WORDS and fig.unit != "元") and len(fig.after) >= 2:
        return f"{fig.metric}{fig.after}"
    return fig.metric


def _record(chunk: Chunk, fig: Figure, scale: str, norm: NormalizedText, metric: str,
            period: tuple[str | None, str], before: str) -> FigureRecord:
    factor = SCALE_FACTORS.get(scale, 1)
    clause = clause_before(norm.text, norm.from_original(fig.char_start))[1]
    sign = -1 if FALLING.search(clause) else 1
    return FigureRecord(
        doc_id=chunk.doc_id,
        chunk_id=chunk.chunk_id,
        char_start=chunk.char_start + fig.char_start,
        char_end=chunk.char_start + fig.char_end,
        raw=fig.raw,
        value=round(fig.value / factor, 6),
        unit=fig.unit,
        scale_unit=scale + fig.unit,
        base_value=sign * fig.value,
        base_value_max=sign * fig.value_max if fig.value_max is not None else None,
        qualifier=fig.approx or ("约" if re.search(r"约\s*$", clause) else None),
        sign=sign,
        metric=metric,
        period=period[0],
        period_basis=period[1],
        kind="rank" if fig.ordinal else _kind(fig.unit, clause, before),
        section_path=chunk.section_path,
    )


def _kind(unit: str, clause: str, before: str) -> str:
    """target when its sentence sets one (预期目标, 力争) or its paragraph is led by the targets
    (主要预期目标是：…；…), change when its clause says how much a thing
    grew or fell, share for a rate, actual otherwise."""
    if TARGET_WORDS.search(before):
        return "target"
    if unit == "个百分点" or CHANGE_WORDS.search(clause):
        return "change"
    return "share" if unit in SHARES else "actual"


def _period(before: str, report_year: int | None, year: str | None = None) -> str | None:
    """The last period stated before a figure in its sentence, leaving out comparison bases (比2020年)
    and the years of the titles it quotes (公布了《2018年工作报告》等20项: 2019's figure).
    A month alone (6月份) is of the last year stated before it, else of `year` (the chunk's), else of
    the report's."""
    found = None
    for m in PERIOD.finditer(BOOK_TITLE.sub(" ", before)):
        if m.group("base"):
            continue
        if m.group("dy"):
            found = f"{m.group('dy')}-{int(m.group('dm')):02d}-{int(m.group('dd')):02d}"
        elif m.group("my"):
            found = _months(m.group("my"), m.group("ms"), m.group("mm")) or m.group("my")
        elif m.group("y"):
            found = m.group("y")
        elif m.group("m"):
            of = found[:4] if found else year or (str(report_year) if report_year is not None else None)
            found = (_months(of, m.group("s"), m.group("m")) if of is not None else None) or found
        elif report_year is not None:
            found = str(report_year + RELATIVE_YEARS[m.group("rel")])
    return found


def _months(year: str, first: str | None, last: str) -> str | None:
    """A month (2022-06) or a span of months (1-6月: the ISO 8601 interval 2022-01/2022-06) of `year`;
    None when they are no months of a year."""
    span = month_span(first, last)
    if span is None:
        return None
    start, end = span
    return f"{year}-{end:02d}" if start == end else f"{year}-{start:02d}/{year}-{end:02d}"


def period_months(period: str | None) -> tuple[int, int] | None:
    """The first and last month of a period (2022-06: (6, 6); 2022-01/2022-06: (1, 6); 截至2020-11-30:
    (11, 11)); None when it is a year."""
    if not period or len(period) < 7:
        return None
    return int(period[5:7]), int(period.split("/")[-1][5:7])


def _opening_year(chunk: Chunk) -> str | None:
    """The year the first sentence of `chunk` after its headings opens with (2024年是…), if any."""
    headings = {h.strip() for h in chunk.section_path}
    for start, end in chunk.sentences:
        sentence = chunk.text[start - chunk.char_start : end - chunk.char_start].strip()
        if sentence and sentence not in headings:
            m = SECTION_OPENING_YEAR.match(sentence)
            return m.group(1) if m else None
    return None


def _default_period(chunk: Chunk, report_year: int | None, written_year: int | None,
                    section_year: str | None = None) -> tuple[str | None, str]:
    """The period of a figure whose sentence states none: the one its section headings state
    (一、2024年工作回顾 in a 2025 work report), else the year its section opens with (2024年是…),
    else the report's year.
    A heading's relative year is counted from the day the report was issued, as the national outline of
    a yearly report words its parts (一、上一年度…主要举措和成效): in a 2025年度 report issued in January
    2026, 上一年度 is 2025. Its sentences keep to the report's year, as they are written while the year
    runs (a 2023年度 report issued in January 2024: 今年组织…审查13次 is 2023)."""
    section = _period(" ".join(chunk.section_path), written_year if written_year is not None else report_year)
    if section is not None:
        return section, "section"
    if section_year is not None:
        return section_year, "section"
    return (str(report_year), "report") if report_year is not None else (None, "none")


def _cells(line: str, offset: int) -> list[tuple[int, int]]:
    """Spans (from `offset`) of the cells of a ' | ' row, leading and trailing pipes dropped."""
    spans, pos = [], 0
    for part in line.split("|"):
        spans.append((offset + pos, offset + pos + len(part)))
        pos += len(part) + 1
    if line.strip().startswith("|"):
        spans = spans[1:]
    if line.strip().endswith("|"):
        spans = spans[:-1]
    return spans


def _labels(text: str, start: int, end: int) -> list[str]:
    return [text[s:e].strip() for s, e in _cells(text[start:end], start)]


def _table_records(chunk: Chunk, report_year: int | None, header: list[str] | None,
                   written_year: int | None, section_year: str | None) -> list[FigureRecord]:
    text = chunk.text
    norm = normalize(text)
    records: list[FigureRecord] = []
    for r_start, r_end in chunk.sentences:
        start, end = r_start - chunk.char_start, r_end - chunk.char_start
        cells = _cells(text[start:end], start)
        labels = _labels(text, start, end)
        if header is None:
            header = labels
            continue  # the header row labels the others
        row = labels[0] if labels else ""
        for col, (c_start, c_end) in enumerate(cells[1:], start=1):
            column = header[col] if col < len(header) else ""
            metric = " ".join(p for p in (row, column) if p)
            stated = _period(column, report_year) or _period(row, report_year)
            period = (stated, "stated") if stated else _default_period(chunk, report_year, written_year, section_year)
            for fig, scale in _cell_figures(text, norm, c_start, c_end, f"{column} {row}"):
                records.append(_record(chunk, fig, scale, norm, metric, period, f"{row} {column}"))
    return records


def _cell_figures(text: str, norm: NormalizedText, start: int, end: int, labels: str) -> list[tuple[Figure, str]]:
    """A cell's figures and their scales; a bare number takes its unit and scale from its labels'
    brackets (（亿元）) when they give one."""
    figures = [(f, _scale_of(f)) for f in extract_figures(text, norm, start, end, unit_grammar=True)]
    bare = _CELL_NUMBER.fullmatch(text, start, end)
    if figures or not bare:
        return figures
    unit_match = _LABEL_UNIT.search(labels)
    scale = (unit_match.group("scale") or "") if unit_match else ""
    unit = bare.group(2) or (unit_match.group("unit").strip() if unit_match else "")
    raw_end = bare.end(2) if bare.group(2) else bare.end(1)
    value = float(bare.group(1).replace(",", "")) * SCALE_FACTORS.get(scale, 1)
    if not math.isfinite(value):
        return []  # hundreds of digits: no float holds it (nor JSON)
    return [(Figure(round(value, 6), unit, text[bare.start(1) : raw_end], bare.start(1), raw_end, ""), scale)]


def _scale_of(fig: Figure) -> str:
    """The 万/亿/万亿 a figure was written with ('' for none)."""
    m = _SCALE.search(fig.raw) if not fig.negative else None
    return m.group(0) if m else ""
