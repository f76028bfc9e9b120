"""The embedded default answerer: extractive, cited, and honest when the reports do not say.

For a figure question it picks the figure whose clause best matches the question's
metric words (with the unit the question asks for, in the report of the year and place
it names) and returns it verbatim with the sentence it stands in. Other questions get
the report header field they ask for, the sub-headings of the section they name, or
the best supporting sentences. Every answer cites spans of the original text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.figures import Figure, extract_figures
from core.index import DocumentRecord
from core.models import Chunk
from core.normalize import normalize_str
from core.prompts import render
from core.vocabulary import ASKED_COUNT_WORDS, DATE, YEAR

from .question import Question
from .retrieval import Filters, Retriever, ScoredChunk
from .schemas import Answer, Citation, FigureOut

# A figure is an answer only when most of the question's content words stand around it
# (in its clause, its sentence or its section headings), and its total score is high enough.
MIN_FIGURE_COVERAGE = 0.5
MIN_FIGURE_SCORE = 0.9
MIN_TEXT_COVERAGE = 0.34
ANSWER_CHUNKS = 8
MAX_SUBJECT_CHARS = 24

_QUESTION_WORDS = re.compile(
    r"(?:多少|几)\s*(?:" + "|".join(map(re.escape, ASKED_COUNT_WORDS)) + ")?"
    r"|是什么|是多少|有哪些|哪些|什么|请问|一共|共计|总共|分别|达到了|达到|了|吗|呢|是|的|有|为|\?|？"
)
_TERMINATORS = "。!?;"
_RUNS = re.compile(r"[\u4e00-\u9fff]+|[a-z0-9.]+")
CONTEXT_CHARS = 80
_META_FIELDS = {
    "doc_number": ("文件编号", re.compile(r"文件编号|文号|发文字号")),
    "index_number": ("索引号", re.compile(r"索引号")),
    "publish_date": ("发布时间", re.compile(r"发布时间|发布日期|什么时候发布|何时发布")),
    "issuer": ("发布机构", re.compile(r"发布机构|发文机关|哪个单位发布|谁发布")),
}


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
    """The question's content bigrams: without years, the places it names and question words."""
    q = question.normalized
    for name in sorted(question.place_words, key=len, reverse=True):
        q = q.replace(name, " ")
    q = DATE.sub(" ", q)
    q = YEAR.sub(" ", q)
    q = _QUESTION_WORDS.sub(" ", q)
    # A lone Chinese character left between removed words (年, 日, 共) is noise, not evidence.
    return {g for g in bigrams(q) if len(g) > 1 or g.isascii()}


@dataclass(frozen=True)
class _Candidate:
    figure: Figure
    hit: ScoredChunk
    score: float
    coverage: float

    @property
    def citation(self) -> Citation:
        return _sentence_citation(self.hit.doc, self.hit, self.figure.char_start, self.figure.char_end)


def _other_year(candidate: _Candidate, years: frozenset[int]) -> bool:
    """Is the candidate from a report of a year the question did not ask, without its sentence naming one it did?"""
    doc_year = candidate.hit.doc.metadata.year
    if not years or doc_year is None or doc_year in years:
        return False
    return not years & {int(y) for y in YEAR.findall(normalize_str(candidate.citation.quote))}


class ExtractiveAnswerer:
    """Answers from retrieved passages without a language model."""

    def __init__(self, retriever: Retriever) -> None:
        self.retriever = retriever

    def passages(self, question: Question, top_k: int, filters: Filters | None) -> list[ScoredChunk]:
        """The passages an answer is drawn from: at least ANSWER_CHUNKS, best first (their first
        top_k are those `retrieve` gives for top_k, so the LLM path reads the same)."""
        return self.retriever.retrieve(question, max(top_k, ANSWER_CHUNKS), filters)

    def answer(self, question: str | Question, top_k: int = 5, filters: Filters | None = None,
               hits: list[ScoredChunk] | None = None) -> Answer:
        """The answer to `question`, from `hits` when the caller retrieved its `passages` already."""
        question = self.retriever.parse(question)
        if question.unknown_places and not question.place_docs and not (filters and filters.active):
            return not_found(question.text, f"(没有{'、'.join(question.unknown_places)}的报告)")
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
        unit = question.expected_unit
        candidates = self._candidates(hits, question, core)
        if not candidates:
            return not_found(question.text, "")
        # A figure from a report of another year answers a question about that year only when
        # its own sentence names the year asked ("2020年" asked of a 2019 report: not found).
        in_year = [c for c in candidates if not _other_year(c, question.years)]
        if not in_year:
            asked = "、".join(f"{y}年" for y in sorted(question.years))
            return not_found(question.text, f"(没有{asked}的这项数字)")
        best = max(in_year, key=lambda c: c.score)
        if best.score < MIN_FIGURE_SCORE:
            return not_found(question.text, "")
        fig, hit = best.figure, best.hit
        doc = hit.doc
        citation = best.citation
        subject = _subject(fig, doc, citation.quote)
        figure_unit = fig.unit or (unit or "") if fig.negative else fig.unit
        return Answer(
            question=question.text,
            found=True,
            answer=fig.raw,
            text=render("answer_figure", title=doc.metadata.title or doc.file_name, subject=subject,
                        figure=re.sub(r"\s+", "", fig.raw)),
            figure=FigureOut(value=fig.value, unit=figure_unit, raw=fig.raw),
            citations=[citation],
            confidence=round(min(1.0, best.score / 2.5), 3),
        )

    def _candidates(self, hits: list[ScoredChunk], question: Question, core: set[str]) -> list[_Candidate]:
        unit, rates = question.expected_unit, question.rate_heads
        top = max(h.score for h in hits)
        out = []
        for hit in hits:
            chunk = hit.chunk
            doc_context = bigrams(
                " ".join([hit.doc.metadata.title or "", hit.doc.metadata.issuer or "", *chunk.section_path, chunk.text])
            )
            figures = [_shift(f, chunk.char_start) for f in extract_figures(chunk.text)]
            for k, fig in enumerate(figures):
                if unit and fig.unit != unit and not fig.negative:
                    continue  # asked 多少件, a percentage is never the answer
                next_start = figures[k + 1].char_start if k + 1 < len(figures) else chunk.char_end
                near = bigrams(_around(chunk, fig, next_start))
                if rates and not rates & (near | bigrams(fig.metric)):
                    continue  # asked 满意率, 办结率 is no answer
                coverage, score = _score(fig, near, doc_context, core, unit)
                if coverage < MIN_FIGURE_COVERAGE:
                    continue
                score += _agreement(hit, question) + 0.3 * hit.score / top
                out.append(_Candidate(fig, hit, score, coverage))
        return out

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


def _score(fig: Figure, near: set[str], doc_context: set[str], core: set[str], unit: str | None) -> tuple[float, float]:
    """(coverage, score): how much of the question stands around the figure, and how well it fits.

    Words in the figure's own clause count most, then its sentence up to the next figure,
    then (at half weight) the rest of its chunk, section headings, title and issuer.
    """
    if not core:
        return 0.0, 0.0
    metric = bigrams(fig.metric)
    own = metric | bigrams(fig.after)
    cov_own = len(core & own) / len(core)
    close = core & (own | near)
    coverage = (len(close) + 0.5 * len((core - close) & doc_context)) / len(core)
    precision = len(core & metric) / len(metric) if metric else 0.0
    if fig.negative and cov_own < MIN_FIGURE_COVERAGE:
        return 0.0, 0.0  # "未发生…" answers only a question about that very thing
    score = 0.5 * cov_own + coverage + 0.5 * precision
    if unit and fig.unit == unit:
        score += 0.4
    return coverage, score


def _agreement(hit: ScoredChunk, question: Question) -> float:
    """Bonus or malus for the report's place and year against those the question names."""
    bonus = 0.0
    if question.place_docs:
        bonus += 0.3 if hit.doc.doc_id in question.place_docs else -0.5
    if question.years and hit.doc.metadata.year is not None:
        bonus += 0.2 if hit.doc.metadata.year in question.years else -0.3
    return bonus


def _around(chunk: Chunk, fig: Figure, next_start: int) -> str:
    """The figure's sentence up to it (at most CONTEXT_CHARS) and the words after it up to
    the next figure or the sentence end: words that belong to a neighbour figure do not count."""
    rel_start, rel_end = fig.char_start - chunk.char_start, fig.char_end - chunk.char_start
    before = chunk.text[max(0, rel_start - CONTEXT_CHARS) : rel_start]
    cut = max(before.rfind(t) for t in _TERMINATORS)
    before = before[cut + 1 :]
    after = chunk.text[rel_end : next_start - chunk.char_start]
    ends = [i for i in (after.find(t) for t in _TERMINATORS) if i >= 0]
    return before + " " + (after[: min(ends)] if ends else after)


def _shift(fig: Figure, offset: int) -> Figure:
    from dataclasses import replace

    return replace(fig, char_start=fig.char_start + offset, char_end=fig.char_end + offset)


def _subject(fig: Figure, doc: DocumentRecord, quote: str) -> str:
    """What the figure measures, led by the report's year when a cited text states that year."""
    metric = re.sub(r"\s+", "", normalize_str(fig.metric or fig.after))
    metric = YEAR.sub("", metric)
    if len(metric) > MAX_SUBJECT_CHARS:
        tail = metric.rsplit("》", 1)[-1]
        metric = tail if 2 <= len(tail) <= MAX_SUBJECT_CHARS else metric[-MAX_SUBJECT_CHARS:]
    year = doc.metadata.year
    stated = year and any(str(year) in t for t in (quote, doc.metadata.title or ""))
    return f"{f'{year}年' if stated else ''}{metric}" or "该数字"


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
