"""Hybrid retrieval: dense (FAISS) and lexical (BM25) search fused by reciprocal rank,
with a boost for documents whose year and place the question names (a work report's year is also
the year before its own, which it reviews).

Explicit filters (year, issuer, doc_ids) restrict the search; hints read from the
question only re-rank, so a question that names a place no report has still gets
the best passages. When the question names the place of a few reports, those reports
are also searched on their own: in a large index the same sentence stands in
thousands of other reports, and the named report's passage must not be pushed out of
the candidates by them (it ranks just after the global candidates, before the boosts).

The searches themselves sit behind `SearchBackend`: the FAISS and BM25 files of an
index version's segments (`SnapshotSearch`) today; a distributed engine (Milvus for vectors,
Elasticsearch/OpenSearch for BM25) is another implementation of the same two methods
over the same chunk ids (docs/scaling.md).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from core.embedding import Embedder
from core.index import DocumentRecord, IndexSnapshot
from core.lexical import tokenize
from core.models import Chunk
from core.normalize import normalize_str
from core.vocabulary import reviews_year

from .query import PlaceIndex, place_names
from .question import Question

RRF_K = 60
QUERY_VECTORS = 256  # recent questions whose embedding is kept
CANDIDATES = 50
PLACE_BOOST = 0.02
YEAR_BOOST = 0.01
# The named place's reports are searched on their own up to this many chunks (a broader
# place, a whole city, is common enough to stand in the global candidates).
PLACE_SCOPE_MAX_CHUNKS = 4096


@dataclass(frozen=True)
class Filters:
    """Explicit restrictions from the request; they win over anything read from the question."""

    year: int | None = None
    issuer: str | None = None
    doc_ids: tuple[str, ...] | None = None

    def allows(self, doc: DocumentRecord) -> bool:
        if self.year is not None and doc.metadata.year != self.year:
            return False
        if self.issuer and normalize_str(self.issuer) not in normalize_str(
            f"{doc.metadata.issuer or ''} {doc.metadata.title or ''}"
        ):
            return False
        return self.doc_ids is None or doc.doc_id in self.doc_ids

    @property
    def active(self) -> bool:
        return self.year is not None or bool(self.issuer) or self.doc_ids is not None


@dataclass(frozen=True)
class ScoredChunk:
    """A retrieved chunk with its fused score and the ranks that produced it."""

    id: int
    chunk: Chunk
    doc: DocumentRecord
    score: float
    dense_rank: int | None
    lexical_rank: int | None
    dense_score: float | None


class SearchBackend(Protocol):
    """Dense and lexical candidate search over chunk ids: what the Retriever needs from a search engine.

    Both return (chunk id, score) pairs, best first, at most `k`, only among `allowed`
    ids when given. Chunk ids are those of the index's doc store.
    """

    def dense(self, vector: np.ndarray, k: int, allowed: np.ndarray | None) -> list[tuple[int, float]]: ...

    def lexical(self, tokens: list[str], k: int, allowed: np.ndarray | None) -> list[tuple[int, float]]: ...


class SnapshotSearch:
    """The search backend of one index version on local disk: FAISS and BM25 postings, per segment."""

    def __init__(self, snapshot: IndexSnapshot) -> None:
        self.snapshot = snapshot

    def dense(self, vector: np.ndarray, k: int, allowed: np.ndarray | None) -> list[tuple[int, float]]:
        return self.snapshot.dense_search(vector, k, allowed)

    def lexical(self, tokens: list[str], k: int, allowed: np.ndarray | None) -> list[tuple[int, float]]:
        return self.snapshot.lexical.search(tokens, k, allowed)


class Retriever:
    """Searches one index snapshot; build a new one when the index version changes."""

    def __init__(self, snapshot: IndexSnapshot, embedder: Embedder, search: SearchBackend | None = None) -> None:
        snapshot.require_model(embedder.model_id)
        self.snapshot = snapshot
        self.embedder = embedder
        self.search = search or SnapshotSearch(snapshot)
        self.documents = {d.doc_id: d for d in snapshot.documents()}
        self.names_by_doc = {doc_id: place_names(d) for doc_id, d in self.documents.items()}
        self.places = PlaceIndex(self.names_by_doc)
        self._query_vector = functools.lru_cache(maxsize=QUERY_VECTORS)(lambda text: self.embedder.embed_queries([text])[0])

    def parse(self, question: str | Question) -> Question:
        """The question read against this index's places (as it is when read already)."""
        return question if isinstance(question, Question) else Question.parse(question, self.places)

    def retrieve(self, question: str | Question, top_k: int = 5, filters: Filters | None = None) -> list[ScoredChunk]:
        """The top_k chunks for `question`, best first."""
        question = self.parse(question)
        filters = filters or Filters()
        allowed = self._allowed_ids(filters)
        if allowed is not None and not allowed.size:
            return []
        n = max(CANDIDATES, top_k * 4)
        query_vector = self.query_vector(question.text)
        tokens = tokenize(question.text)
        dense = self.search.dense(query_vector, n, allowed)
        lexical = self.search.lexical(tokens, n, allowed)
        scope = None if filters.active else self.place_scope(question, n)
        if scope is None:
            return self._fuse(_ranked(dense), _ranked(lexical), question, top_k)
        return self._fuse(_then(dense, self.search.dense(query_vector, n, scope), n),
                          _then(lexical, self.search.lexical(tokens, n, scope), n), question, top_k)

    def query_vector(self, text: str) -> np.ndarray:
        """The question's embedding, computed once however many stages read it (search, figure ranking)."""
        return self._query_vector(text)

    def place_scope(self, question: Question, n: int) -> np.ndarray | None:
        """Chunk ids of the reports of the place the question names (of its year, when it names
        one and some are), or None when no search of their own is needed or worth it."""
        docs = list(question.place_docs)
        if not docs or len(self.documents) == len(docs) or int(self.snapshot.manifest["n_chunks"]) <= n:
            return None  # every chunk is a global candidate already
        in_year = [d for d in docs if self._of_year_asked(d, question)]
        docs = in_year or docs
        if sum(self.documents[d].n_chunks for d in docs) > PLACE_SCOPE_MAX_CHUNKS:
            return None
        ids = np.asarray(self.snapshot.chunk_ids_of(docs), dtype=np.int64)
        return ids if ids.size else None

    def _of_year_asked(self, doc_id: str, question: Question) -> bool:
        """Is the report of a year the question asks, or a work report that reviews it (asked 2025, the
        2026年政府工作报告 gives 2025's actuals)?"""
        meta = self.documents[doc_id].metadata
        return meta.year in question.years or reviews_year(meta.title, meta.year, question.period_years)

    def _allowed_ids(self, filters: Filters) -> np.ndarray | None:
        if not filters.active:
            return None
        doc_ids = [d for d, doc in self.documents.items() if filters.allows(doc)]
        return np.asarray(self.snapshot.chunk_ids_of(doc_ids) if doc_ids else [], dtype=np.int64)

    def _fuse(
        self, dense: list[tuple[int, int, float]], lexical: list[tuple[int, int, float]], question: Question,
        top_k: int
    ) -> list[ScoredChunk]:
        dense_rank = {cid: r for r, cid, _ in dense}
        dense_score = {cid: score for _, cid, score in dense}
        lexical_rank = {cid: r for r, cid, _ in lexical}
        ids = list(dict.fromkeys([c for _, c, _ in dense] + [c for _, c, _ in lexical]))
        # Score every candidate from its document alone; read the full chunks of the top_k only.
        doc_of = self.snapshot.doc_ids_of_chunks(ids)
        of_year = {d: self._of_year_asked(d, question) for d in set(doc_of.values())}  # once a report, not a chunk
        scores = []
        for cid in ids:
            doc_id = doc_of.get(cid)
            if doc_id is None:
                continue
            score = sum(1.0 / (RRF_K + 1 + ranks[cid]) for ranks in (dense_rank, lexical_rank) if cid in ranks)
            if doc_id in question.place_docs:
                score += PLACE_BOOST
            if of_year[doc_id]:
                score += YEAR_BOOST
            scores.append((cid, score))
        scores.sort(key=lambda s: -s[1])
        best = scores[:top_k]
        stored = {s.id: s.chunk for s in self.snapshot.chunks([cid for cid, _ in best])}
        return [
            ScoredChunk(cid, stored[cid], self.documents[doc_of[cid]], score, dense_rank.get(cid),
                        lexical_rank.get(cid), dense_score.get(cid))
            for cid, score in best
        ]


def _then(ranked: list[tuple[int, float]], scoped: list[tuple[int, float]], n: int) -> list[tuple[int, int, float]]:
    """(rank, id, score): the n global candidates, then the scoped ones they lack, ranked
    as if just past the global ones, in their own order."""
    seen = {cid for cid, _ in ranked}
    extra = [c for c in scoped if c[0] not in seen]
    return _ranked(ranked) + [(n + r, cid, score) for r, (cid, score) in enumerate(extra)]


def _ranked(hits: list[tuple[int, float]]) -> list[tuple[int, int, float]]:
    return [(r, cid, score) for r, (cid, score) in enumerate(hits)]
