"""Scoring one answer against one gold row: figures compared after normalisation.

20 万 = 200000 元, "98.3 %" = 98.3%, 11.34万件 = 113400 件, 未发生 = 0; text answers
match by normalised containment. Every verdict carries a reason, so a report can say
what went wrong (retrieval miss, wrong clause, wrong unit, false refusal…). A wrong figure whose
index record (core/figure_records.py) differs from the gold figure's in period or kind says so
(wrong_period, wrong_kind): those are the misses a question's year or target words should prevent.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from core.figure_records import FigureRecord
from core.normalize import normalize_str
from service.guard import same_number, unsupported_numbers

from .gold import GoldQuestion

_MULTIPLIERS = {"万": 1e4, "亿": 1e8}
_MONEY_WORDS = re.compile(r"金额|资金|罚|款|费|元")


def normalize_figure(value: float, unit: str | None, context: str = "") -> tuple[float, str]:
    """(value, base unit): 万/亿 folded into the value; a bare 万 on an amount of money is 元."""
    unit = (unit or "").strip()
    if unit[:1] in _MULTIPLIERS:
        value, unit = value * _MULTIPLIERS[unit[0]], unit[1:]
        if not unit and _MONEY_WORDS.search(context):
            unit = "元"
    return float(value), unit


def _compact(text: str) -> str:
    return re.sub(r"\s+", "", normalize_str(text))


@dataclass(frozen=True)
class Verdict:
    correct: bool
    reason: str  # ok | false_refusal | false_answer | no_figure | wrong_value | wrong_unit | wrong_period
    #              | wrong_kind | wrong_text | refused


Records = tuple[FigureRecord | None, FigureRecord | None]  # (the answered figure's, the gold figure's)


def score_answer(gold: GoldQuestion, answer: dict[str, Any], records: Records = (None, None)) -> Verdict:
    """Is `answer` (the /ask JSON) right for `gold`? `records` only name why a wrong figure is wrong."""
    found = bool(answer.get("found"))
    if not gold.answerable:
        return Verdict(not found, "refused" if not found else "false_answer")
    if not found:
        return Verdict(False, "false_refusal")
    if gold.value is None:
        said = _compact((answer.get("answer") or "") + (answer.get("text") or ""))
        return Verdict(_compact(gold.answer or "") in said, "ok" if _compact(gold.answer or "") in said else "wrong_text")
    figure = answer.get("figure")
    if not figure:
        return Verdict(False, "no_figure")
    g_value, g_unit = normalize_figure(gold.value, gold.unit, gold.question)
    a_value, a_unit = normalize_figure(figure["value"], figure.get("unit"), gold.question)
    if not same_number(g_value, a_value):
        return Verdict(False, _mismatch(records) or "wrong_value")
    if g_unit != a_unit:
        return Verdict(False, _mismatch(records) or "wrong_unit")
    return Verdict(True, "ok")


def _mismatch(records: Records) -> str | None:
    """wrong_period or wrong_kind when both records are known and differ so, else None."""
    answered, expected = records
    if answered is None or expected is None:
        return None
    if answered.period != expected.period:
        return "wrong_period"
    return "wrong_kind" if answered.kind != expected.kind else None


def answered_record(answer: dict[str, Any], figures: Callable[[str], list[FigureRecord]]) -> FigureRecord | None:
    """The record of the answer's figure: the first cited quote holding its raw text, at that span."""
    raw = (answer.get("figure") or {}).get("raw")
    if not raw:
        return None
    for c in answer.get("citations", []):
        at = (c.get("quote") or "").find(raw)
        if at < 0:
            continue
        span = (c["char_start"] + at, c["char_start"] + at + len(raw))
        found = [r for r in figures(c["doc_id"]) if overlaps((r.char_start, r.char_end), span)]
        if found:
            return found[0]
    return None


def gold_record(gold: GoldQuestion, records: list[FigureRecord], evidence: tuple[int, int]) -> FigureRecord | None:
    """The record of the gold figure: inside the gold evidence, of the gold value (sign aside)."""
    if gold.value is None:
        return None
    value, _ = normalize_figure(gold.value, gold.unit, gold.question)
    for r in records:
        inside = evidence[0] <= r.char_start and r.char_end <= evidence[1]
        if inside and (same_number(abs(r.base_value), abs(value)) or same_number(r.value, gold.value)):
            return r
    return None


def overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def citation_hits(answer: dict[str, Any], doc_id: str | None, evidence: tuple[int, int] | None) -> bool:
    """Whether a citation overlaps the gold evidence in the right document."""
    if doc_id is None or evidence is None:
        return False
    return any(c["doc_id"] == doc_id and overlaps((c["char_start"], c["char_end"]), evidence)
               for c in answer.get("citations", []))


def unsupported_in(answer: dict[str, Any]) -> list[str]:
    """Numbers the answer states that none of its cited quotes (or their titles) contains: must be none."""
    if not answer.get("found"):
        return []
    sources = [c.get("quote") or "" for c in answer.get("citations", [])]
    sources += [c.get("title") or "" for c in answer.get("citations", [])]
    return unsupported_numbers(f"{answer.get('answer') or ''}\n{answer.get('text') or ''}", sources)
