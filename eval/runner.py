"""Run a gold question set through the same code path as /ask and score it.

In-process by default (a temporary index over --docs, or --index), or over HTTP against
a running service with --url. Retrieval metrics come from the local index.
"""

from __future__ import annotations

import functools
import logging
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from core.config import Settings
from core.index import DocumentRecord, IndexSnapshot
from ingest.pipeline import ingest_paths
from service.engine import Engine
from service.index_holder import IndexView
from service.schemas import AskRequest

from .gold import GoldQuestion, evidence_span, load_gold_sets
from .scoring import answered_record, citation_hits, gold_record, overlaps, score_answer, unsupported_in

log = logging.getLogger(__name__)
RETRIEVAL_DEPTH = 10


@dataclass
class QuestionResult:
    """One gold question's outcome, as written to results.jsonl."""

    id: str
    question: str
    gold: str | None
    answerable: bool
    found: bool
    answer: str | None
    correct: bool
    reason: str
    citation_ok: bool
    evidence_rank: int | None  # 1-based rank of the first retrieved chunk holding the evidence
    unsupported: list[str]
    latency_ms: float
    citations: list[dict[str, Any]] = field(default_factory=list)
    gold_set: str = ""


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[k]


def evidence_rank(snapshot: IndexSnapshot, ids: list[int], doc_id: str, span: tuple[int, int]) -> int | None:
    for rank, stored in enumerate(snapshot.chunks(ids), 1):
        c = stored.chunk
        if c.doc_id == doc_id and overlaps((c.char_start, c.char_end), span):
            return rank
    return None


class Asker:
    """Puts a question to the service: in-process (the /ask code path) or over HTTP."""

    def __init__(self, engine: Engine, view: IndexView, mode: str, url: str | None) -> None:
        self.engine, self.view, self.mode, self.url = engine, view, mode, url
        self.http = httpx.Client(base_url=url, timeout=120) if url else None

    def ask(self, question: str) -> dict[str, Any]:
        if self.http is not None:
            response = self.http.post("/ask", json={"question": question, "mode": self.mode})
            response.raise_for_status()
            return response.json()
        request = AskRequest(question=question, mode=self.mode)
        return self.engine.ask(request, self.view).public()


def broken_gold_rows(gold: list[GoldQuestion], snapshot: IndexSnapshot,
                     documents: dict[str, DocumentRecord]) -> list[dict[str, str]]:
    """Rows whose document is not indexed or whose evidence is not in it: reported, not scored."""
    by_name = {Path(d.source).name: d.doc_id for d in documents.values()}
    broken = []
    for q in gold:
        if not q.answerable:
            continue
        if q.doc not in by_name:
            broken.append({"id": q.id, "why": f"document {q.doc!r} is not among the indexed reports"})
            continue
        text = snapshot.text_of(by_name[q.doc])
        if q.evidence is None or evidence_span(text, q.evidence) is None:
            broken.append({"id": q.id, "why": "evidence does not occur in its document"})
    return broken


def run_questions(gold: list[GoldQuestion], view: IndexView, asker: Asker) -> list[QuestionResult]:
    by_name = {Path(d.source).name: d.doc_id for d in view.retriever.documents.values()}
    figures = functools.cache(view.snapshot.figures)
    results = []
    for q in gold:
        doc_id = by_name.get(q.doc or "")
        span = None
        if doc_id and q.evidence:
            span = evidence_span(view.snapshot.text_of(doc_id), q.evidence)
        started = time.perf_counter()
        answer = asker.ask(q.question)
        latency = (time.perf_counter() - started) * 1000
        expected = gold_record(q, figures(doc_id), span) if doc_id and span else None
        verdict = score_answer(q, answer, (answered_record(answer, figures), expected))
        rank = None
        if doc_id and span:
            hits = view.retriever.retrieve(q.question, RETRIEVAL_DEPTH)
            rank = evidence_rank(view.snapshot, [h.id for h in hits], doc_id, span)
        reason = verdict.reason
        if not verdict.correct and q.answerable and rank is None:
            reason = f"retrieval_miss/{reason}"
        elif reason in ("wrong_value", "no_figure") and rank is not None:
            reason = "wrong_clause"
        results.append(QuestionResult(
            id=q.id, question=q.question, gold=q.answer, answerable=q.answerable, found=bool(answer.get("found")),
            answer=answer.get("answer"), correct=verdict.correct, reason=reason,
            citation_ok=citation_hits(answer, doc_id, span), evidence_rank=rank,
            unsupported=unsupported_in(answer), latency_ms=round(latency, 2), citations=answer.get("citations", []),
            gold_set=q.gold_set,
        ))
    return results


def _share(n: int, d: int) -> float:
    return round(n / d, 4) if d else 0.0


def _answering(results: list[QuestionResult]) -> dict[str, Any]:
    """The answer scores of a set of results: what `summarize` reports overall and per question set."""
    answerable = [r for r in results if r.answerable]
    unanswerable = [r for r in results if not r.answerable]
    return {
        "n_questions": len(results),
        "n_answerable": len(answerable),
        "answer_accuracy": _share(sum(r.correct for r in answerable), len(answerable)),
        "abstention_accuracy": _share(sum(not r.found for r in unanswerable), len(unanswerable)),
        "false_refusal_rate": _share(sum(not r.found for r in answerable), len(answerable)),
    }


def summarize(results: list[QuestionResult], broken: list[dict[str, str]]) -> dict[str, Any]:
    """The summary.json scores; with more than one gold file, `by_set` gives the answer scores of each."""
    overall = _answering(results)
    ranked = [r for r in results if r.answerable]
    latencies = [r.latency_ms for r in results]
    summary = {
        "n_questions": overall["n_questions"],
        "n_answerable": overall["n_answerable"],
        "n_broken_gold": len(broken),
        "answer_accuracy": overall["answer_accuracy"],
        "citation_accuracy": _share(sum(r.citation_ok for r in ranked), len(ranked)),
        "evidence_hit_at_1": _share(sum(r.evidence_rank == 1 for r in ranked), len(ranked)),
        "evidence_hit_at_5": _share(sum(r.evidence_rank is not None and r.evidence_rank <= 5 for r in ranked), len(ranked)),
        "mrr": round(statistics.fmean([1 / r.evidence_rank if r.evidence_rank else 0.0 for r in ranked]), 4) if ranked else 0.0,
        "abstention_accuracy": overall["abstention_accuracy"],
        "false_refusal_rate": overall["false_refusal_rate"],
        "unsupported_numbers": sum(len(r.unsupported) for r in results),
        "latency_p50_ms": round(_percentile(latencies, 0.5), 2),
        "latency_p95_ms": round(_percentile(latencies, 0.95), 2),
        "broken_gold": broken,
    }
    sets = list(dict.fromkeys(r.gold_set for r in results))
    if len(sets) > 1:
        summary["by_set"] = {name: _answering([r for r in results if r.gold_set == name]) for name in sets}
    return summary


def build_index(docs: Path, settings: Settings) -> Path:
    """A temporary index over the reports of `docs` (its gold files are skipped, not indexed)."""
    index_dir = Path(tempfile.mkdtemp(prefix="reportqa-eval-")) / "index"
    summary = ingest_paths([docs], settings, index_dir, progress=False)
    for failed in summary.failed:
        if not failed.path.endswith(".jsonl"):
            log.warning("not indexed: %s: %s", failed.path, failed.reason)
    return index_dir


def run_eval(
    docs: Path,
    gold_paths: Path | list[Path],
    settings: Settings,
    index_dir: Path | None = None,
    mode: str = "extractive",
    url: str | None = None,
) -> tuple[dict[str, Any], list[QuestionResult], IndexView]:
    """Score every gold question; builds a temporary index over `docs` unless `index_dir` is given.

    Several gold files are scored as one run, each question keeping its file as its set.
    Returns the summary, the per-question results and the index view they were scored on."""
    gold = load_gold_sets(gold_paths if isinstance(gold_paths, list) else [gold_paths])
    if index_dir is None:
        index_dir = build_index(docs, settings)
    engine = Engine.open(settings.model_copy(update={"index_dir": index_dir}))
    view = engine.view()
    broken = broken_gold_rows(gold, view.snapshot, view.retriever.documents)
    broken_ids = {b["id"] for b in broken}
    scored = [q for q in gold if q.id not in broken_ids]
    results = run_questions(scored, view, Asker(engine, view, mode, url))
    return summarize(results, broken), results, view
