"""The words of a question and of a report as evidence: character bigrams, robust to segmentation,
and the content words of a question (what it asks about, without its years, places and question words)."""

from __future__ import annotations

import re

from core.figures import alternation
from core.normalize import normalize_str
from core.vocabulary import ASKED_COUNT_WORDS, ASKED_MAGNITUDE, DATE, REPORT_NAMED, YEAR

from .question import Question

_QUESTION_WORDS = re.compile(
    r"(?:多少|几)\s*(?:" + alternation(ASKED_COUNT_WORDS) + ")?"
    rf"|{ASKED_MAGNITUDE}|是什么|是多少|有哪些|哪些|什么|请问|一共|共计|总共|分别|达到了|达到|了|吗|呢|是|的|有|为|\?|？"
)
_RUNS = re.compile(r"[\u4e00-\u9fff]+|[a-z0-9.]+")
# What a question leaves out of what it asks ((不含基本满意), 不包括退休人员): its words are no evidence.
_EXCLUDED = re.compile(r"\((?:不含|不包括|不计|除)[^)]*\)|(?:不含|不包括)[^,;。?)]{1,12}(?=[,;])")


def bigrams(text: str) -> set[str]:
    """Character bigrams of the CJK and alphanumeric runs of `text` (robust to segmentation)."""
    grams: set[str] = set()
    for run in _RUNS.findall(normalize_str(text).lower()):
        if run.isascii() or len(run) == 1:
            grams.add(run)  # a number or a word is one unit of evidence, not several bigrams
        else:
            grams.update(map(str.__add__, run, run[1:]))  # each character joined to the next
    return grams


def question_core(question: Question) -> set[str]:
    """The question's content bigrams: without years, the places it names, the report it names (2026年政府
    工作报告中: which report, not what is asked of it), what it leaves out and question words, with the
    printed names of the terms it calls otherwise (经济总量 also reads 地区生产总值, 官司 诉讼)."""
    q = " ".join([question.normalized, *sorted(question.printed_terms)])
    for name in sorted(question.place_words, key=len, reverse=True):
        q = q.replace(name, " ")
    q = _EXCLUDED.sub(" ", q)
    q = REPORT_NAMED.sub(" ", q)
    q = DATE.sub(" ", q)
    q = YEAR.sub(" ", q)
    q = _QUESTION_WORDS.sub(" ", q)
    # A lone Chinese character left between removed words (年, 日, 共) is noise, not evidence.
    return {g for g in bigrams(q) if len(g) > 1 or g.isascii()}
