"""Large benchmark indexes (10k to 1M chunks) built in minutes on 2 cores.

Embedding a million chunks with the model would take days here, so a large index is:

* the real reports (data/samples and ../shared/corpus/devreal) through the real pipeline
  (read, split, embed, tokenise), so the gold questions have their evidence in it, and
* synthetic reports made of real sentences under real headings, each with its own issuer
  and year, built straight into chunks. Every distinct sentence and heading is embedded
  and tokenised once (a pool cached on disk per model); a chunk's tokens are its title's,
  headings' and sentences' tokens, and its vector is the normalised mean of its
  sentences' and sub-heading's vectors, which its figures' description vectors take too. The
  text and BM25 side is therefore real-sized and realistic; the vectors are realistic in
  distribution but cheap, not the model's embedding of that exact chunk or description
  (bench/README.md says so beside the tables).
"""

from __future__ import annotations

import hashlib
import logging
import pickle
import random
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from core.config import Settings
from core.embedding import get_embedder
from core.figure_records import report_figure_records
from core.lexical import tokenize
from core.models import Chunk, Report, ReportMetadata
from ingest.pipeline import discover, embed_all, load_report, prepare
from ingest.writer import IndexWriter, PendingReport

from .synthetic import STREETS, material

log = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parent.parent
REAL = [ROOT / "data" / "samples", ROOT.parent / "shared" / "corpus" / "devreal"]
CACHE = Path.home() / ".cache" / "reportqa-bench"
BUILD_BATCH = 100_000  # chunks a commit when building a large index (about 2 GB of pending reports)
CN = "一二三四五六七八九十"


@dataclass
class Pool:
    """Every distinct heading and sentence of the real reports, with its tokens and vector."""

    tops: list[str]
    subs: list[str]
    sentences: list[str]
    tokens: dict[str, list[str]]
    row: dict[str, int]  # text -> its row of `matrix`
    matrix: np.ndarray


def sentence_pool(settings: Settings) -> Pool:
    """The pool, embedded once per model and cached in ~/.cache/reportqa-bench."""
    tops, subs, sentences = (sorted(set(x)) for x in material())
    texts = sorted(set(tops) | set(subs) | set(sentences))
    embedder = get_embedder(settings)
    key = hashlib.sha256(("\n".join(texts) + embedder.model_id).encode()).hexdigest()[:16]
    path = CACHE / f"pool-{key}.pkl"
    if path.exists():
        vectors = pickle.loads(path.read_bytes())
    else:
        log.info("embedding a pool of %d real sentences and headings (once per model)", len(texts))
        vectors = dict(zip(texts, embedder.embed_passages(texts)))
        CACHE.mkdir(parents=True, exist_ok=True)
        path.write_bytes(pickle.dumps(vectors))
    return Pool(tops, subs, sentences, {t: tokenize(t) for t in texts}, {t: i for i, t in enumerate(texts)},
                np.asarray([vectors[t] for t in texts], dtype=np.float32))


def real_reports(settings: Settings) -> list[PendingReport]:
    """The real reports, read, split and embedded by the real pipeline."""
    files, _ = discover([p for p in REAL if p.exists()])
    pending = [prepare(load_report(f, settings), settings) for f in files if f.suffix == ".txt"]
    embed_all(pending, get_embedder(settings), settings.embedding_batch_size)
    return pending


@cache
def _title_tokens(year: int) -> list[str]:
    return tokenize(f"关于{year}年度法治政府建设情况的报告")


def synthetic_report(i: int, pool: Pool, rng: random.Random) -> PendingReport:
    """One synthetic report of about 15 chunks, straight to chunks, tokens and vectors."""
    street = f"{rng.choice(STREETS)}{i}街道"
    year = 2015 + i % 10
    title = f"{street}关于{year}年度法治政府建设情况的报告"
    lines, offset = [title], len(title) + 1
    title_tokens = tokenize(street) + _title_tokens(year)
    doc_id = hashlib.sha256(f"synthetic-{i}".encode()).hexdigest()[:16]
    chunks, tokens, rows, starts = [], [], [], []
    for t in range(4):
        top = f"{CN[t]}、{rng.choice(pool.tops)}"
        lines.append(top)
        offset += len(top) + 1
        for s in range(rng.randint(2, 4)):
            sub_name = rng.choice(pool.subs)
            sub = f"({CN[s]}){sub_name}"
            lines.append(sub)
            offset += len(sub) + 1
            group = rng.sample(pool.sentences, k=rng.randint(2, 5))
            spans, start = [], offset
            for sentence in group:
                spans.append((offset, offset + len(sentence)))
                offset += len(sentence)
            body = "".join(group)
            lines.append(body)
            offset += 1
            path = [top, sub]
            chunks.append(Chunk(
                chunk_id=f"{doc_id[:12]}-{start}-{start + len(body)}", doc_id=doc_id, ordinal=len(chunks),
                section_path=path, text=body, char_start=start, char_end=start + len(body), sentences=spans,
                embed_text=f"{title}\n{' > '.join(path)}\n{body}", kind="text",
            ))
            tokens.append(title_tokens + pool.tokens[top[2:]] + pool.tokens[sub_name]
                          + [tok for sentence in group for tok in pool.tokens[sentence]])
            starts.append(len(rows))
            rows.extend(pool.row[x] for x in [sub_name, *group])
    text = "\n".join(lines) + "\n"
    meta = ReportMetadata(title=title, issuer=street, doc_number=f"浦街〔{year + 1}〕{i % 50 + 1}号",
                          publish_date=f"{year + 1}-01-{i % 28 + 1:02d}", year=year)
    report = Report(doc_id=doc_id, source=f"synthetic/{i:07d}.txt", format="txt", encoding="utf-8", text=text,
                    metadata=meta)
    matrix = np.add.reduceat(pool.matrix[rows], starts, axis=0)  # mean up to scale: normalised next
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    figures = report_figure_records(chunks, year)
    figure_rows = [n for n, records in enumerate(figures) for _ in records]
    return PendingReport(report, [], chunks, matrix, tokens, figures, matrix[figure_rows])


def build(index_dir: Path, n_chunks: int, settings: Settings, real: list[PendingReport], pool: Pool,
          ann: str = "flat") -> int:
    """An index of about `n_chunks` chunks (the real reports among them), written as one segment of at
    most BUILD_BATCH chunks a commit and then compacted into one: the writer holds one batch's reports
    (with their figure records and vectors), not all of them (at 1M chunks that did not fit in 24 GiB)."""
    embedder = get_embedder(settings)
    rng = random.Random(n_chunks)
    total, i = 0, 0
    reports = iter(real)
    first = True
    while total < n_chunks:
        with IndexWriter(index_dir, embedder.model_id, embedder.dim, rebuild=first, ann=ann,
                         max_segments=n_chunks // BUILD_BATCH + 2) as writer:
            batch = 0
            while batch < BUILD_BATCH and total < n_chunks:
                pending = next(reports, None)
                if pending is None:
                    pending = synthetic_report(i, pool, rng)
                    i += 1
                writer.add(pending)
                batch += len(pending.chunks)
                total += len(pending.chunks)
            writer.commit()
        first = False
    with IndexWriter(index_dir, embedder.model_id, embedder.dim, ann=ann) as writer:
        writer.compact()
        writer.commit()
    return total


def convert(index_dir: Path, settings: Settings, ann: str) -> None:
    """A new version of the same index with another kind of vector index (nothing re-embedded)."""
    from core.index import open_index

    snapshot = open_index(index_dir)
    model_id, dim = snapshot.embedding_model, int(snapshot.manifest["embedding_dim"])
    snapshot.close()
    with IndexWriter(index_dir, model_id, dim, keep_versions=settings.keep_versions, ann=ann) as writer:
        writer.commit()
