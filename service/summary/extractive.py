"""The extractive styles: every sentence is the report's own, cited to its span.

- sections: per top-level section its heading and its most central sentences (TextRank);
- briefing: a headline (the report's most central sentences), key figures, the problems it
  admits (存在的主要问题) and its plans (下一步工作), filled by priority within max_chars.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from ..schemas import Citation
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


def body_sentences(sentences: list[Sentence]) -> list[Sentence]:
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
        return body_sentences(self.view.sentences)

    @cached_property
    def centrality(self) -> dict[int, float]:
        scores = textrank([s.text for s in self.body])
        return {s.start: score for s, score in zip(self.body, scores)}

    def headline(self, k: int = 2) -> list[Sentence]:
        """The most central sentences of what the report did: not of its problems or plans,
        which the briefing lists apart."""
        lo, hi = HEADLINE_CHARS

        def aside(s: Sentence) -> bool:
            return any(PROBLEMS.search(h) or PLANS.search(h) for h in s.section_path[:1])

        fit = [s for s in self.body if lo <= len(s.text) <= hi and not aside(s)]
        return sorted(fit, key=lambda s: -self.centrality[s.start])[:k]

    def figures(self) -> list[KeyFigure]:
        """Key figures for a briefing: stated (not 未发生), with a metric of a few words, ranked by
        their unit (rates, amounts, then counts) and the centrality of their sentence."""
        usable = [f for f in key_figures(self.view) if not f.figure.negative and len(f.metric) >= 3]
        top = max(self.centrality.values(), default=0.0) or 1.0

        def score(f: KeyFigure) -> float:
            central = self.centrality.get(self.view.sentence_at(f.figure.char_start).start, 0.0) / top
            return central + UNIT_WEIGHT.get(f.figure.unit, COUNT_WEIGHT if f.figure.unit else 0.0)

        ranked: list[KeyFigure] = []
        per_sentence: Counter[int] = Counter()
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
        inside = body_sentences(self.view.sentences_in(node["char_start"], node["char_end"]))
        return [inside[i] for i in most_central([s.text for s in inside], LISTED)]


Step = Callable[[ReportSummary], ReportSummary]


def _walk(nodes: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Sections breadth-first: a top-level 存在的问题 wins over a sub-point that mentions 问题."""
    queue = list(nodes)
    while queue:
        node = queue.pop(0)
        yield node
        queue.extend(node["children"])


def _fill(report: ReportSummary, steps: list[Step], render: Callable[[ReportSummary], str], max_chars: int) -> ReportSummary:
    """Apply each step whose result still renders within max_chars, in priority order."""
    for step in steps:
        trial = step(report)
        if len(render(trial)) <= max_chars:
            report = trial
    report.text = render(report)
    return report


@dataclass(frozen=True)
class Quote:
    """A summary sentence and the passage that supports it: the report's own sentence, or an
    LLM's sentence with the report sentence it was checked against."""

    text: str
    citation: Citation

    @classmethod
    def of(cls, view: DocumentView, sentence: Sentence) -> Quote:
        return cls(sentence.text, view.cite_sentence(sentence))


def _adder(book: CitationBook, max_chars: int, render: Callable[[ReportSummary], str]) -> Callable[..., Step]:
    """Steps that append one cited item to a list field; the citation is numbered only if it fits."""

    def add(field: str, item: Quote | KeyFigure, section: int | None = None) -> Step:
        def step(report: ReportSummary) -> ReportSummary:
            number = book.peek(item.citation)
            value = CitedText(text=item.text, citation=number) if isinstance(item, Quote) else figure_row(item, number)
            trial = report.model_copy(deep=True)
            if section is None:
                getattr(trial, field).append(value)
            elif isinstance(value, CitedText):  # sections digest sentences only
                kept = trial.sections[section].sentences
                kept.append(value)
                known = {**{n: c for n, c in enumerate(book.citations, 1)}, number: item.citation}
                kept.sort(key=lambda c: known[c.citation].char_start)  # in the report's order
            if len(render(trial)) <= max_chars:
                book.number(item.citation)
            return trial
        return step

    return add


def briefing(view: DocumentView, book: CitationBook, max_chars: int, render: Callable[[ReportSummary], str],
             lead: list[Quote] | None = None) -> ReportSummary:
    """Headline, key figures, problems and plans, by priority within max_chars; every item cited.
    `lead` (an LLM's checked sentences) replaces the headline and goes first."""
    pick = Picker(view)
    figures = pick.figures()
    early, most = BRIEFING_FIGURES
    add = _adder(book, max_chars, render)
    headline = lead if lead is not None else [Quote.of(view, s) for s in pick.headline()]
    first, later = (headline, []) if lead is not None else (headline[:1], headline[1:])
    steps = ([add("headline", q) for q in first]
             + [add("key_figures", f) for f in figures[:early]]
             + [add("problems", Quote.of(view, s)) for s in pick.listed(PROBLEMS)]
             + [add("plans", Quote.of(view, s)) for s in pick.listed(PLANS, last=True)]
             + [add("key_figures", f) for f in figures[early:most]]
             + [add("headline", q) for q in later])
    return _fill(report_header(view), steps, render, max_chars)


def central_by_section(view: DocumentView) -> list[list[Quote]]:
    """Per top-level section its PER_SECTION most central sentences, most central first."""
    ranked = []
    for top in view.top_sections:
        inside = body_sentences(view.sentences_in(top.start, top.end))
        scores = textrank([s.text for s in inside])
        order = sorted(range(len(inside)), key=lambda i: (-scores[i], i))
        ranked.append([Quote.of(view, inside[i]) for i in order[:PER_SECTION]])
    return ranked


def sections(view: DocumentView, book: CitationBook, max_chars: int, render: Callable[[ReportSummary], str],
             picked: list[list[Quote]] | None = None) -> ReportSummary:
    """Per top-level section: its heading and up to PER_SECTION sentences (the most central, or
    `picked` ones), the first of every section before the second of any, within max_chars."""
    report = report_header(view)
    report.sections = [SectionSummary(heading=t.heading, sentences=[]) for t in view.top_sections]
    ranked = picked if picked is not None else central_by_section(view)
    add = _adder(book, max_chars, render)
    depth = max((len(r) for r in ranked), default=0)
    steps = [add("sections", quotes[rank], i) for rank in range(depth) for i, quotes in enumerate(ranked)
             if rank < len(quotes)]
    return _fill(report, steps, render, max_chars)


def figures_table(view: DocumentView, book: CitationBook) -> ReportSummary:
    """Every figure of the report, deduplicated, each cited to its sentence."""
    report = report_header(view)
    report.key_figures = [figure_row(f, book.number(f.citation)) for f in key_figures(view)]
    return report
