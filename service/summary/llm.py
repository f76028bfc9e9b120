"""LLM summaries: map-reduce through langchain with the prompts in prompts/, then the number guard.

Map: each top-level section (its text, cut to MAP_CHARS) in a few sentences
(prompts/summary_map*.md); reduce (briefings): the section summaries into one briefing
(prompts/summary_reduce*.md). Then every sentence of the model is checked like an answer:
its numbers must stand in the report sentence it is cited to (the one sharing most of its
words among those that hold its numbers). A sentence with a number no such sentence states is
removed and its numbers are listed; a sentence no report sentence supports is dropped. When a
report keeps no sentence, or the endpoint fails, the extractive summary comes back with a note.
"""

from __future__ import annotations

import logging
import re
from typing import Any, cast

from langchain_core.messages import BaseMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompt_values import PromptValue
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import Runnable

from core.figures import stated_numbers
from core.prompts import load_prompt
from core.vocabulary import CITATION_MARKER

from ..guard import backs
from ..llm import ChatModel
from ..wording import bigrams
from .citations import CitationBook
from .document import DocumentView, Sentence
from .extractive import Quote, body_sentences, briefing, sections
from .render import REPORT_TEXT
from .schemas import Summary, SummaryRequest

log = logging.getLogger(__name__)

MAP_CHARS = 1500  # section text sent to the model (small local models have small contexts)
MIN_SUPPORT = 0.3  # share of a sentence's character bigrams its cited report sentence must hold
MIN_SENTENCE_CHARS = 4
_SENTENCE_END = re.compile(r"(?<=[。!?!?;;])")


def _chain(name: str, chat_model: ChatModel) -> Runnable[dict[str, Any], str]:
    prompt = ChatPromptTemplate.from_messages([("system", load_prompt(name)), ("human", load_prompt(f"{name}_user"))])
    return prompt | cast(Runnable[PromptValue, BaseMessage], chat_model) | StrOutputParser()


class SentenceChecker:
    """Checks an LLM sentence against one report: finds the report sentence that supports it."""

    def __init__(self, view: DocumentView, sentences: list[Sentence]) -> None:
        self.view = view
        self.sentences = sentences
        self.numbers = [stated_numbers(s.text) for s in sentences]
        self.grams = [bigrams(s.text) for s in sentences]

    def check(self, text: str) -> tuple[Quote | None, list[str]]:
        """(the cited quote, []) when supported; (None, numbers no single report sentence states)
        when a number is not traceable; (None, []) when no sentence supports the words."""
        said = stated_numbers(text)
        holding = [i for i, have in enumerate(self.numbers) if all(any(backs(h, s) for h in have) for s in said)]
        if said and not holding:
            raws = list(dict.fromkeys(s.raw for s in said))
            return None, [s.raw for s in said if not any(backs(h, s) for have in self.numbers for h in have)] or raws
        grams = bigrams(text)
        if not grams:
            return None, []
        best = max(holding, key=lambda i: len(grams & self.grams[i]), default=None)
        if best is None or len(grams & self.grams[best]) / len(grams) < MIN_SUPPORT:
            return None, []
        return Quote(text, self.view.cite_sentence(self.sentences[best])), []


def _sentences(reply: str) -> list[str]:
    text = CITATION_MARKER.sub("", reply).replace("\n", "")
    return [s.strip() for s in _SENTENCE_END.split(text) if len(s.strip()) >= MIN_SENTENCE_CHARS]


class Guarded:
    """The checked sentences of all reports, with what was removed and why."""

    def __init__(self) -> None:
        self.unsupported: list[str] = []
        self.removed: list[str] = []

    def keep(self, checker: SentenceChecker, reply: str) -> list[Quote]:
        kept = []
        for sentence in _sentences(reply):
            quote, bad = checker.check(sentence)
            if quote:
                kept.append(quote)
            else:
                self.removed.append(sentence)
                self.unsupported += [b for b in bad if b not in self.unsupported]
        return kept


def _sections_text(view: DocumentView) -> list[tuple[str, str]]:
    return [(t.heading, view.text[t.start : t.end][:MAP_CHARS]) for t in view.top_sections]


def llm_summary(extractive: Summary, views: list[DocumentView], request: SummaryRequest,
                chat_model: ChatModel) -> Summary:
    """The LLM's summary in the request's style, guarded; the extractive one when it cannot be trusted."""
    if request.style == "key_figures":
        return extractive.model_copy(update={"note": "key_figures lists the reports' own figures: no LLM is used"})
    map_chain, reduce_chain = _chain("summary_map", chat_model), _chain("summary_reduce", chat_model)
    guarded, book, reports = Guarded(), CitationBook(), []
    render = REPORT_TEXT[request.style]
    try:
        for view in views:
            parts = _sections_text(view)
            mapped = map_chain.batch([{"title": view.title, "heading": h, "text": t} for h, t in parts],
                                     config={"max_concurrency": 2})
            if request.style == "sections":
                picked = [guarded.keep(SentenceChecker(view, body_sentences(view.sentences_in(t.start, t.end))), reply)
                          for t, reply in zip(view.top_sections, mapped)]
                kept = [q for quotes in picked for q in quotes]
                report = sections(view, book, request.max_chars, render, picked)
            else:
                merged = reduce_chain.invoke({"title": view.title, "max_chars": request.max_chars,
                                              "parts": "\n".join(f"{h}:{s.strip()}" for (h, _), s in zip(parts, mapped))})
                kept = guarded.keep(SentenceChecker(view, body_sentences(view.sentences)), merged)
                report = briefing(view, book, request.max_chars, render, lead=kept)
            if not kept:
                return _fallback(extractive, guarded, "no sentence of the LLM summary of "
                                 f"《{view.title}》 passed the number guard")
            reports.append(report)
    except Exception as exc:  # any endpoint failure (timeout, refused, bad reply) falls back
        log.warning("LLM summary failed: %s: %s", type(exc).__name__, exc)
        return extractive.model_copy(update={"note": f"LLM unavailable ({type(exc).__name__}); extractive summary returned"})
    # Notes are shown in the exports: they name no rejected number (unsupported_numbers lists them).
    note = ("the number guard removed LLM sentences the reports do not support"
            + (" (their numbers are in unsupported_numbers)" if guarded.unsupported else "")) if guarded.removed else None
    comparison = extractive.comparison
    if comparison:  # the table's figures are the reports' own: renumber them into this summary
        for row in comparison.rows:
            for cell in row.cells:
                if cell:
                    cell.citation = book.number(extractive.citations[cell.citation - 1])
    return Summary(style=request.style, mode="llm", title=extractive.title, reports=reports, comparison=comparison,
                   citations=book.citations, note=note, unsupported_numbers=guarded.unsupported or None)


def _fallback(extractive: Summary, guarded: Guarded, why: str) -> Summary:
    return extractive.model_copy(update={"note": f"{why}; extractive summary returned",
                                         "unsupported_numbers": guarded.unsupported or None})
