"""Which figure answers a figure question: candidates from the index's figure records, their features,
and a learned ranker that scores them and abstains when none fits.

The candidates are the records (core/figure_records.py) of the retrieved chunks. Each gets the
features an official's question can be matched on: how much of the question's wording stands around
it, the unit asked against its unit (a different counter of the same class is a small penalty, not a
veto), the year asked against its period and its report's year, a target or a change asked against
its kind, the place asked, and how the retriever ranked its passage. How these weigh is not written
by hand: `eval/fit.py` fits two logistic regressions on gold question sets, the ranker over the
candidates and an answer model over the best one (is it an answer at all?), and ships their weights,
with the abstention threshold chosen on held-out reports, as `figure_ranker.json` beside this module.
"""

from __future__ import annotations

import functools
import json
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.figure_records import FigureRecord, period_months
from core.figures import COUNT_WORDS, SCALE, SHARES, clause_after
from core.models import Chunk
from core.normalize import normalize_str
from core.vocabulary import (
    ASKED_TARGET,
    BOUND_BEFORE,
    CHANGE_WORDS,
    GAP_WORDS,
    INCREMENT,
    PERIOD,
    YEAR,
    reviews_year,
)

from .question import Question
from .retrieval import Retriever, ScoredChunk
from .wording import bigrams

RANKER_PATH = Path(__file__).with_name("figure_ranker.json")
CONTEXT_CHARS = 80
HEAD_CHARS = 4  # the metric's last characters, its head noun in a list (…办结数 568 起,…简易案件数 265 起)
_CLAUSE_MARKS = ",，"
_SCALE_PREFIX = re.compile(rf"^(?:{SCALE})")
_NONE_PREFIXES = ("未", "没有", "无一")  # how a 未发生 statement (zero of what follows) begins
PEOPLE = ("人", "人次", "名", "户", "户次")  # the counters of people and households
# Counters that count the same kind of thing, one often written for another: cases, times and events, items,
# people (几人 of 2名).
COUNTER_GROUPS = (frozenset("件 起 宗 单".split()), frozenset("次 场 场次 期 批 轮 回".split()),
                  frozenset("项 类 种 个 条 份".split()), frozenset("人 名".split()))

# The features of a candidate, in the order the ranker's weights are stored.
FEATURES = (
    "cov_own",  # share of the question's content bigrams in the figure's own clause
    "cov_near",  # ... in its sentence, up to the clause of the figure after it
    "cov_context",  # ... also counting, at half weight, its chunk, headings, title and issuer
    "cov_section",  # ... in its section headings
    "chars_own",  # share of the question's content characters in its clause (a paraphrase keeps some)
    "chars_near",  # ... in its sentence up to the next figure
    "distinct_own",  # cov_own with each bigram weighted by 1 / how many clauses of its passage's candidates hold
    #                  it: the words that tell it from its neighbours (乡镇 of 乡镇(街道)调委会 among 村(居)民调委会)
    "distinct_chars",  # ... the same of the question's characters (城管 for 城市管理: an abbreviation keeps some)
    "distinct_gap",  # distinct_own less the best distinct_own among the candidates
    "precision",  # share of its clause's bigrams the question holds
    "head_cov",  # share of the bigrams of the words right before it (its head noun: 简易案件数) the question holds
    "cov_own_gap",  # cov_own less the best cov_own among the candidates (0 for the best)
    "cov_near_gap",
    "rate_near",  # a rate the question names (满意率) stands by the figure
    "rate_missing",  # the question names a rate that does not stand by it
    "unit_same",  # the figure's unit is the one asked
    "unit_same_class",  # another unit of the class asked (件 for 起; 万元 for 元 is unit_same)
    "unit_same_group",  # ... of the same kind of thing (起 for 件, 场 for 次; not 篇 for 起)
    "unit_other_class",  # a unit of another class than the one the question says (a share for 多少起)
    "unit_other_inferred",  # ... than the one its metric words suggest (收入增长多少: a % or 元)
    "unit_unasked",  # the question names no unit
    "scale_same",  # the unit asked with its scale (亿元) is the figure's as written
    "share_asked_share",  # a rate asked, the figure a share
    "period_stated_match",  # the year asked is the period its sentence, chunk or headings state
    "period_stated_other",  # they state another year
    "period_report_match",  # its period is only the report's year, the one asked
    "period_report_other",  # ... another year (but the one before its report's: period_prev_year)
    "month_match",  # the month asked (or span: 1-6月) is its period's
    "month_other",  # its period is another month or span
    "month_unknown",  # a month is asked, its period names none
    "report_named_match",  # the question names its report's year (2026年政府工作报告)
    "report_named_other",  # ... and names another
    "doc_year_match",  # its report is of the year asked
    "doc_year_next",  # its report is a work report of the year after the one asked (which it reviews)
    "period_prev_year",  # ... and its period is only that report's year
    "doc_year_other",
    "section_year_match",  # its section headings name the year asked
    "section_year_other",  # they name years, none of them asked
    "kind_target",  # the figure is a target, and the question asks one
    "kind_target_unasked",  # the figure is a target, the question does not ask one
    "kind_target_missed",  # the question asks a target, the figure is none
    "kind_target_actual_asked",  # the figure is a target, the question asks what was done (实际)
    "section_target",  # its headings announce plans (目标, 安排) ...
    "section_target_unasked",  # ... and the question asks no plan
    "kind_change",  # the figure is a change, and the question asks one
    "kind_change_unasked",
    "kind_change_missed",
    "level_asked_change",  # the question asks a level (总量, 规模), the figure is a change or a share
    "share_unasked",  # the figure is a share, the question asks no rate
    "fall_match",  # the question asks a fall and the figure falls
    "increment_unasked",  # its words say a flow (新增, 新建), the question's do not
    "increment_missed",  # the question asks a flow, its words say none
    "gap_match",  # the question asks it against another's (比全国快), its words say so (高于全国)
    "base_other",  # its words measure it against a year the question does not name (较2020年下降18% for 同比)
    "rank_match",  # a rank or an ordinal asked (排第几, 第几届) and this is one (第3位)
    "rank_unasked",  # it is one, and the question asks a count or an amount
    "rank_missed",  # one is asked, and this is a count or an amount
    "place_other",  # the question names a place, and its report is of another. There is no "of the place
    #                 asked": it would score every figure lower when no place is named (a one-office index),
    #                 and the answer model, reading that score, refuse those questions
    "negative",  # a 未发生 statement: zero of what follows
    "approximate",  # 余/约/左右 qualify it
    "bound",  # a threshold crossed (突破, 超过): often beside the measure itself
    "retrieval_rank",  # 1 / (1 + rank of its passage)
    "retrieval_score",  # its passage's fused score over the best one's
    "passage_dense_gap",  # the cosine of the question and its passage less the best passage's (BM25 alone: -1)
    "dense_gap",  # the cosine of the question and the figure's description less the best candidate's
    "dense_rank",  # 1 / (1 + its rank among the candidates by that cosine)
)
# Cosines are used relative to the other candidates only: each embedding model has its own scale, and
# the weights must hold for whatever model a deployment sets.


@dataclass(frozen=True)
class FigureCandidate:
    """A figure record that may answer the question, with the passage it was found in."""

    record: FigureRecord
    hit: ScoredChunk
    features: np.ndarray  # float32, in FEATURES order


def unit_class(unit: str) -> str:
    """share, money, people, count, or the measure itself (吨 and 万吨 are one class; 吨 and 公里 are
    not). People are counted apart from the cases, times and things a report counts (多少人次 is not 30次,
    多少起纠纷 not 40人); 个, the counter of anything, is of both."""
    if unit in SHARES:
        return "share"
    if unit == "元":
        return "money"
    if unit in PEOPLE:
        return "people"
    if unit in COUNT_WORDS:
        return "count"
    return unit


def same_class_of(a: str, b: str) -> bool:
    """Are units `a` and `b` of one class (个 counts people too)?"""
    counts = ("count", "people")
    return unit_class(a) == unit_class(b) or "个" in (a, b) and unit_class(a) in counts and unit_class(b) in counts


def states_none(record: FigureRecord) -> bool:
    """Is the figure a 未发生 statement: zero of what follows, in whatever unit was asked?"""
    return record.raw.startswith(_NONE_PREFIXES)


def answered_figure(record: FigureRecord, question: Question) -> tuple[float, str]:
    """The value and unit an answer with `record` gives (a 未发生 statement: zero, in the unit asked), as
    the service says it and the ranker's fit scores it."""
    unit = (record.scale_unit or question.expected_unit or "") if states_none(record) else record.scale_unit
    return record.sign * record.value, unit


def figure_candidates(question: Question, core: set[str], hits: list[ScoredChunk],
                      records_of: Callable[[str], list[FigureRecord]],
                      similarities_of: Callable[[str], np.ndarray]) -> list[FigureCandidate]:
    """Every figure record inside a retrieved passage (the best-ranked passage holding it), with
    its features. `similarities_of(doc_id)` gives the question's cosine with each of the report's
    figure descriptions (core.figure_records.describe), in `records_of(doc_id)` order."""
    if not hits:
        return []
    top = max(h.score for h in hits) or 1.0
    top_dense = max((h.dense_score for h in hits if h.dense_score is not None), default=0.0)
    seen: set[tuple[str, int]] = set()
    rows: list[tuple[FigureRecord, ScoredChunk, dict[str, float]]] = []
    owns: list[tuple[set[str], set[str]]] = []  # each row's question bigrams and characters in its own clause
    passages: dict[str, list[int]] = {}  # the rows of each chunk's records
    for rank, hit in enumerate(hits):
        chunk = hit.chunk
        records = records_of(hit.doc.doc_id)
        sims = similarities_of(hit.doc.doc_id)
        inside = [(i, r) for i, r in enumerate(records) if chunk.char_start <= r.char_start and r.char_end <= chunk.char_end]
        context = bigrams(" ".join([hit.doc.metadata.title or "", hit.doc.metadata.issuer or "",
                                    *chunk.section_path, chunk.text]))
        section = bigrams(" ".join(chunk.section_path))
        for k, (i, record) in enumerate(inside):
            if (record.doc_id, record.char_start) in seen:
                continue
            seen.add((record.doc_id, record.char_start))
            next_start = inside[k + 1][1].char_start if k + 1 < len(inside) else chunk.char_end
            before, after = _around(chunk, record, next_start)
            values, own = _lexical(record, before, after, core, context, section, question)
            owns.append(own)
            values.update(_unit(record, question))
            values.update(_period(record, hit, question))
            values.update(_kind(record, before, question))
            values.update(_place(hit, question))
            values["negative"] = float(states_none(record))
            values["approximate"] = float(record.qualifier is not None)
            values["bound"] = float(bool(BOUND_BEFORE.search(before)))
            values["retrieval_rank"] = 1.0 / (1 + rank)
            values["retrieval_score"] = hit.score / top
            values["passage_dense_gap"] = hit.dense_score - top_dense if hit.dense_score is not None else -1.0
            values["dense_sim"] = float(sims[i]) if i < len(sims) else 0.0
            passages.setdefault(record.chunk_id, []).append(len(rows))
            rows.append((record, hit, values))
    for siblings in passages.values():
        _distinct(core, [rows[k][2] for k in siblings], [owns[k] for k in siblings])
    for name, gap in (("cov_own", "cov_own_gap"), ("cov_near", "cov_near_gap"), ("distinct_own", "distinct_gap"),
                      ("dense_sim", "dense_gap")):
        best = max((v[name] for _, _, v in rows), default=0.0)
        for _, _, v in rows:
            v[gap] = v[name] - best
    for rank, (_, _, v) in enumerate(sorted(rows, key=lambda row: -row[2]["dense_sim"])):
        v["dense_rank"] = 1.0 / (1 + rank)
    return [FigureCandidate(r, h, np.array([v[f] for f in FEATURES], dtype=np.float32)) for r, h, v in rows]


def _lexical(record: FigureRecord, before: str, after: str, core: set[str], context: set[str],
             section: set[str], question: Question) -> tuple[dict[str, float], tuple[set[str], set[str]]]:
    """The lexical features of a candidate (`before` and `after` it: see _around), and the question's
    bigrams and characters in its own clause."""
    if not core:
        return dict.fromkeys(("cov_own", "cov_near", "cov_context", "cov_section", "chars_own", "chars_near",
                              "precision", "head_cov", "rate_near", "rate_missing"), 0.0), (set(), set())
    chars = _chars(core)
    metric = bigrams(record.metric)
    head = bigrams(normalize_str(record.metric).replace(" ", "")[-HEAD_CHARS:])
    following = clause_after(normalize_str(after), 0)  # the words right after it (14个镇街: 镇街)
    own = metric | bigrams(following)
    own_chars = chars & set(normalize_str(record.metric + following))
    near = own | bigrams(before) | bigrams(after)
    close = core & near
    rates = question.rate_heads
    return {
        "cov_own": len(core & own) / len(core),
        "cov_near": len(close) / len(core),
        "cov_context": (len(close) + 0.5 * len((core - close) & context)) / len(core),
        "cov_section": len(core & section) / len(core),
        "chars_own": len(own_chars) / max(1, len(chars)),
        "chars_near": len(chars & set(normalize_str(before + record.metric + after))) / max(1, len(chars)),
        "precision": len(core & metric) / len(metric) if metric else 0.0,
        "head_cov": len(core & head) / len(head) if head else 0.0,
        "rate_near": float(bool(rates & near)),
        "rate_missing": float(bool(rates) and not rates & near),
    }, (core & own, own_chars)


def _chars(core: set[str]) -> set[str]:
    """The Chinese characters of the question's content bigrams."""
    return {c for g in core for c in g if not c.isascii()}


def _distinct(core: set[str], values: list[dict[str, float]], owns: list[tuple[set[str], set[str]]]) -> None:
    """Set distinct_own and distinct_chars of the candidates of one passage: each one's share of the
    question's words, each word weighted by 1 / the number of them whose own clause holds it (an inverse
    document frequency over the passage's figures), so words every neighbour shares count little. Other
    passages do not count: another report's copy of the same sentence is no neighbour."""
    grams = Counter(g for own, _ in owns for g in own)
    chars = Counter(c for _, own in owns for c in own)
    n_grams, n_chars = max(1, len(core)), max(1, len(_chars(core)))
    for v, (own_grams, own_chars) in zip(values, owns, strict=True):
        v["distinct_own"] = sum(1 / grams[g] for g in own_grams) / n_grams
        v["distinct_chars"] = sum(1 / chars[c] for c in own_chars) / n_chars


def _unit(record: FigureRecord, question: Question) -> dict[str, float]:
    asked = question.asked_unit
    asked_base = _SCALE_PREFIX.sub("", asked) if asked else question.expected_unit
    asked_base = asked_base or None
    none = states_none(record)  # 未发生…: zero, counted in whatever unit was asked
    unit = asked_base if none and asked_base else record.unit
    same = asked_base is not None and unit == asked_base
    same_class = asked_base is not None and not same and same_class_of(unit, asked_base)
    other = asked_base is not None and not same and not same_class
    return {
        "unit_same": float(same),
        "unit_same_class": float(same_class),
        "unit_same_group": float(same_class and any(unit in g and asked_base in g for g in COUNTER_GROUPS)),
        "unit_other_class": float(other and not question.unit_inferred),
        "unit_other_inferred": float(other and question.unit_inferred),
        "unit_unasked": float(asked_base is None),
        "scale_same": float(asked is not None and record.scale_unit == asked),
        "share_asked_share": float(bool(question.rate_heads or question.expected_unit == "%") and unit in SHARES),
    }


def _period(record: FigureRecord, hit: ScoredChunk, question: Question) -> dict[str, float]:
    years, named = question.period_years, question.report_years
    period_year = int(record.period[:4]) if record.period else None
    stated_months = period_months(record.period)
    doc_year = hit.doc.metadata.year
    section_years = {int(y) for y in YEAR.findall(normalize_str(" ".join(record.section_path)))}
    stated = record.period_basis in ("stated", "context", "section")
    asked = bool(years)
    by_doc = asked and not named and doc_year is not None
    months = question.months
    # A work report reviews the year before its own: asked that year, its figures that state no period are
    # read apart from period_report_other (which would cancel it).
    reviewed = reviews_year(hit.doc.metadata.title, doc_year, years)
    prev_year = asked and not stated and reviewed
    return {
        "period_stated_match": float(asked and stated and period_year in years),
        "period_stated_other": float(asked and stated and period_year not in years),
        "period_report_match": float(asked and not stated and period_year in years),
        "period_report_other": float(asked and not stated and period_year not in years and not prev_year),
        "month_match": float(bool(months) and stated_months in months),
        "month_other": float(bool(months) and stated_months is not None and stated_months not in months),
        "month_unknown": float(bool(months) and stated_months is None),
        "report_named_match": float(bool(named) and doc_year in named),
        "report_named_other": float(bool(named) and doc_year not in named),
        "doc_year_match": float(by_doc and doc_year in years),
        "doc_year_next": float(by_doc and reviewed),
        "period_prev_year": float(prev_year),
        "doc_year_other": float(by_doc and doc_year is not None and doc_year not in years and not reviewed),
        "section_year_match": float(asked and bool(section_years & years)),
        "section_year_other": float(asked and bool(section_years) and not section_years & years),
    }


def _kind(record: FigureRecord, before: str, question: Question) -> dict[str, float]:
    target = record.kind == "target"
    # A target may set a change (增长5.5%以上): its clause says so even though its kind is target.
    change = record.kind == "change" or record.unit == "个百分点" or bool(CHANGE_WORDS.search(record.metric))
    section_target = bool(ASKED_TARGET.search(" ".join(record.section_path)))
    share = record.unit in SHARES
    increment = bool(INCREMENT.search(record.metric))
    rank = record.kind == "rank"
    bases = {int(m.group("y")) for m in PERIOD.finditer(normalize_str(record.metric)) if m.group("base") and m.group("y")}
    return {
        "kind_target": float(target and question.asks_target),
        "kind_target_unasked": float(target and not question.asks_target),
        "kind_target_missed": float(question.asks_target and not target),
        "kind_target_actual_asked": float(target and question.asks_actual),
        "section_target": float(section_target and question.asks_target),
        "section_target_unasked": float(section_target and not question.asks_target),
        "kind_change": float(change and question.asks_change),
        "kind_change_unasked": float(change and not question.asks_change),
        "kind_change_missed": float(question.asks_change and not change),
        "level_asked_change": float(question.asks_level and (change or share)),
        "share_unasked": float(share and not question.rate_heads and question.expected_unit != "%"),
        "fall_match": float(question.asks_fall and record.sign < 0),
        "increment_unasked": float(increment and not question.asks_increment),
        "increment_missed": float(question.asks_increment and not increment),
        "gap_match": float(question.asks_gap and bool(GAP_WORDS.search(record.metric + before))),
        "base_other": float(bool(bases) and not bases & question.years),
        "rank_match": float(rank and question.asks_rank),
        "rank_unasked": float(rank and not question.asks_rank),
        "rank_missed": float(question.asks_rank and not rank),
    }


def _place(hit: ScoredChunk, question: Question) -> dict[str, float]:
    return {"place_other": float(bool(question.place_docs) and hit.doc.doc_id not in question.place_docs)}


def _around(chunk: Chunk, record: FigureRecord, next_start: int) -> tuple[str, str]:
    """The figure's sentence, as the chunk splits them, up to it (at most CONTEXT_CHARS) and the words after
    it up to the sentence end or, when another figure follows in the sentence, its clause end: words that
    belong to a neighbour figure do not count."""
    start, end = next(((s, e) for s, e in chunk.sentences if s <= record.char_start < e),
                      (chunk.char_start, chunk.char_end))
    before = chunk.text[max(start, record.char_start - CONTEXT_CHARS) - chunk.char_start : record.char_start - chunk.char_start]
    after = chunk.text[record.char_end - chunk.char_start : max(record.char_end, min(end, next_start)) - chunk.char_start]
    if next_start < end:  # 受理纠纷1264件,成功调处1217件: 成功调处 is the next one's
        marks = [i for i in (after.find(t) for t in _CLAUSE_MARKS) if i >= 0]
        if marks:
            return before, after[: min(marks)]
    return before, after


class FigureEvidence:
    """What the ranker reads from one index version: each report's figure records (read once) and the
    question's similarity to their descriptions."""

    def __init__(self, retriever: Retriever) -> None:
        self.retriever = retriever
        self._records: dict[str, list[FigureRecord]] = {}

    def records_of(self, doc_id: str) -> list[FigureRecord]:
        records = self._records.get(doc_id)
        if records is None:
            records = self._records[doc_id] = self.retriever.snapshot.figures(doc_id)
        return records

    def candidates(self, question: Question, core: set[str], hits: list[ScoredChunk]) -> list[FigureCandidate]:
        """The candidates of `hits` for `question` (see `figure_candidates`)."""
        snapshot, vector = self.retriever.snapshot, self.retriever.query_vector(question.text)
        return figure_candidates(question, core, hits, self.records_of,
                                 functools.cache(lambda doc_id: snapshot.figure_similarities(vector, doc_id)))


# What the answer model reads of a question's best candidate: how likely the ranker finds it, how far it
# leads the next best, how much of the question stands around it at all (a best candidate with none of
# the question's words is no answer), and whether it is of another place or period than the one asked:
# the best of a report that lacks the figure is often a neighbour's, or another year's. Few inputs: it is
# fit on a few hundred questions. Logits are read within ±LOGIT_BOUND: beyond it a candidate is as sure
# as it gets, and the extremes of figures of a year no report covers would otherwise set the scale.
# Cross-validated by report family on the gold sets, with the same candidates and only these inputs
# changed, the lead and the place and period inputs raised answer accuracy from 0.846 to 0.873 and
# abstention from 0.59 to 0.67, with false refusals from 4.9% to 3.6% (2026-11-30); the clause's own
# coverage, a rate asked that it lacks and a month asked that its period does not name, from 0.919 to
# 0.929, 0.79 to 0.82 and 4.2% to 2.9% (within the spread of other fold assignments, 0.91 ± 0.01); a unit of
# another class than the one asked (多少件 of a rate), abstention from 0.75 to 0.79 with false refusals from
# 3.2% to 2.6% (three other fold assignments: 0.71 to 0.74, refusals the same); the rank of its passage
# (a best figure of the fifth passage answers less often than one of the first), the area under the
# held-out ROC curve of right answers from 0.937 to 0.945 (averaged over four fold assignments), and
# abstention within 5% false refusals from 0.875 to 0.884 (2026-11-30).
ANSWER_FEATURES = ("best_logit", "lead", "cov_near", "cov_own", "head_cov", "rate_missing", "unit_other_class",
                   "place_other", "report_named_other", "doc_year_other", "period_stated_other", "period_report_other",
                   "month_other", "month_unknown", "retrieval_rank")
LOGIT_BOUND = 8.0


def answer_features(probabilities: np.ndarray, features: np.ndarray) -> np.ndarray:
    """The answer model's input for the best-ranked candidate, from every candidate's probability and
    features (rows in the same order; at least one)."""
    p = np.clip(np.asarray(probabilities, dtype=np.float64), 1e-9, 1.0 - 1e-9)
    logits = np.clip(np.log(p) - np.log1p(-p), -LOGIT_BOUND, LOGIT_BOUND)
    best = int(np.argmax(logits))
    lead = logits[best] - np.max(np.delete(logits, best)) if len(logits) > 1 else 2 * LOGIT_BOUND
    own = [features[best, FEATURES.index(name)] for name in ANSWER_FEATURES[2:]]
    return np.array([logits[best], lead, *own], dtype=np.float64)


class _Logistic:
    """A fitted, standardised logistic regression read from the weights file."""

    def __init__(self, weights: dict[str, Any]) -> None:
        self.mean = np.asarray(weights["mean"], dtype=np.float64)
        self.scale = np.asarray(weights["scale"], dtype=np.float64)
        self.coef = np.asarray(weights["coef"], dtype=np.float64)
        self.intercept = float(weights["intercept"])

    def __call__(self, x: np.ndarray) -> np.ndarray:
        z = ((x - self.mean) / self.scale) @ self.coef + self.intercept
        return 1.0 / (1.0 + np.exp(-z))


class FigureRanker:
    """Two fitted logistic regressions: the ranker, the probability that a candidate is the figure asked
    for, and the answer model, the probability that the best one answers the question at all."""

    def __init__(self, weights: dict[str, Any]) -> None:
        if tuple(weights["features"]) != FEATURES or tuple(weights["answer"]["features"]) != ANSWER_FEATURES:
            raise ValueError("the figure ranker's weights were fit on other features: refit them (python -m eval.fit)")
        self.rank = _Logistic(weights)
        self.answers = _Logistic(weights["answer"])
        self.threshold = float(weights["threshold"])

    @classmethod
    def load(cls, path: Path | None = None) -> FigureRanker:
        return _load(path or RANKER_PATH)

    def best(self, candidates: Sequence[FigureCandidate]) -> tuple[FigureCandidate, float] | None:
        """The best-ranked candidate and the probability that it answers the question (None: no candidates)."""
        if not candidates:
            return None
        features = np.vstack([c.features for c in candidates]).astype(np.float64)
        probabilities = self.rank(features)
        answered = float(self.answers(answer_features(probabilities, features).reshape(1, -1))[0])
        return candidates[int(np.argmax(probabilities))], answered


@functools.cache
def _load(path: Path) -> FigureRanker:
    try:
        return FigureRanker(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"cannot read the figure ranker's weights at {path}: {exc}") from exc
