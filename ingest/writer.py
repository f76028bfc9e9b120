"""The index's only writer: stages added and removed reports and commits them as one new
version (format and layout in `core.index`).

A write builds the next version in a temporary folder beside the live one and then
switches CURRENT, so a crash or a failing file never leaves a half-written index:
readers see the old version or the new one, nothing in between.
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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import faiss
import numpy as np
from filelock import FileLock, Timeout

from core.figure_records import FigureRecord
from core.index import (
    ANN_KINDS,
    CURRENT,
    FIGURE_COLUMNS,
    FORMAT_VERSION,
    HNSW_EF_SEARCH,
    SCHEMA,
    SOURCES,
    TMP_MARK,
    VERSIONS,
    WRITE_LOCK,
    IndexStoreError,
    ModelMismatchError,
    apply_search_params,
    box_row,
    connect,
    current_version_dir,
    document_sources,
    read_manifest,
    require_format,
)
from core.lexical import LexicalIndex, Vocabulary
from core.models import Chunk, Report, Section

log = logging.getLogger(__name__)

# HNSW: 32 links per node; the search beam (efSearch) is well above the retriever's 50
# candidates. IVF: sqrt(N) lists (1000 at 1M chunks) trained on 40 points per list (k-means
# on all 1M would take most of an hour on 2 cores), and a probe of 1/16 of the lists
# (bench/query.py measures recall@10 against exact search).
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
IVF_PROBE_FRACTION = 16
IVF_TRAIN_POINTS_PER_LIST = 40


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
    apply_search_params(index, params)
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



def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")



@dataclass
class PendingReport:
    """A report ready to store: its sections, chunks, their vectors, tokens and figure records (one list
    per chunk), and the vectors of the records' descriptions (one row per record, chunk by chunk)."""

    report: Report
    sections: list[Section]
    chunks: list[Chunk]
    vectors: np.ndarray
    tokens: list[list[str]]
    figures: list[list[FigureRecord]]
    figure_vectors: np.ndarray
    original: Path | None = None  # a private copy of a paged report's file (bytes of report.original_sha256)


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
        self.base_manifest = read_manifest(self.base) if self.base is not None else None
        if self.base_manifest is not None:
            manifest = self.base_manifest
            try:
                require_format(manifest, self.index_dir)
            except IndexStoreError:
                self._lock.release()
                raise
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
        return self.base_manifest is not None and self.base_manifest.get("ann", "flat") != self.ann

    def existing(self) -> dict[str, str]:
        """doc_id -> source of the reports in the base version (sources may repeat: uploads of one name)."""
        return document_sources(self.base) if self.base is not None else {}

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
        vectors = self._base_index("vectors.faiss")
        self.timings["indexing"] += time.perf_counter() - t0
        if self.base is not None and self.base_manifest is not None and not self._adds and not self._removes:
            # Only the vector index changes (another REPORTQA_ANN): the immutable doc store, lexical
            # index and figure vectors of the base version are shared by hard links, not rebuilt.
            t0 = time.perf_counter()
            os.link(self.base / "docstore.sqlite", db_path)
            shutil.copytree(self.base / "lexical", tmp / "lexical", copy_function=os.link)
            os.link(self.base / "figures.faiss", tmp / "figures.faiss")
            if (self.base / SOURCES).exists():
                shutil.copytree(self.base / SOURCES, tmp / SOURCES, copy_function=os.link)
            n_docs, n_chunks, n_sents, n_figures = (self.base_manifest[k] for k in
                                                    ("n_documents", "n_chunks", "n_sentences", "n_figures"))
            self.timings["writing"] += time.perf_counter() - t0
        else:
            t0 = time.perf_counter()
            figure_vectors = self._base_index("figures.faiss")
            self.timings["indexing"] += time.perf_counter() - t0
            t0 = time.perf_counter()
            conn = connect(db_path, readonly=False)
            try:
                if self.base is not None:
                    src = connect(self.base / "docstore.sqlite", readonly=True)
                    src.backup(conn)
                    src.close()
                conn.executescript(SCHEMA)
                self._apply_removals(conn, vectors, figure_vectors)
                self._apply_additions(conn, vectors, figure_vectors)
                conn.commit()
                n_docs = conn.execute("SELECT COUNT(*) FROM documents").fetchone()[0]
                n_sents = conn.execute("SELECT COUNT(*) FROM sentences").fetchone()[0]
                n_figures = figure_vectors.ntotal
                faiss.write_index(figure_vectors, str(tmp / "figures.faiss"))
                self._write_sources(conn, tmp / SOURCES)
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
            "figure_index": "IndexIDMap2(IndexFlatIP) of figure descriptions",
            "ann": self.ann,
            "ann_params": ann_params,
            "lexical_index": "bm25s over jieba tokens",
            "n_documents": n_docs,
            "n_chunks": n_chunks,
            "n_sentences": n_sents,
            "n_figures": n_figures,
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

    def _write_sources(self, conn: sqlite3.Connection, folder: Path) -> None:
        """The original file of every paged report the new version holds: a hard link to the base
        version's copy when it has one, else the staged copy of an added report."""
        staged = {p.report.original_sha256: p.original for p in self._adds if p.original is not None}
        folder.mkdir()
        for (sha256,) in conn.execute("SELECT DISTINCT sha256 FROM originals"):
            kept = self.base / SOURCES / sha256 if self.base is not None else None
            if kept is not None and kept.exists():
                os.link(kept, folder / sha256)
            else:
                shutil.copyfile(staged[sha256], folder / sha256)

    def _base_index(self, name: str) -> faiss.IndexIDMap2:
        """The base version's vectors of file `name` (chunks or figures) in an exact index, which
        takes removals and additions."""
        if self.base is not None:
            return exact_copy(faiss.read_index(str(self.base / name)))
        return faiss.IndexIDMap2(faiss.IndexFlatIP(self.dim))

    def _base_created(self) -> str | None:
        return self.base_manifest.get("created_at") if self.base_manifest is not None else None

    def _apply_removals(self, conn: sqlite3.Connection, vectors: faiss.IndexIDMap2,
                        figure_vectors: faiss.IndexIDMap2) -> None:
        doomed = set(self._removes) | {p.report.doc_id for p in self._adds}
        if not doomed:
            return
        marks = ",".join("?" * len(doomed))
        for table, index in (("chunks", vectors), ("figures", figure_vectors)):
            ids = [r[0] for r in conn.execute(f"SELECT id FROM {table} WHERE doc_id IN ({marks})", list(doomed))]
            if ids:
                index.remove_ids(np.asarray(ids, dtype=np.int64))
        conn.execute(f"DELETE FROM documents WHERE doc_id IN ({marks})", list(doomed))

    def _apply_additions(self, conn: sqlite3.Connection, vectors: faiss.IndexIDMap2,
                         figure_vectors: faiss.IndexIDMap2) -> None:
        insert_figure = (f"INSERT INTO figures (chunk, ordinal, {', '.join(FIGURE_COLUMNS)}) "
                         f"VALUES ({','.join('?' * (len(FIGURE_COLUMNS) + 2))})")
        for p in self._adds:
            r, m = p.report, p.report.metadata
            conn.execute(
                "INSERT INTO documents VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (r.doc_id, r.source, r.format, r.encoding, m.title, m.issuer, m.doc_number,
                 m.publish_date, m.index_number, m.year, r.text,
                 json.dumps([s.to_dict() for s in p.sections], ensure_ascii=False), _now()),
            )
            _insert_pages(conn, p)
            ids = []
            figure_ids: list[int | None] = []
            for chunk, tokens, figures in zip(p.chunks, p.tokens, p.figures, strict=True):
                cur = conn.execute(
                    "INSERT INTO chunks (chunk_id, doc_id, ordinal, section_path, char_start, char_end, text,"
                    " embed_text, kind, tokens, pages) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                    (chunk.chunk_id, chunk.doc_id, chunk.ordinal, json.dumps(chunk.section_path, ensure_ascii=False),
                     chunk.char_start, chunk.char_end, chunk.text, chunk.embed_text, chunk.kind,
                     json.dumps(tokens, ensure_ascii=False), json.dumps(list(chunk.pages))),
                )
                ids.append(cur.lastrowid)
                conn.executemany(
                    "INSERT INTO sentences VALUES (?,?,?,?)",
                    [(cur.lastrowid, k, s, e) for k, (s, e) in enumerate(chunk.sentences)],
                )
                figure_ids.extend(conn.execute(insert_figure, (cur.lastrowid, k, *_figure_row(f))).lastrowid
                                  for k, f in enumerate(figures))
            if ids:
                vectors.add_with_ids(np.asarray(p.vectors, dtype=np.float32), np.asarray(ids, dtype=np.int64))
            if len(p.figure_vectors) != len(figure_ids):
                raise ValueError(f"report {p.report.doc_id} has {len(figure_ids)} figure records but "
                                 f"{len(p.figure_vectors)} figure vectors")
            if figure_ids:
                figure_vectors.add_with_ids(np.asarray(p.figure_vectors, dtype=np.float32),
                                            np.asarray(figure_ids, dtype=np.int64))


def _insert_pages(conn: sqlite3.Connection, pending: PendingReport) -> None:
    """A paged report's pages with the boxes printed on each, and the record of its original file."""
    report = pending.report
    on_page: dict[int, list[list[Any]]] = defaultdict(list)
    for box in report.boxes:
        on_page[box.page].append(box_row(box))
    conn.executemany(
        "INSERT INTO pages VALUES (?,?,?,?,?,?,?)",
        [(report.doc_id, pg.number, pg.char_start, pg.char_end, pg.width, pg.height, json.dumps(on_page[pg.number]))
         for pg in report.pages],
    )
    if pending.original is not None and report.original_sha256 is not None:
        conn.execute("INSERT INTO originals VALUES (?,?,?)",
                     (report.doc_id, report.original_sha256, pending.original.stat().st_size))


def _figure_row(record: FigureRecord) -> tuple[Any, ...]:
    """A record's values in FIGURE_COLUMNS order (its section path as JSON)."""
    values = record.to_dict()
    values["section_path"] = json.dumps(record.section_path, ensure_ascii=False)
    return tuple(values[c] for c in FIGURE_COLUMNS)


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



def prune_versions(index_dir: Path, keep: int) -> None:
    """Delete versions older than the live one beyond `keep`, so the folder does not grow."""
    live = current_version_dir(index_dir)
    versions = sorted(
        (p for p in (index_dir / VERSIONS).iterdir() if p.name.isdigit() and p != live), key=lambda p: p.name
    )
    for old in versions[: max(0, len(versions) - keep)]:
        shutil.rmtree(old, ignore_errors=True)

