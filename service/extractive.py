"""The embedded default answerer: extractive, cited, and honest when the reports do not say.

For a figure question it picks the figure whose clause best matches the question's
metric words (with the unit the question asks for, in the report of the year and place
it names) and returns it verbatim with the sentence it stands in. Other questions get
the report header field they ask for, the sub-headings of the section they name, or
the best supporting sentences. Every answer cites spans of the original text.
"""

from __future__ import annotations

import re

from core.figure_records import FigureRecord
from core.index import DocumentRecord
from core.models import Chunk
from core.normalize import normalize_str
from core.prompts import render
from core.vocabulary import FALLING, YEAR

from .figure_ranking import FigureEvidence, FigureRanker, answered_figure, states_none
from .question import Question
from .retrieval import Filters, Retriever, ScoredChunk
from .schemas import Answer, Citation, FigureOut
from .wording import bigrams, question_core

MIN_TEXT_COVERAGE = 0.34
ANSWER_CHUNKS = 8
MAX_SUBJECT_CHARS = 24
_META_FIELDS = {
    "doc_number": ("文件编号", re.compile(r"文件编号|文号|发文字号")),
    "index_number": ("索引号", re.compile(r"索引号")),
    "publish_date": ("发布时间", re.compile(r"发布时间|发布日期|什么时候发布|何时发布")),
    "issuer": ("发布机构", re.compile(r"发布机构|发文机关|哪个单位发布|谁发布")),
}


class ExtractiveAnswerer:
    """Answers from retrieved passages without a language model."""

    def __init__(self, retriever: Retriever, ranker: FigureRanker) -> None:
        self.retriever = retriever
        self.ranker = ranker
        self.figures = FigureEvidence(retriever)

    def passages(self, question: Question, top_k: int, filters: Filters | None) -> list[ScoredChunk]:
        """The passages an answer is drawn from: at least ANSWER_CHUNKS, best first (their first
        top_k are those `retrieve` gives for top_k, so the LLM path reads the same)."""
        return self.retriever.retrieve(question, max(top_k, ANSWER_CHUNKS), filters)

    def answer(self, question: str | Question, top_k: int = 5, filters: Filters | None = None,
               hits: list[ScoredChunk] | None = None) -> Answer:
        """The answer to `question`, from `hits` when the caller retrieved its `passages` already."""
        question = self.retriever.parse(question)
        if not (filters and filters.active):
            missing = missing_report(question, self.retriever.documents)
            if missing:
                return not_found(question.text, missing)
        hits = self.passages(question, top_k, filters) if hits is None else hits
        if not hits:
            return not_found(question.text, "")
        core = question_core(question)
        meta = self._metadata_answer(question, hits)
        if meta is not None:
            return meta
        if question.asks_for_figure:
            return self._figure_answer(question, hits, core)
        return self._text_answer(question, hits, core)

    # --- figures ------------------------------------------------------------------

    def _figure_answer(self, question: Question, hits: list[ScoredChunk], core: set[str]) -> Answer:
        best = self.ranker.best(self.figures.candidates(question, core, hits))
        if best is None or best[1] < self.ranker.threshold:
            return not_found(question.text, _missing_year(question, hits))
        (candidate, probability) = best
        record, hit = candidate.record, candidate.hit
        doc = hit.doc
        citation = _sentence_citation(doc, hit, record.char_start, record.char_end)
        said = _as_said(record, hit.chunk)
        written, title, none = re.sub(r"\s+", "", said), doc.metadata.title or doc.file_name, states_none(record)
        value, unit = answered_figure(record, question)
        text = (render("answer_none", title=title, when=_when(doc, citation.quote), statement=written) if none
                else render("answer_figure", title=title, subject=_subject(record, doc, citation.quote), figure=written))
        return Answer(
            question=question.text,
            found=True,
            answer=said,
            text=text,
            figure=FigureOut(value=value, unit=unit, raw=record.raw),
            citations=[citation],
            confidence=round(probability, 3),
        )

    # --- header fields ------------------------------------------------------------

    def _metadata_answer(self, question: Question, hits: list[ScoredChunk]) -> Answer | None:
        for field, (label, pattern) in _META_FIELDS.items():
            if not pattern.search(question.normalized):
                continue
            doc = _best_doc(hits, question)
            value = getattr(doc.metadata, field)
            if not value:
                return not_found(question.text, f"(该报告没有写明{label})")
            full = self.retriever.snapshot.document(doc.doc_id)
            assert full is not None and full.text is not None
            start = full.text.find(str(value))
            if start < 0:
                return not_found(question.text, f"(报告正文中找不到{label})")
            line_start = full.text.rfind("\n", 0, start) + 1
            line_end = full.text.find("\n", start)
            line_end = len(full.text) if line_end < 0 else line_end
            citation = Citation.of(doc, [], line_start, line_end, full.text[line_start:line_end])
            return Answer(
                question=question.text,
                found=True,
                answer=str(value),
                text=render("answer_metadata", title=doc.metadata.title or doc.file_name, field=label, value=value),
                citations=[citation],
                confidence=0.9,
            )
        return None

    # --- other questions ----------------------------------------------------------

    def _text_answer(self, question: Question, hits: list[ScoredChunk], core: set[str]) -> Answer:
        if not core:
            return not_found(question.text, "")
        heading = self._heading_answer(question, hits, core)
        if heading is not None:
            return heading
        scored = []
        for rank, hit in enumerate(hits[:3]):
            path = bigrams(" ".join(hit.chunk.section_path))
            for start, end in hit.chunk.sentences:
                text = self._text_of(hit, start, end)
                grams = bigrams(text)
                coverage = len(core & grams) / len(core) + 0.5 * len(core & path) / len(core)
                scored.append((coverage - 0.05 * rank, start, end, hit))
        scored.sort(key=lambda s: -s[0])
        if not scored or scored[0][0] < MIN_TEXT_COVERAGE:
            return not_found(question.text, "")
        chosen = sorted(scored[:2], key=lambda s: s[1]) if scored[1:2] and scored[1][3].doc is scored[0][3].doc else scored[:1]
        citations = [Citation.of(s[3].doc, s[3].chunk.section_path, s[1], s[2], self._text_of(s[3], s[1], s[2])) for s in chosen]
        doc = chosen[0][3].doc
        return Answer(
            question=question.text,
            found=True,
            answer="".join(c.quote for c in citations),
            text=render("answer_text", title=doc.metadata.title or doc.file_name, sentences="".join(c.quote for c in citations)),
            citations=citations,
            confidence=round(min(1.0, scored[0][0]), 3),
        )

    def _heading_answer(self, question: Question, hits: list[ScoredChunk], core: set[str]) -> Answer | None:
        """'主要问题有哪些' -> the sub-headings of the section about 主要问题."""
        doc = hits[0].doc
        full = self.retriever.snapshot.document(doc.doc_id)
        assert full is not None and full.sections is not None and full.text is not None
        best, best_cov = None, 0.0
        stack = list(full.sections)
        while stack:
            section = stack.pop()
            stack.extend(section["children"])
            grams = bigrams(section["heading"])
            cov = len(core & grams) / len(core)
            if section["children"] and cov > best_cov:
                best, best_cov = section, cov
        if best is None or best_cov < 0.6:
            return None
        citations = []
        for child in best["children"]:
            start = child["char_start"]
            end = start + len(child["heading"])
            citations.append(Citation.of(doc, [best["heading"]], start, end, full.text[start:end]))
        listing = ";".join(c.quote for c in citations)
        return Answer(
            question=question.text,
            found=True,
            answer=listing,
            text=render("answer_text", title=doc.metadata.title or doc.file_name, sentences=listing + "。"),
            citations=citations,
            confidence=round(min(1.0, best_cov), 3),
        )

    @staticmethod
    def _text_of(hit: ScoredChunk, start: int, end: int) -> str:
        base = hit.chunk.char_start
        return hit.chunk.text[start - base : end - base]


def _best_doc(hits: list[ScoredChunk], question: Question) -> DocumentRecord:
    for hit in hits:
        if not question.place_docs or hit.doc.doc_id in question.place_docs:
            return hit.doc
    return hits[0].doc


def _subject(record: FigureRecord, doc: DocumentRecord, quote: str) -> str:
    """What the figure measures, led by the report's year when a cited text states that year."""
    metric = re.sub(r"\s+", "", normalize_str(record.metric))
    metric = YEAR.sub("", metric)
    if len(metric) > MAX_SUBJECT_CHARS:
        tail = metric.rsplit("》", 1)[-1]
        metric = tail if 2 <= len(tail) <= MAX_SUBJECT_CHARS else metric[-MAX_SUBJECT_CHARS:]
    return f"{_when(doc, quote)}{metric}" or "该数字"


def _when(doc: DocumentRecord, quote: str) -> str:
    """The report's year (2019年) when a cited text states it, else nothing."""
    year = doc.metadata.year
    return f"{year}年" if year and any(str(year) in t for t in (quote, doc.metadata.title or "")) else ""


def _as_said(record: FigureRecord, chunk: Chunk) -> str:
    """The figure as the answer says it: a fall keeps the verb that makes it one (下降2.7%)."""
    if record.sign > 0:
        return record.raw
    before = normalize_str(chunk.text[max(0, record.char_start - chunk.char_start - 8) : record.char_start - chunk.char_start])
    verb = FALLING.search(before)
    return f"{verb.group(0).strip()}{record.raw}" if verb else record.raw


def missing_report(question: Question, documents: dict[str, DocumentRecord]) -> str:
    """Why nothing is answered before any passage is read ("" when it may be), when the question is
    about a place no indexed report is from, or names a report (of its place, of a year: 云岭市2027年
    政府工作报告中…) that the index does not hold: another year's report states other figures. The
    ranker's fit (eval/fit.py) skips what this refuses, as /ask never ranks it."""
    if question.unknown_places and not question.place_docs:
        return f"(没有{'、'.join(question.unknown_places)}的报告)"
    if not question.report_years:
        return ""
    scope = [documents[d] for d in question.place_docs] or list(documents.values())
    if any(d.metadata.year is None or d.metadata.year in question.report_years for d in scope):
        return ""
    place = max((w for w in question.place_words if w in question.normalized), key=len, default="")
    return f"(没有{place}{'、'.join(f'{y}年' for y in sorted(question.report_years))}的报告)"


def _missing_year(question: Question, hits: list[ScoredChunk]) -> str:
    """Why nothing was found, when it is that no retrieved report is of the year asked."""
    if not question.years or any(h.doc.metadata.year in question.years for h in hits):
        return ""
    return f"(没有{'、'.join(f'{y}年' for y in sorted(question.years))}的这项数字)"


def _sentence_citation(doc: DocumentRecord, hit: ScoredChunk, start: int, end: int) -> Citation:
    """Cite the sentence of the chunk that holds [start, end) (the whole chunk if none does)."""
    chunk = hit.chunk
    for s, e in chunk.sentences:
        if s <= start and end <= e:
            return Citation.of(doc, chunk.section_path, s, e, chunk.text[s - chunk.char_start : e - chunk.char_start])
    return Citation.of(doc, chunk.section_path, chunk.char_start, chunk.char_end, chunk.text)


def not_found(question: str, reason: str) -> Answer:
    """The honest answer when no passage supports one."""
    return Answer(question=question, found=False, answer=None, text=render("not_found", reason=reason),
                  figure=None, citations=[], confidence=0.0)
