"""The extractive styles: every sentence is the report's own, cited to its span.

- sections: per top-level section its heading and its most central sentences (TextRank);
- briefing: a headline (the report's most central sentences), key figures, the problems it
  admits (存在的主要问题) and its plans (下一步工作), filled by priority within max_chars.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator
from functools import cached_property
from typing import Any

from .centrality import most_central, textrank
from .citations import CitationBook
from .document import DocumentView, Sentence
from .key_figures import KeyFigure, display_value, key_figures
from .schemas import CitedText, FigureRow, ReportSummary, SectionSummary

PROBLEMS = re.compile(r"问题|不足|短板|差距|薄弱|困难")
PLANS = re.compile(r"下一步|设想|打算|工作计划|工作安排|工作思路|今后|明年|展望|努力方向")
HEADLINE_CHARS = (15, 120)  # a headline sentence is neither a fragment nor a whole page
PER_SECTION = 3
BRIEFING_FIGURES = (4, 8)  # figures taken early, and at most
LISTED = 3  # problems and plans at most
UNIT_WEIGHT = {"%": 1.0, "元": 0.7}  # a rate or an amount says more in a briefing than a count
COUNT_WEIGHT = 0.4
PER_SENTENCE = 2  # figures of one sentence in a briefing at most
_ENDS = "。!?;!?;…"
UNENDED_MIN_CHARS = 40


def report_header(view: DocumentView) -> ReportSummary:
    m = view.record.metadata
    return ReportSummary(doc_id=view.doc_id, title=view.title, issuer=m.issuer, year=m.year,
                         publish_date=m.publish_date)


def figure_row(item: KeyFigure, number: int) -> FigureRow:
    f = item.figure
    return FigureRow(metric=item.metric, value=f.value, value_max=f.value_max, unit=f.unit,
                     raw=display_value(f, item.metric),
                     section=item.section, citation=number)


def _body(sentences: list[Sentence]) -> list[Sentence]:
    """Sentences that say something: not headings, header-table rows or signature lines (an
    office, a date: short and without a full stop)."""
    return [s for s in sentences if not s.is_heading and s.text.count("|") < 2
            and (s.text.rstrip()[-1:] in _ENDS or len(s.text) >= UNENDED_MIN_CHARS)]


class Picker:
    """What the styles pick from one report, ranked once."""

    def __init__(self, view: DocumentView) -> None:
        self.view = view

    @cached_property
    def body(self) -> list[Sentence]:
        return _body(self.view.sentences)

    @cached_property
    def centrality(self) -> dict[int, float]:
        scores = textrank([s.text for s in self.body])
        return {s.start: score for s, score in zip(self.body, scores)}

    def headline(self, k: int = 2) -> list[Sentence]:
        lo, hi = HEADLINE_CHARS
        fit = [s for s in self.body if lo <= len(s.text) <= hi]
        return sorted(fit, key=lambda s: -self.centrality[s.start])[:k]

    def figures(self) -> list[KeyFigure]:
        """Key figures for a briefing: stated (not 未发生), with a metric of a few words, ranked by
        their unit (rates, amounts, then counts) and the centrality of their sentence."""
        usable = [f for f in key_figures(self.view) if not f.figure.negative and len(f.metric) >= 3]
        top = max(self.centrality.values(), default=0.0) or 1.0

        def score(f: KeyFigure) -> float:
            central = self.centrality.get(self.view.sentence_at(f.figure.char_start).start, 0.0) / top
            return central + UNIT_WEIGHT.get(f.figure.unit, COUNT_WEIGHT if f.figure.unit else 0.0)

        ranked, per_sentence = [], Counter()
        for f in sorted(usable, key=lambda f: -score(f)):
            if per_sentence[f.citation.char_start] < PER_SENTENCE:
                per_sentence[f.citation.char_start] += 1
                ranked.append(f)
        return ranked

    def listed(self, pattern: re.Pattern[str], last: bool = False) -> list[Sentence]:
        """The items of the section whose heading matches: its subsection headings, or else its
        most central sentences."""
        nodes = [n for n in _walk(self.view.tree) if pattern.search(n["heading"])]
        if not nodes:
            return []
        node = nodes[-1] if last else nodes[0]
        items = [self.view.sentences_in(c["char_start"], c["char_end"])[:1] for c in node["children"]]
        heads = [s[0] for s in items if s]
        if heads:
            return heads[:LISTED]
        inside = _body(self.view.sentences_in(node["char_start"], node["char_end"]))
        return [inside[i] for i in most_central([s.text for s in inside], LISTED)]


def _walk(nodes: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Sections breadth-first: a top-level 存在的问题 wins over a sub-point that mentions 问题."""
    queue = list(nodes)
    while queue:
        node = queue.pop(0)
        yield node
        queue.extend(node["children"])


def _fill(report: ReportSummary, steps: list[Callable[[ReportSummary], ReportSummary]], render: Callable[[ReportSummary], str],
          max_chars: int) -> ReportSummary:
    """Apply each step whose result still renders within max_chars, in priority order."""
    for step in steps:
        trial = step(report)
        if len(render(trial)) <= max_chars:
            report = trial
    report.text = render(report)
    return report


def _cited(view: DocumentView, book: CitationBook, sentence: Sentence) -> tuple[CitedText, Callable[[], int]]:
    citation = view.cite_sentence(sentence)
    return CitedText(text=sentence.text, citation=book.peek(citation)), lambda: book.number(citation)


def briefing(view: DocumentView, book: CitationBook, max_chars: int, render: Callable[[ReportSummary], str]) -> ReportSummary:
    """Headline, key figures, problems and plans, by priority within max_chars; every item cited."""
    pick = Picker(view)
    headline, figures = pick.headline(), pick.figures()
    early, most = BRIEFING_FIGURES

    def add(field: str, make: Callable[[], Any]) -> Callable[[ReportSummary], ReportSummary]:
        def step(report: ReportSummary) -> ReportSummary:
            item, commit = make()
            trial = report.model_copy(update={field: [*getattr(report, field), item]})
            if len(render(trial)) <= max_chars:
                commit()
            return trial
        return step

    def sentence(s: Sentence) -> Callable[[], Any]:
        return lambda: _cited(view, book, s)

    def figure(f: KeyFigure) -> Callable[[], Any]:
        return lambda: (figure_row(f, book.peek(f.citation)), lambda: book.number(f.citation))

    steps = ([add("headline", sentence(s)) for s in headline[:1]]
             + [add("key_figures", figure(f)) for f in figures[:early]]
             + [add("problems", sentence(s)) for s in pick.listed(PROBLEMS)]
             + [add("plans", sentence(s)) for s in pick.listed(PLANS, last=True)]
             + [add("key_figures", figure(f)) for f in figures[early:most]]
             + [add("headline", sentence(s)) for s in headline[1:]])
    return _fill(report_header(view), steps, render, max_chars)


def sections(view: DocumentView, book: CitationBook, max_chars: int, render: Callable[[ReportSummary], str]) -> ReportSummary:
    """Per top-level section: its heading and up to PER_SECTION central sentences, first ones first,
    within max_chars."""
    report = report_header(view)
    report.sections = [SectionSummary(heading=t.heading, sentences=[]) for t in view.top_sections]
    ranked = []
    for top in view.top_sections:
        inside = _body(view.sentences_in(top.start, top.end))
        scores = textrank([s.text for s in inside])
        order = sorted(range(len(inside)), key=lambda i: (-scores[i], i))
        ranked.append([inside[i] for i in order[:PER_SECTION]])

    def add(i: int, s: Sentence) -> Callable[[ReportSummary], ReportSummary]:
        def step(r: ReportSummary) -> ReportSummary:
            item, commit = _cited(view, book, s)
            trial = r.model_copy(deep=True)
            kept = trial.sections[i].sentences
            kept.append(item)
            kept.sort(key=lambda c: view.text.find(c.text))
            if len(render(trial)) <= max_chars:
                commit()
            return trial
        return step

    steps = [add(i, picked[rank]) for rank in range(PER_SECTION) for i, picked in enumerate(ranked) if rank < len(picked)]
    return _fill(report, steps, render, max_chars)


def figures_table(view: DocumentView, book: CitationBook) -> ReportSummary:
    """Every figure of the report, deduplicated, each cited to its sentence."""
    report = report_header(view)
    report.key_figures = [figure_row(f, book.number(f.citation)) for f in key_figures(view)]
    return report
