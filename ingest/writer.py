"""The index's only writer: stages added and removed reports and commits them as one new
version (format and layout in `core.index`).

A write builds the next version in a temporary folder beside the live one and then
switches CURRENT, so a crash or a failing file never leaves a half-written index:
readers see the old version or the new one, nothing in between. The next version hard-links
the live one's segments, writes one new segment for the reports added, and records removals
as tombstones in its manifest, so a write costs what it adds, not the size of the index.
Segments are merged when a write leaves more than `max_segments` (the smallest ones), or all
of them, tombstoned rows dropped, by `compact` (`reportqa compact`).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sqlite3
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
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
    READ_FLAGS,
    SCHEMA,
    SEGMENTS,
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
from core.lexical import LexicalSegment
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
_INNER = {"flat": "IndexFlatIP", "hnsw": "IndexHNSWFlat", "ivf": "IndexIVFFlat"}
# A segment's counts, per manifest key: its rows, and in "live" those of reports not tombstoned.
_COUNTS = {"n_documents": "documents", "n_chunks": "chunks", "n_sentences": "sentences", "n_figures": "figures"}


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
        max_segments: int = 8,
    ) -> None:
        if ann not in ANN_KINDS:
            raise ValueError(f"unknown vector index kind {ann!r}: choose one of {', '.join(ANN_KINDS)}")
        self.index_dir = index_dir
        self.model_id, self.dim = model_id, dim
        self.rebuild = rebuild
        self.keep_versions = keep_versions
        self.ann = ann
        self.actor = actor  # who asked (a key id, cli:<user>), for the audit log; None: a caller that keeps none
        self.max_segments = max_segments
        self._compact = False
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
        """Whether a segment of the base version has another kind of vector index than this writer writes."""
        return self.base_manifest is not None and any(e["ann"] != self.ann for e in self.base_manifest["segments"])

    def existing(self) -> dict[str, str]:
        """doc_id -> source of the reports in the base version (sources may repeat: uploads of one name)."""
        return document_sources(self.base) if self.base is not None else {}

    def add(self, pending: PendingReport) -> None:
        self._adds.append(pending)

    def remove(self, doc_id: str) -> None:
        self._removes.add(doc_id)

    def compact(self) -> None:
        """Merge every segment into one at the next commit, tombstoned reports' rows dropped."""
        self._compact = True

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
        """The version's segments (the base's linked, tombstoned, converted; the new one; merges) and manifest."""
        self.timings.clear()
        base = self.base_manifest or {"segments": [], "next_ids": {}, "next_segment": 1}
        self._next_ids: dict[str, int] = dict(base["next_ids"])
        self._next_segment = int(base["next_segment"])
        folder = tmp / SEGMENTS
        folder.mkdir()
        doomed = self._removes | {p.report.doc_id for p in self._adds}
        entries = []
        carried = [] if self.base is None else [(self.base / SEGMENTS / e["name"], e) for e in base["segments"]]
        t0 = time.perf_counter()
        for source, entry in carried:
            entry = _tombstone(source, entry, doomed)
            if entry["live"]["n_documents"]:  # a segment whose every report is removed is dropped at once
                entries.append(self._carry(source, folder, entry))
        self.timings["linking"] += time.perf_counter() - t0
        if self._adds:
            entries.append(self._new_segment(folder, self._apply_additions))
        if self._compact and (len(entries) > 1 or any(e["deleted"] for e in entries)):
            entries = [self._merge(folder, entries)]
        elif len(entries) > self.max_segments:
            by_size = sorted(entries, key=lambda e: e["live"]["n_chunks"])
            doomed_entries = by_size[: len(entries) - self.max_segments + 1]
            entries = [e for e in entries if e not in doomed_entries] + [self._merge(folder, doomed_entries)]
        t0 = time.perf_counter()
        largest = max(entries, key=lambda e: e["n_chunks"], default=None)
        manifest = {
            "format_version": FORMAT_VERSION,
            "version": number,
            "embedding_model": self.model_id,
            "embedding_dim": self.dim,
            "vector_index": largest["vector_index"] if largest else f"IndexIDMap2({_INNER[self.ann]})",
            "figure_index": "IndexIDMap2(IndexFlatIP) of figure descriptions",
            "ann": self.ann,
            "ann_params": largest["ann_params"] if largest else {},
            "lexical_index": "BM25 (Lucene, k1 1.5, b 0.75) over jieba tokens, postings per segment, global statistics",
            **{k: sum(e["live"][k] for e in entries) for k in _COUNTS},
            "created_at": self._base_created() or _now(),
            "updated_at": _now(),
            # The change itself, written with the version so that the audit log can recover it when
            # the writer is killed after the switch and before its caller logged the change.
            "change": {"actor": self.actor, "added": [p.report.doc_id for p in self._adds],
                       "removed": sorted(self._removes)},
            "next_ids": self._next_ids,
            "next_segment": self._next_segment,
            "segments": entries,
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
        for path in sorted(tmp.rglob("*"), reverse=True):  # files, then their folders' entries
            _fsync(path)
        _fsync(tmp)
        self.timings["writing"] += time.perf_counter() - t0
        return manifest

    def _write_sources(self, conn: sqlite3.Connection, folder: Path, kept: Sequence[Path]) -> None:
        """The original file of every paged report a new segment holds: a hard link to a copy one of
        the `kept` folders (merged segments' sources) has, else the staged copy of an added report."""
        staged = {p.report.original_sha256: p.original for p in self._adds if p.original is not None}
        folder.mkdir()
        for (sha256,) in conn.execute("SELECT DISTINCT sha256 FROM originals"):
            found = next((k / sha256 for k in kept if (k / sha256).exists()), None)
            if found is not None:
                os.link(found, folder / sha256)
            else:
                shutil.copyfile(staged[sha256], folder / sha256)

    def _carry(self, source: Path, folder: Path, entry: dict[str, Any]) -> dict[str, Any]:
        """A base segment into the new version: hard links of its files, or of all but its vectors when
        this writer writes another kind of vector index (then rebuilt from the stored vectors)."""
        if entry["ann"] == self.ann:
            shutil.copytree(source, folder / entry["name"], copy_function=os.link)
            return entry
        name = self._segment_name()
        shutil.copytree(source, folder / name, copy_function=os.link, ignore=shutil.ignore_patterns("vectors.faiss"))
        t0 = time.perf_counter()
        vectors, params = build_vector_index(exact_copy(faiss.read_index(str(source / "vectors.faiss"))), self.ann)
        faiss.write_index(vectors, str(folder / name / "vectors.faiss"))
        self.timings["indexing"] += time.perf_counter() - t0
        return {**entry, "name": name, "ann": self.ann, "ann_params": params, "vector_index": _describe(vectors)}

    def _segment_name(self) -> str:
        name = f"{self._next_segment:06d}"
        self._next_segment += 1
        return name

    def _new_segment(self, folder: Path, fill: Callable[[sqlite3.Connection, faiss.IndexIDMap2, faiss.IndexIDMap2], None],
                     stage: str = "writing", kept: Sequence[Path] = ()) -> dict[str, Any]:
        """A segment whose doc store and exact vector indexes `fill` writes (row ids from the version's
        sequences on; its seconds count as `stage`), then its original files (linked from `kept` or
        copied from the staged ones), postings and vector index built from them."""
        name = self._segment_name()
        segment = folder / name
        segment.mkdir()
        t0 = time.perf_counter()
        vectors, figure_vectors = (faiss.IndexIDMap2(faiss.IndexFlatIP(self.dim)) for _ in range(2))
        conn = connect(segment / "docstore.sqlite", readonly=False)
        try:
            conn.executescript(SCHEMA)
            for table in _sequenced_tables(conn):
                conn.execute("INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)",
                             (table, self._next_ids.get(table, 1) - 1))
            filling = time.perf_counter()
            fill(conn, vectors, figure_vectors)
            conn.commit()
            self.timings[stage] += time.perf_counter() - filling
            t0 += time.perf_counter() - filling
            self._next_ids.update((table, seq + 1) for table, seq in conn.execute("SELECT name, seq FROM sqlite_sequence"))
            counts = {k: conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] for k, table in _COUNTS.items()}
            faiss.write_index(figure_vectors, str(segment / "figures.faiss"))
            self._write_sources(conn, segment / SOURCES, kept)
            self.timings["writing"] += time.perf_counter() - t0
            t0 = time.perf_counter()
            _write_lexical(segment / "lexical", conn.execute("SELECT id, tokens FROM chunks ORDER BY id"))
        finally:
            conn.close()
        vectors, params = build_vector_index(vectors, self.ann)
        faiss.write_index(vectors, str(segment / "vectors.faiss"))
        self.timings["indexing"] += time.perf_counter() - t0
        return {"name": name, "ann": self.ann, "ann_params": params, "vector_index": _describe(vectors), **counts,
                "deleted": [], "live": counts}

    def _merge(self, folder: Path, entries: list[dict[str, Any]]) -> dict[str, Any]:
        """One segment of the live rows and vectors of `entries` (whose folders are then unlinked from
        this version), keeping their row ids."""
        sources = [(folder / e["name"], e["deleted"], e["ann"]) for e in entries]

        def fill(conn: sqlite3.Connection, vectors: faiss.IndexIDMap2, figure_vectors: faiss.IndexIDMap2) -> None:
            for source, deleted, _ in sources:
                _copy_live_rows(conn, source / "docstore.sqlite", deleted)
            conn.commit()
            for table, index, stored in (("chunks", vectors, [(s / "vectors.faiss", ann) for s, _, ann in sources]),
                                         ("figures", figure_vectors, [(s / "figures.faiss", "flat") for s, _, _ in sources])):
                live = np.fromiter((r[0] for r in conn.execute(f"SELECT id FROM {table}")), dtype=np.int64)
                _carry_vectors(index, stored, live)

        merged = self._new_segment(folder, fill, stage="merging", kept=[s / SOURCES for s, _, _ in sources])
        for source, _, _ in sources:
            shutil.rmtree(source)
        return merged

    def _base_created(self) -> str | None:
        return self.base_manifest.get("created_at") if self.base_manifest is not None else None

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


def _write_lexical(folder: Path, rows: sqlite3.Cursor) -> None:
    """Build and save a segment's BM25 postings from (id, tokens JSON) rows."""
    LexicalSegment.build((chunk_id, json.loads(tokens)) for chunk_id, tokens in rows).save(folder)


def _describe(vectors: faiss.IndexIDMap2) -> str:
    return f"IndexIDMap2({type(faiss.downcast_index(vectors.index)).__name__})"


def _sequenced_tables(conn: sqlite3.Connection) -> list[str]:
    """The doc store's AUTOINCREMENT tables: their ids are unique across the segments of an index."""
    return [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE '%AUTOINCREMENT%'")]


def _tombstone(source: Path, entry: dict[str, Any], doomed: set[str]) -> dict[str, Any]:
    """`entry` with the reports of `doomed` it holds live added to its tombstones, and its live counts."""
    if not doomed:
        return entry
    conn = connect(source / "docstore.sqlite", readonly=True)
    try:
        held = {r[0] for r in conn.execute("SELECT doc_id FROM documents")}
        deleted = sorted((held & doomed) | set(entry["deleted"]))
        if len(deleted) == len(entry["deleted"]):
            return entry
        marks = ",".join("?" * len(deleted))
        dead = {
            "n_documents": len(deleted),
            "n_chunks": conn.execute(f"SELECT COUNT(*) FROM chunks WHERE doc_id IN ({marks})", deleted).fetchone()[0],
            "n_sentences": conn.execute(f"SELECT COUNT(*) FROM sentences WHERE chunk IN "
                                        f"(SELECT id FROM chunks WHERE doc_id IN ({marks}))", deleted).fetchone()[0],
            "n_figures": conn.execute(f"SELECT COUNT(*) FROM figures WHERE doc_id IN ({marks})", deleted).fetchone()[0],
        }
    finally:
        conn.close()
    return {**entry, "deleted": deleted, "live": {k: entry[k] - dead[k] for k in _COUNTS}}


def _copy_live_rows(conn: sqlite3.Connection, source: Path, deleted: list[str]) -> None:
    """Every table's rows of the doc store at `source` into `conn`'s, less the rows of the `deleted`
    reports: rows with their doc_id, or whose `chunk`-like column references one of their chunks."""
    conn.execute("ATTACH DATABASE ? AS src", (str(source),))
    conn.execute("CREATE TEMP TABLE doomed_docs (doc_id TEXT PRIMARY KEY)")
    conn.executemany("INSERT INTO temp.doomed_docs VALUES (?)", [(d,) for d in deleted])
    conn.execute("CREATE TEMP TABLE doomed_chunks AS SELECT id FROM src.chunks WHERE doc_id IN temp.doomed_docs")
    tables = [r[0] for r in conn.execute("SELECT name FROM main.sqlite_master WHERE type = 'table' "
                                         "AND name NOT LIKE 'sqlite_%' ORDER BY rowid")]
    for table in tables:
        columns = [c[1] for c in conn.execute(f"PRAGMA main.table_info({table})")]
        keep = ["doc_id NOT IN temp.doomed_docs"] if "doc_id" in columns else []
        keep += [f"{fk[3]} NOT IN temp.doomed_chunks" for fk in conn.execute(f"PRAGMA main.foreign_key_list({table})")
                 if fk[2] == "chunks"]
        listed = ", ".join(columns)
        conn.execute(f"INSERT INTO main.{table} ({listed}) SELECT {listed} FROM src.{table}"
                     + (f" WHERE {' AND '.join(keep)}" if keep else ""))
    conn.commit()
    conn.execute("DROP TABLE temp.doomed_docs")
    conn.execute("DROP TABLE temp.doomed_chunks")
    conn.execute("DETACH DATABASE src")


def _carry_vectors(index: faiss.IndexIDMap2, stored: list[tuple[Path, str]], live: np.ndarray) -> None:
    """Add the vectors of the (file, kind) indexes `stored` whose ids are `live` to `index`, in ascending id
    order. The files are read memory-mapped and, when their id ranges do not interleave (segments are
    written in id order), copied one at a time, so a merge holds one segment's vectors, not all twice;
    tombstoned ones are added and then removed in place rather than filtered into another copy."""
    ids = [_stored_ids(path, kind) for path, kind in stored]
    order = sorted((n for n in range(len(ids)) if len(ids[n])), key=lambda n: int(ids[n].min()))
    in_order = all(np.all(np.diff(ids[n]) > 0) for n in order) and all(
        ids[a].max() < ids[b].min() for a, b in zip(order, order[1:], strict=False))
    if in_order:
        for n in order:
            _add_sorted(index, [_stored_part(*stored[n])])
    else:
        _add_sorted(index, [_stored_part(*stored[n]) for n in order])
    added = faiss.vector_to_array(index.id_map).astype(np.int64)
    dead = added[~np.isin(added, live)]
    if len(dead):
        index.remove_ids(np.sort(dead))


def _stored_ids(path: Path, kind: str) -> np.ndarray:
    """The ids of the index at `path` (held while they are read: a SWIG member does not keep its index alive)."""
    index = faiss.read_index(str(path), READ_FLAGS[kind])
    return faiss.vector_to_array(index.id_map).astype(np.int64)


def _stored_part(path: Path, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """(ids, vectors) of the index at `path`."""
    source = faiss.read_index(str(path), READ_FLAGS[kind])
    return faiss.vector_to_array(source.id_map).astype(np.int64), exact_copy(source).index.reconstruct_n(0, source.ntotal)


def _add_sorted(index: faiss.IndexIDMap2, parts: list[tuple[np.ndarray, np.ndarray]]) -> None:
    """Add the parts' vectors to `index` in ascending id order."""
    ids = np.concatenate([i for i, _ in parts]) if parts else np.zeros(0, np.int64)
    if len(ids):
        by_id = np.argsort(ids, kind="stable")
        vectors = parts[0][1] if len(parts) == 1 else np.vstack([v for _, v in parts])
        index.add_with_ids(vectors if np.all(by_id[1:] > by_id[:-1]) else vectors[by_id], ids[by_id])


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

