"""The index on disk. This module is the only one that reads or writes its format.

Layout of an index directory:

    CURRENT                  name of the live version (switched by one atomic rename)
    versions/000007/         one complete, immutable version:
        manifest.json        format version, embedding model and dimension, counts, times
        vectors.faiss        IndexIDMap2 over L2-normalised vectors: IndexFlatIP (exact, the
                             default) or IndexHNSWFlat / IndexIVFFlat (approximate, for large
                             indexes; REPORTQA_ANN), named in the manifest with its parameters
        lexical/             bm25s index over jieba tokens, plus ids.npy
        docstore.sqlite      documents (metadata, original text, sections), chunks, sentences
    .write.lock              one writer at a time

A write builds the next version in a temporary folder beside the live one and then
switches CURRENT, so a crash or a failing file never leaves a half-written index:
readers see the old version or the new one, nothing in between.

Readers open the vector index memory-mapped (flat codes and IVF lists), so a server
starts without reading the vectors into its own memory and several workers on one
machine share the page cache.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sqlite3
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import faiss
import numpy as np
from filelock import FileLock, Timeout

from reportqa.models import Chunk, Report, ReportMetadata, Section

from .lexical import LexicalIndex, Vocabulary

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
CURRENT = "CURRENT"
VERSIONS = "versions"
TMP_MARK = ".tmp-"
ANN_KINDS = ("flat", "hnsw", "ivf")
# HNSW: 32 links per node; the search beam (efSearch) is well above the retriever's 50
# candidates. IVF: sqrt(N) lists (1000 at 1M chunks) trained on 40 points per list (k-means
# on all 1M would take most of an hour on 2 cores), and a probe of 1/16 of the lists
# (bench/query.py measures recall@10 against exact search).
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 128
IVF_PROBE_FRACTION = 16
IVF_TRAIN_POINTS_PER_LIST = 40
# Memory-mapped reads: flat codes (flat, and HNSW's storage) and IVF inverted lists.
# One query is searched on one thread: a second OpenMP thread gains nothing for a single
# query but spins for a core, and on a busy machine a 20k-chunk search went from 2.4 to
# 25 ms of CPU with two (bench/README.md). Concurrent requests use the other cores.
SEARCH_THREADS = 1
READ_FLAGS = {"flat": faiss.IO_FLAG_MMAP_IFC, "hnsw": faiss.IO_FLAG_MMAP_IFC, "ivf": faiss.IO_FLAG_MMAP}
# A search among at most this many ids scores their stored vectors one by one (exact, ~7 us
# each) instead of scanning the index with an id filter: at 1M chunks with IVF, 82 ids took
# 0.6 ms that way and 80 ms by filtered scan (which probes every list).
SUBSET_SEARCH_MAX = 4096
WRITE_LOCK = ".write.lock"
UPLOAD_SOURCE = "upload:"  # the source of an uploaded report: this prefix and the file name it was sent under

_SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    doc_id TEXT PRIMARY KEY,
    source TEXT NOT NULL,
    format TEXT NOT NULL,
    encoding TEXT,
    title TEXT, issuer TEXT, doc_number TEXT, publish_date TEXT, index_number TEXT, year INTEGER,
    text TEXT NOT NULL,
    sections TEXT NOT NULL,
    added_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    chunk_id TEXT NOT NULL UNIQUE,
    doc_id TEXT NOT NULL REFERENCES documents(doc_id) ON DELETE CASCADE,
    ordinal INTEGER NOT NULL,
    section_path TEXT NOT NULL,
    char_start INTEGER NOT NULL,
    char_end INTEGER NOT NULL,
    text TEXT NOT NULL,
    embed_text TEXT NOT NULL,
    kind TEXT NOT NULL,
    tokens TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks(doc_id);
CREATE TABLE IF NOT EXISTS sentences (
    chunk INTEGER NOT NULL REFERENCES chunks(id) ON DELETE CASCADE,
    ordinal INTEGER NOT NULL,
    char_start INTEGER NOT NULL,
    char_end INTEGER NOT NULL,
    PRIMARY KEY (chunk, ordinal)
);
"""


class IndexError_(Exception):
    """Base of the index's own errors (named to keep clear of the builtin IndexError)."""


class IndexNotFoundError(IndexError_):
    pass


class ModelMismatchError(IndexError_):
    pass


class IntegrityError(IndexError_):
    pass


@dataclass(frozen=True)
class DocumentRecord:
    """A stored report: metadata and counts, plus its original text when asked for."""

    doc_id: str
    source: str
    format: str
    encoding: str | None
    metadata: ReportMetadata
    n_chunks: int
    added_at: str
    text: str | None = None
    sections: list[dict[str, Any]] | None = None

    @property
    def file_name(self) -> str:
        """The source's file name alone: what readers may see (a server path tells them about the server)."""
        return self.source.removeprefix(UPLOAD_SOURCE).replace("\\", "/").rsplit("/", 1)[-1]

    def to_dict(self, full_source: bool = True) -> dict[str, Any]:
        """The record as the API shows it; `full_source` False (readers) shows only the file name as source."""
        out: dict[str, Any] = {
            "doc_id": self.doc_id,
            "source": self.source if full_source else self.file_name,
            "format": self.format,
            "encoding": self.encoding,
            **self.metadata.to_dict(),
            "n_chunks": self.n_chunks,
            "added_at": self.added_at,
        }
        if self.sections is not None:
            out["sections"] = self.sections
        return out


@dataclass(frozen=True)
class StoredChunk:
    """A chunk as the retriever sees it: its integer id in the vector and lexical indexes."""

    id: int
    chunk: Chunk


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _connect(path: Path, readonly: bool) -> sqlite3.Connection:
    if readonly:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
    else:
        conn = sqlite3.connect(path)
        conn.execute("PRAGMA foreign_keys = ON")
    conn.row_factory = sqlite3.Row
    return conn


def current_version_dir(index_dir: Path) -> Path | None:
    """The live version's folder, or None when no index was ever written here."""
    pointer = index_dir / CURRENT
    if not pointer.exists():
        return None
    return index_dir / VERSIONS / pointer.read_text(encoding="utf-8").strip()


class IndexSnapshot:
    """A read-only view of one index version; safe to share between request threads."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.manifest: dict[str, Any] = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        if self.manifest.get("format_version") != FORMAT_VERSION:
            raise IndexError_(
                f"index format {self.manifest.get('format_version')} is not supported "
                f"(this reportqa reads format {FORMAT_VERSION}); re-index the reports"
            )
        self.vectors = faiss.read_index(str(folder / "vectors.faiss"), READ_FLAGS[self.ann])
        _apply_search_params(self.vectors, self.manifest.get("ann_params", {}))
        inner = faiss.downcast_index(self.vectors.index)
        if isinstance(inner, faiss.IndexIVF):
            inner.make_direct_map()  # vectors by id, for subset searches (15 ms and 8 MB at 1M chunks)
        self.lexical = LexicalIndex.load(folder / "lexical")
        self.db = _connect(folder / "docstore.sqlite", readonly=True)

    @property
    def version(self) -> int:
        return int(self.manifest["version"])

    @property
    def embedding_model(self) -> str:
        return str(self.manifest["embedding_model"])

    def require_model(self, model_id: str) -> None:
        """Refuse to be queried with vectors of another model than the one it was built with."""
        if model_id != self.embedding_model:
            raise ModelMismatchError(
                f"the index at {self.folder.parent.parent} was built with embedding model "
                f"'{self.embedding_model}' but the configured model is '{model_id}': re-index the "
                "reports with the configured model (reportqa ingest --rebuild), or set "
                "REPORTQA_EMBEDDING_MODEL back to the index's model"
            )

    def documents(self) -> list[DocumentRecord]:
        rows = self.db.execute(
            "SELECT d.*, (SELECT COUNT(*) FROM chunks c WHERE c.doc_id = d.doc_id) AS n_chunks "
            "FROM documents d ORDER BY d.added_at, d.source"
        ).fetchall()
        return [_doc_record(r, with_text=False) for r in rows]

    def document(self, doc_id: str, with_text: bool = True) -> DocumentRecord | None:
        row = self.db.execute(
            "SELECT d.*, (SELECT COUNT(*) FROM chunks c WHERE c.doc_id = d.doc_id) AS n_chunks "
            "FROM documents d WHERE d.doc_id = ?",
            (doc_id,),
        ).fetchone()
        return _doc_record(row, with_text=with_text) if row else None

    def chunks(self, ids: list[int]) -> list[StoredChunk]:
        """Chunks by integer id, in the order asked for (unknown ids are left out)."""
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        rows = {r["id"]: r for r in self.db.execute(f"SELECT * FROM chunks WHERE id IN ({marks})", ids)}
        sents: dict[int, list[tuple[int, int]]] = {}
        for s in self.db.execute(
            f"SELECT chunk, char_start, char_end FROM sentences WHERE chunk IN ({marks}) ORDER BY chunk, ordinal",
            ids,
        ):
            sents.setdefault(s["chunk"], []).append((s["char_start"], s["char_end"]))
        return [StoredChunk(i, _chunk(rows[i], sents.get(i, []))) for i in ids if i in rows]

    def doc_ids_of_chunks(self, ids: list[int]) -> dict[int, str]:
        """chunk id -> doc_id for the known ids among `ids`."""
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        return {r[0]: r[1] for r in self.db.execute(f"SELECT id, doc_id FROM chunks WHERE id IN ({marks})", ids)}

    def chunk_ids_of(self, doc_ids: list[str]) -> list[int]:
        marks = ",".join("?" * len(doc_ids))
        return [r[0] for r in self.db.execute(f"SELECT id FROM chunks WHERE doc_id IN ({marks})", doc_ids)]

    @property
    def ann(self) -> str:
        """The kind of vector index of this version: flat (exact), hnsw or ivf."""
        return str(self.manifest.get("ann", "flat"))

    def dense_search(self, query: np.ndarray, k: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """Top-k (id, inner product) of the vectors nearest `query`, among the `allowed` ids when given."""
        if self.vectors.ntotal == 0 or (allowed is not None and not len(allowed)):
            return []
        if allowed is not None and len(allowed) <= SUBSET_SEARCH_MAX:
            return self._subset_search(query, k, allowed)
        params = None if allowed is None else _filtered_params(self.vectors, self.manifest, allowed)
        faiss.omp_set_num_threads(SEARCH_THREADS)  # per calling thread: each request thread sets its own
        scores, ids = self.vectors.search(np.asarray(query, dtype=np.float32).reshape(1, -1), k, params=params)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0]

    def _subset_search(self, query: np.ndarray, k: int, allowed: np.ndarray) -> list[tuple[int, float]]:
        """Exact top-k among a few ids, from their stored vectors (ids not in this version are skipped)."""
        kept, rows = [], []
        for chunk_id in np.unique(np.asarray(allowed, dtype=np.int64)).tolist():
            try:
                rows.append(self.vectors.reconstruct(chunk_id))
            except RuntimeError:  # FAISS's "key not found"
                continue
            kept.append(chunk_id)
        if not kept:
            return []
        scores = np.vstack(rows) @ np.asarray(query, dtype=np.float32).reshape(-1)
        order = np.argsort(-scores, kind="stable")[:k]
        return [(kept[j], float(scores[j])) for j in order]

    def check_integrity(self) -> list[str]:
        """Problems found (empty when the version is consistent)."""
        problems = []
        n_chunks = self.db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
        n_docs = self.db.execute("SELECT COUNT(*) FROM documents").fetchone()[0]
        if self.vectors.ntotal != n_chunks:
            problems.append(f"vector index has {self.vectors.ntotal} entries, doc store {n_chunks} chunks")
        if len(self.lexical) != n_chunks:
            problems.append(f"lexical index has {len(self.lexical)} entries, doc store {n_chunks} chunks")
        if self.manifest["n_chunks"] != n_chunks or self.manifest["n_documents"] != n_docs:
            problems.append("manifest counts differ from the doc store")
        db_ids = {r[0] for r in self.db.execute("SELECT id FROM chunks")}
        if set(self.lexical.ids.tolist()) != db_ids:
            problems.append("lexical ids differ from chunk ids")
        if n_chunks and set(faiss.vector_to_array(self.vectors.id_map).tolist()) != db_ids:
            problems.append("vector ids differ from chunk ids")
        return problems

    def close(self) -> None:
        self.db.close()


def _apply_search_params(index: faiss.Index, params: dict[str, Any]) -> None:
    inner = faiss.downcast_index(index.index)
    if isinstance(inner, faiss.IndexIVF) and "nprobe" in params:
        inner.nprobe = int(params["nprobe"])
    elif isinstance(inner, faiss.IndexHNSW) and "efSearch" in params:
        inner.hnsw.efSearch = int(params["efSearch"])


def _filtered_params(index: faiss.Index, manifest: dict[str, Any], allowed: np.ndarray) -> faiss.SearchParameters:
    """Search parameters restricted to `allowed` ids. A filter can leave few candidates in the
    lists or graph neighbourhoods an approximate search visits, so IVF probes every list
    (exact over the allowed ids) and HNSW widens its beam."""
    selector = faiss.IDSelectorBatch(np.asarray(allowed, dtype=np.int64))
    inner = faiss.downcast_index(index.index)
    if isinstance(inner, faiss.IndexIVF):
        params = faiss.SearchParametersIVF(sel=selector, nprobe=inner.nlist)
    elif isinstance(inner, faiss.IndexHNSW):
        params = faiss.SearchParametersHNSW(sel=selector, efSearch=max(4 * HNSW_EF_SEARCH, inner.hnsw.efSearch))
    else:
        params = faiss.SearchParameters(sel=selector)
    params.referenced_selector = selector  # keep the selector alive as long as the parameters
    return params


def build_vector_index(flat: faiss.IndexIDMap2, ann: str) -> tuple[faiss.IndexIDMap2, dict[str, Any]]:
    """The vector index of kind `ann` over the vectors of an exact one, and its parameters."""
    if ann not in ANN_KINDS:
        raise ValueError(f"unknown vector index kind {ann!r}: choose one of {', '.join(ANN_KINDS)}")
    if ann == "flat":
        return flat, {}
    n, dim = flat.ntotal, flat.d
    faiss.omp_set_num_threads(int(os.environ.get("OMP_NUM_THREADS") or 0) or os.cpu_count() or 1)  # build on every core
    ids = faiss.vector_to_array(flat.id_map).astype(np.int64)
    vectors = flat.index.reconstruct_n(0, n) if n else np.zeros((0, dim), np.float32)
    if ann == "hnsw":
        inner = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        inner.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        params = {"M": HNSW_M, "efConstruction": HNSW_EF_CONSTRUCTION, "efSearch": HNSW_EF_SEARCH}
    else:
        nlist = max(1, min(int(np.sqrt(n)), n // IVF_TRAIN_POINTS_PER_LIST))
        inner = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist, faiss.METRIC_INNER_PRODUCT)
        inner.cp.min_points_per_centroid = 1  # a small index gets one list (exact); no warning
        if n:
            sample = np.random.default_rng(0).choice(n, size=min(n, nlist * IVF_TRAIN_POINTS_PER_LIST), replace=False)
            inner.train(vectors[np.sort(sample)])
        params = {"nlist": nlist, "nprobe": max(1, -(-nlist // IVF_PROBE_FRACTION))}
    index = faiss.IndexIDMap2(inner)
    if n:
        index.add_with_ids(vectors, ids)
    _apply_search_params(index, params)
    return index, params


def exact_copy(index: faiss.IndexIDMap2) -> faiss.IndexIDMap2:
    """An exact (flat) index with the same ids and vectors as `index`, whatever its kind."""
    inner = faiss.downcast_index(index.index)
    if isinstance(inner, faiss.IndexFlat):
        return index
    if isinstance(inner, faiss.IndexIVF):
        inner.make_direct_map()
    flat = faiss.IndexIDMap2(faiss.IndexFlatIP(index.d))
    if index.ntotal:
        flat.add_with_ids(inner.reconstruct_n(0, index.ntotal), faiss.vector_to_array(index.id_map).astype(np.int64))
    return flat


def _doc_record(row: sqlite3.Row, with_text: bool) -> DocumentRecord:
    meta = ReportMetadata(
        title=row["title"],
        issuer=row["issuer"],
        doc_number=row["doc_number"],
        publish_date=row["publish_date"],
        index_number=row["index_number"],
        year=row["year"],
    )
    return DocumentRecord(
        doc_id=row["doc_id"],
        source=row["source"],
        format=row["format"],
        encoding=row["encoding"],
        metadata=meta,
        n_chunks=row["n_chunks"],
        added_at=row["added_at"],
        text=row["text"] if with_text else None,
        sections=json.loads(row["sections"]) if with_text else None,
    )


def _chunk(row: sqlite3.Row, sentences: list[tuple[int, int]]) -> Chunk:
    return Chunk(
        chunk_id=row["chunk_id"],
        doc_id=row["doc_id"],
        ordinal=row["ordinal"],
        section_path=json.loads(row["section_path"]),
        text=row["text"],
        char_start=row["char_start"],
        char_end=row["char_end"],
        sentences=sentences,
        embed_text=row["embed_text"],
        kind=row["kind"],
    )


def open_index(index_dir: Path) -> IndexSnapshot:
    """The live version of the index at `index_dir`."""
    folder = current_version_dir(index_dir)
    if folder is None or not folder.exists():
        raise IndexNotFoundError(f"no index at {index_dir}: run `reportqa ingest PATH --index {index_dir}` first")
    return IndexSnapshot(folder)


@dataclass
class PendingReport:
    """A report ready to store: its sections, chunks, their vectors and tokens."""

    report: Report
    sections: list[Section]
    chunks: list[Chunk]
    vectors: np.ndarray
    tokens: list[list[str]]


class IndexWriter:
    """Stages changes to an index and commits them as one new version.

    Use as a context manager: it holds the index's write lock for its whole life.
    """

    def __init__(
        self,
        index_dir: Path,
        model_id: str,
        dim: int,
        rebuild: bool = False,
        keep_versions: int = 2,
        ann: str = "flat",
        actor: str | None = None,
    ) -> None:
        if ann not in ANN_KINDS:
            raise ValueError(f"unknown vector index kind {ann!r}: choose one of {', '.join(ANN_KINDS)}")
        self.index_dir = index_dir
        self.model_id, self.dim = model_id, dim
        self.rebuild = rebuild
        self.keep_versions = keep_versions
        self.ann = ann
        self.actor = actor  # who asked (a key id, cli:<user>), for the audit log; None: a caller that keeps none
        # Seconds of the last commit spent building the indexes and writing files.
        self.timings: dict[str, float] = defaultdict(float)
        self._lock = FileLock(str(index_dir / WRITE_LOCK))
        self._adds: list[PendingReport] = []
        self._removes: set[str] = set()

    def __enter__(self) -> IndexWriter:
        self.index_dir.mkdir(parents=True, exist_ok=True)
        self._lock.acquire()
        clean_leftovers(self.index_dir)
        self.base = None if self.rebuild else current_version_dir(self.index_dir)
        if self.base is not None:
            manifest = json.loads((self.base / "manifest.json").read_text(encoding="utf-8"))
            if manifest["embedding_model"] != self.model_id:
                self._lock.release()
                raise ModelMismatchError(
                    f"the index at {self.index_dir} was built with '{manifest['embedding_model']}', "
                    f"not the configured '{self.model_id}': use --rebuild to re-index everything"
                )
        return self

    def __exit__(self, *exc: object) -> None:
        self._lock.release()

    def vector_index_differs(self) -> bool:
        """Whether the base version's vector index is of another kind than this writer writes."""
        if self.base is None:
            return False
        manifest = json.loads((self.base / "manifest.json").read_text(encoding="utf-8"))
        return manifest.get("ann", "flat") != self.ann

    def existing(self) -> dict[str, str]:
        """doc_id -> source of the reports in the base version (sources may repeat: uploads of one name)."""
        if self.base is None:
            return {}
        conn = _connect(self.base / "docstore.sqlite", readonly=True)
        try:
            return {r["doc_id"]: r["source"] for r in conn.execute("SELECT source, doc_id FROM documents")}
        finally:
            conn.close()

    def add(self, pending: PendingReport) -> None:
        self._adds.append(pending)

    def remove(self, doc_id: str) -> None:
        self._removes.add(doc_id)

    def commit(self) -> dict[str, Any]:
        """Write the next version beside the live one and switch to it atomically."""
        versions = self.index_dir / VERSIONS
        versions.mkdir(exist_ok=True)
        number = _next_version_number(versions)
        tmp = versions / f"{number:06d}{TMP_MARK}{os.getpid()}"
        tmp.mkdir()
        try:
            manifest = self._write_version(tmp, number)
            final = versions / f"{number:06d}"
            os.replace(tmp, final)
            _fsync(versions)
            _switch_current(self.index_dir, final.name)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        prune_versions(self.index_dir, keep=self.keep_versions)
        return manifest

    def _write_version(self, tmp: Path, number: int) -> dict[str, Any]:
        self.timings.clear()
        db_path = tmp / "docstore.sqlite"
        t0 = time.perf_counter()
        vectors = self._base_vectors()
        self.timings["indexing"] += time.perf_counter() - t0
        if self.base is not None and not self._adds and not self._removes:
            # Only the vector index changes (another REPORTQA_ANN): the immutable doc store
            # and lexical index of the base version are shared by hard links, not rebuilt.
            t0 = time.perf_counter()
            os.link(self.base / "docstore.sqlite", db_path)
            shutil.copytree(self.base / "lexical", tmp / "lexical", copy_function=os.link)
            base_manifest = json.loads((self.base / "manifest.json").read_text(encoding="utf-8"))
            n_docs, n_chunks, n_sents = (base_manifest[k] for k in ("n_documents", "n_chunks", "n_sentences"))
            self.timings["writing"] += time.perf_counter() - t0
        else:
            t0 = time.perf_counter()
            conn = _connect(db_path, readonly=False)
            try:
                if self.base is not None:
                    src = _connect(self.base / "docstore.sqlite", readonly=True)
                    src.backup(conn)
                    src.close()
                conn.executescript(_SCHEMA)
                self._apply_removals(conn, vectors)
                self._apply_additions(conn, vectors)
                conn.commit()
                n_docs = conn.execute("SELECT COUNT(*) FROM documents").fetchone()[0]
                n_sents = conn.execute("SELECT COUNT(*) FROM sentences").fetchone()[0]
                self.timings["writing"] += time.perf_counter() - t0
                t0 = time.perf_counter()
                n_chunks = _write_lexical(tmp / "lexical", conn.execute("SELECT id, tokens FROM chunks ORDER BY id"))
                self.timings["indexing"] += time.perf_counter() - t0
            finally:
                conn.close()
        t0 = time.perf_counter()
        vectors, ann_params = build_vector_index(vectors, self.ann)
        self.timings["indexing"] += time.perf_counter() - t0
        t0 = time.perf_counter()
        faiss.write_index(vectors, str(tmp / "vectors.faiss"))
        created = self._base_created() or _now()
        manifest = {
            "format_version": FORMAT_VERSION,
            "version": number,
            "embedding_model": self.model_id,
            "embedding_dim": self.dim,
            "vector_index": f"IndexIDMap2({type(faiss.downcast_index(vectors.index)).__name__})",
            "ann": self.ann,
            "ann_params": ann_params,
            "lexical_index": "bm25s over jieba tokens",
            "n_documents": n_docs,
            "n_chunks": n_chunks,
            "n_sentences": n_sents,
            "created_at": created,
            "updated_at": _now(),
            # The change itself, written with the version so that the audit log can recover it when
            # the writer is killed after the switch and before its caller logged the change.
            "change": {"actor": self.actor, "added": [p.report.doc_id for p in self._adds],
                       "removed": sorted(self._removes)},
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
        for path in sorted(tmp.rglob("*"), reverse=True):  # files, then their folders' entries
            _fsync(path)
        _fsync(tmp)
        self.timings["writing"] += time.perf_counter() - t0
        return manifest

    def _base_vectors(self) -> faiss.IndexIDMap2:
        """The base version's vectors in an exact index, which takes removals and additions."""
        if self.base is not None:
            return exact_copy(faiss.read_index(str(self.base / "vectors.faiss")))
        return faiss.IndexIDMap2(faiss.IndexFlatIP(self.dim))

    def _base_created(self) -> str | None:
        if self.base is None:
            return None
        return json.loads((self.base / "manifest.json").read_text(encoding="utf-8")).get("created_at")

    def _apply_removals(self, conn: sqlite3.Connection, vectors: faiss.IndexIDMap2) -> None:
        doomed = set(self._removes) | {p.report.doc_id for p in self._adds}
        if not doomed:
            return
        marks = ",".join("?" * len(doomed))
        ids = [r[0] for r in conn.execute(f"SELECT id FROM chunks WHERE doc_id IN ({marks})", list(doomed))]
        if ids:
            vectors.remove_ids(np.asarray(ids, dtype=np.int64))
        conn.execute(f"DELETE FROM documents WHERE doc_id IN ({marks})", list(doomed))

    def _apply_additions(self, conn: sqlite3.Connection, vectors: faiss.IndexIDMap2) -> None:
        for p in self._adds:
            r, m = p.report, p.report.metadata
            conn.execute(
                "INSERT INTO documents VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (r.doc_id, r.source, r.format, r.encoding, m.title, m.issuer, m.doc_number,
                 m.publish_date, m.index_number, m.year, r.text,
                 json.dumps([s.to_dict() for s in p.sections], ensure_ascii=False), _now()),
            )
            ids = []
            for chunk, tokens in zip(p.chunks, p.tokens):
                cur = conn.execute(
                    "INSERT INTO chunks (chunk_id, doc_id, ordinal, section_path, char_start, char_end, text,"
                    " embed_text, kind, tokens) VALUES (?,?,?,?,?,?,?,?,?,?)",
                    (chunk.chunk_id, chunk.doc_id, chunk.ordinal, json.dumps(chunk.section_path, ensure_ascii=False),
                     chunk.char_start, chunk.char_end, chunk.text, chunk.embed_text, chunk.kind, json.dumps(tokens, ensure_ascii=False)),
                )
                ids.append(cur.lastrowid)
                conn.executemany(
                    "INSERT INTO sentences VALUES (?,?,?,?)",
                    [(cur.lastrowid, k, s, e) for k, (s, e) in enumerate(chunk.sentences)],
                )
            if ids:
                vectors.add_with_ids(np.asarray(p.vectors, dtype=np.float32), np.asarray(ids, dtype=np.int64))


def _write_lexical(folder: Path, rows: sqlite3.Cursor) -> int:
    """Build and save the BM25 index from (id, tokens JSON) rows; returns the number of chunks.

    Tokens become vocabulary ids row by row, so a million chunks never hold their token
    strings in memory all at once (they did: about 7 GB at 1M chunks).
    """
    ids: list[int] = []
    vocab = Vocabulary()
    token_ids = []
    for chunk_id, tokens in rows:
        ids.append(chunk_id)
        token_ids.append(vocab.ids(json.loads(tokens)))
    LexicalIndex.build_from_ids(token_ids, vocab, np.asarray(ids, dtype=np.int64)).save(folder)
    return len(ids)


def _next_version_number(versions: Path) -> int:
    numbers = [int(p.name[:6]) for p in versions.iterdir() if p.name[:6].isdigit()]
    return max(numbers, default=0) + 1


def _switch_current(index_dir: Path, name: str) -> None:
    tmp = index_dir / f"{CURRENT}{TMP_MARK}{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(name)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, index_dir / CURRENT)
    _fsync(index_dir)


def _fsync(path: Path) -> None:
    """Flush a file, or a folder's entries (after a rename), to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def clean_leftovers(index_dir: Path) -> None:
    """Remove temporary folders and files a killed writer left behind (call under the lock)."""
    for leftover in index_dir.glob(f"{CURRENT}{TMP_MARK}*"):
        leftover.unlink(missing_ok=True)
    versions = index_dir / VERSIONS
    if versions.exists():
        for leftover in versions.glob(f"*{TMP_MARK}*"):
            log.info("removing leftover %s", leftover)
            shutil.rmtree(leftover, ignore_errors=True)


def recover(index_dir: Path, then: Callable[[], object] | None = None) -> bool:
    """At start-up, remove what a killed writer left behind, then run `then` (the audit log's
    recovery) while no writer can switch versions; skipped (False) while a writer is at work."""
    if not (index_dir / VERSIONS).exists():
        return False
    try:
        with FileLock(str(index_dir / WRITE_LOCK), timeout=0):
            clean_leftovers(index_dir)
            if then is not None:
                then()
    except Timeout:
        log.info("a writer holds %s; leftovers are left to it", index_dir / WRITE_LOCK)
        return False
    return True


def version_manifests(index_dir: Path) -> list[dict[str, Any]]:
    """The manifests of the versions on disk (the live one and those kept), oldest first."""
    folder = index_dir / VERSIONS
    if not folder.exists():
        return []
    manifests = []
    for version in sorted(p for p in folder.iterdir() if p.name.isdigit()):
        try:
            manifests.append(json.loads((version / "manifest.json").read_text(encoding="utf-8")))
        except (OSError, ValueError):  # pruned meanwhile, or never finished
            continue
    return manifests


def prune_versions(index_dir: Path, keep: int) -> None:
    """Delete versions older than the live one beyond `keep`, so the folder does not grow."""
    live = current_version_dir(index_dir)
    versions = sorted(
        (p for p in (index_dir / VERSIONS).iterdir() if p.name.isdigit() and p != live), key=lambda p: p.name
    )
    for old in versions[: max(0, len(versions) - keep)]:
        shutil.rmtree(old, ignore_errors=True)

