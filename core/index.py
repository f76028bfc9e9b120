"""The index format and its read side: layout, schema, snapshots of one version (segments of
vectors, BM25 postings and doc-store rows). The format is declared here once; `ingest.writer` is
the only module that writes it, and everything that reads an index reads it through this module.

Layout of an index directory:

    CURRENT                  name of the live version (switched by one atomic rename)
    versions/000007/         one complete, immutable version:
        manifest.json        format version, embedding model and dimension, live counts, times,
                             the change that made it (who, added and removed doc ids), the next
                             free row id of each AUTOINCREMENT table, and its segments: each with
                             its own counts, vector index kind and tombstones (doc ids removed
                             from it since it was written)
        segments/000003/     one immutable segment: the reports one write added (or one merge
                             joined). A version's segments are hard links of the previous
                             version's files, so adding a report writes only its own segment.
            vectors.faiss    IndexIDMap2 over L2-normalised vectors: IndexFlatIP (exact, the
                             default) or IndexHNSWFlat / IndexIVFFlat (approximate, for large
                             indexes; REPORTQA_ANN), named in the segment's entry with its parameters
            figures.faiss    IndexIDMap2 over IndexFlatIP: the L2-normalised vector of each figure
                             record's short description (`core.figure_records.describe`), keyed
                             by the figures table's id
            lexical/         term-frequency postings over jieba tokens (`core.lexical`), chunk
                             lengths and ids; BM25 statistics are summed over segments at query time
            docstore.sqlite  documents (metadata, original text, sections), chunks (with their
                             page numbers), sentences, figures (every figure of every chunk as a
                             record, `core.figure_records`), pages (of paged reports: span, size and
                             the boxes of the text printed on each) and originals (the file a paged
                             report was read from: its SHA-256 and size)
            sources/<sha256> the original file of each paged report of the segment, content-addressed,
                             so a page can be drawn later (linked with the segment, copied by a merge)
    .write.lock              one writer at a time

Row ids (chunks.id, figures.id, any AUTOINCREMENT table) are unique across segments: a new
segment's sequences start at the manifest's `next_ids`, and a merge keeps the ids it copies.
A report lives in one segment; a table of per-report rows (figures, and pages or text boxes
later) lives beside its report's chunks and names its report by a `doc_id` column or a
`chunk` column referencing chunks(id), which is how a merge leaves out a tombstoned report's rows.

Readers open the vector indexes memory-mapped (flat codes and IVF lists), so a server
starts without reading the vectors into its own memory and several workers on one
machine share the page cache.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from dataclasses import asdict, dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from .figure_records import FigureRecord
from .lexical import LexicalIndex, LexicalSegment, sorted_members
from .models import Chunk, Page, ReportMetadata, TextBox, page_numbers_of

log = logging.getLogger(__name__)

# 2: the figures table (figure records, written at ingest); a format-1 index is re-indexed.
# 3: figures.faiss (a vector of each figure record's description); a format-2 index is re-indexed.
# 4: segments (a version lists immutable segments with tombstones; BM25 as raw postings scored
#    with collection-wide statistics); pages, boxes and original files of paged reports, page
#    numbers of chunks. A format-3 index is re-indexed.
# 5: figure records read by the fuller unit grammar (微克每立方米 and 每立方米…微克 as 微克/立方米, 标准箱),
#    a month alone (6月份) as a period, brackets kept in metric words (乡镇(街道)调委会) and borrowed ones
#    stopping at the figure before, no figure for the numeral of a quoted name (“两个维护”), and targets
#    told from a 完成…目标任务 sentence; a format-4 index is re-indexed.
# 6: sections also under heading lines of their own (2024年工作回顾), which give the period of the figures
#    under them; a measure restated after a bound (突破800公里、达812公里) keeps its metric words, a
#    programme's 计划 (行动计划启动实施) makes no target, and a 未发生 statement's span ends at its last
#    word; a format-5 index is re-indexed.
# 7: a counter's metric words go on to the thing it counts (新建两个调解中心: 新建调解中心); a format-6
#    index is re-indexed.
# 8: a heading's relative year (上一年度) is counted from the day the report was issued; a format-7 index
#    is re-indexed.
# 9: ranks and ordinals (居全国第3位, 第十五届) are figures of kind rank, and no number after 第 is a count;
#    a format-8 index is re-indexed.
# 10: a figure whose sentence, chunk and headings state no year takes the year its section opens with
#    (2024年是…); a format-9 index is re-indexed.
# 11: a span of months (2022年1-6月) is a period of its own (2022-01/2022-06), not the year; a format-10
#    index is re-indexed.
FORMAT_VERSION = 11
CURRENT = "CURRENT"
VERSIONS = "versions"
SEGMENTS = "segments"
TMP_MARK = ".tmp-"
ANN_KINDS = ("flat", "hnsw", "ivf")
HNSW_EF_SEARCH = 128  # HNSW's search beam, well above the retriever's 50 candidates
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

SCHEMA = """
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
    tokens TEXT NOT NULL,
    pages TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks(doc_id);
CREATE TABLE IF NOT EXISTS sentences (
    chunk INTEGER NOT NULL REFERENCES chunks(id) ON DELETE CASCADE,
    ordinal INTEGER NOT NULL,
    char_start INTEGER NOT NULL,
    char_end INTEGER NOT NULL,
    PRIMARY KEY (chunk, ordinal)
);
CREATE TABLE IF NOT EXISTS figures (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    chunk INTEGER NOT NULL REFERENCES chunks(id) ON DELETE CASCADE,
    ordinal INTEGER NOT NULL,
    doc_id TEXT NOT NULL,
    char_start INTEGER NOT NULL,
    char_end INTEGER NOT NULL,
    raw TEXT NOT NULL,
    value REAL NOT NULL,
    unit TEXT NOT NULL,
    scale_unit TEXT NOT NULL,
    base_value REAL NOT NULL,
    base_value_max REAL,
    qualifier TEXT,
    sign INTEGER NOT NULL,
    metric TEXT NOT NULL,
    period TEXT,
    period_basis TEXT NOT NULL,
    kind TEXT NOT NULL,
    section_path TEXT NOT NULL,
    UNIQUE (chunk, ordinal)
);
CREATE INDEX IF NOT EXISTS figures_doc ON figures(doc_id);
CREATE TABLE IF NOT EXISTS pages (
    doc_id TEXT NOT NULL REFERENCES documents(doc_id) ON DELETE CASCADE,
    number INTEGER NOT NULL,
    char_start INTEGER NOT NULL,
    char_end INTEGER NOT NULL,
    width REAL NOT NULL,
    height REAL NOT NULL,
    boxes TEXT NOT NULL,
    PRIMARY KEY (doc_id, number)
);
CREATE TABLE IF NOT EXISTS originals (
    doc_id TEXT PRIMARY KEY REFERENCES documents(doc_id) ON DELETE CASCADE,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL
);
"""
SOURCES = "sources"  # a version's folder of original files, named by their SHA-256
# The figures table's columns after (id, chunk, ordinal), in `FigureRecord` order less doc_id's chunk_id.
FIGURE_COLUMNS = ("doc_id", "char_start", "char_end", "raw", "value", "unit", "scale_unit", "base_value",
                  "base_value_max", "qualifier", "sign", "metric", "period", "period_basis", "kind", "section_path")


class IndexStoreError(Exception):
    """Base of the index's own errors: missing, built with another model, or not writable now."""


class IndexNotFoundError(IndexStoreError):
    pass


class FormatMismatchError(IndexStoreError):
    pass


def require_format(manifest: dict[str, Any], where: Path) -> None:
    """Refuse an index written in another format than this reportqa reads and writes."""
    found = manifest.get("format_version")
    if found != FORMAT_VERSION:
        raise FormatMismatchError(
            f"the index at {where} is in format {found}, but this reportqa reads format {FORMAT_VERSION} "
            "(ranks and ordinals, 居全国第3位 and 第十五届, are figures of their own kind): "
            "re-index the reports with `reportqa ingest PATH --rebuild`"
        )


class ModelMismatchError(IndexStoreError):
    pass


def box_row(box: TextBox) -> list[Any]:
    """A box as the pages table stores it (in a JSON list per page): span, corners, edges."""
    return [box.char_start, box.char_end, box.x0, box.top, box.x1, box.bottom, [round(x, 2) for x in box.edges]]


class PageLayout:
    """Where a paged report's text is printed: its pages, and the boxes of a span, read from the doc
    store when a citation first asks (listing reports reads only their page counts, and a report's
    boxes are read page by page, never all held in memory)."""

    def __init__(self, doc_id: str, count: int, db: sqlite3.Connection) -> None:
        self.doc_id = doc_id
        self.count = count
        self._db = db

    @cached_property
    def pages(self) -> tuple[Page, ...]:
        rows = self._db.execute("SELECT number, char_start, char_end, width, height FROM pages WHERE doc_id = ? "
                                "ORDER BY number", (self.doc_id,))
        return tuple(Page(r["number"], r["char_start"], r["char_end"], r["width"], r["height"]) for r in rows)

    def page_numbers(self, start: int, end: int) -> tuple[int, ...]:
        return page_numbers_of(self.pages, start, end)

    def boxes(self, start: int, end: int) -> list[TextBox]:
        """The boxes of the text in [start, end), each clipped to the span where its characters'
        edges are known (a whole line or cell box otherwise)."""
        numbers = self.page_numbers(start, end)
        if not numbers:
            return []
        marks = ",".join("?" * len(numbers))
        rows = self._db.execute(f"SELECT number, boxes FROM pages WHERE doc_id = ? AND number IN ({marks}) "
                                "ORDER BY number", (self.doc_id, *numbers)).fetchall()
        out = []
        for row in rows:
            for s, e, x0, top, x1, bottom, edges in json.loads(row["boxes"]):
                if s < end and start < e:
                    out.append(TextBox(s, e, row["number"], x0, top, x1, bottom, tuple(edges)).clip(start, end))
        return out


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
    layout: PageLayout | None = None  # paged reports only

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
            "n_pages": self.layout.count if self.layout else None,
            "added_at": self.added_at,
        }
        if self.sections is not None:
            out["sections"] = self.sections
            out["pages"] = [asdict(p) for p in self.layout.pages] if self.layout else None
        return out


@dataclass(frozen=True)
class StoredChunk:
    """A chunk as the retriever sees it: its integer id in the vector and lexical indexes."""

    id: int
    chunk: Chunk


def connect(path: Path, readonly: bool) -> sqlite3.Connection:
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


class Segment:
    """One segment of a version opened for reading, with its tombstones: the doc ids removed from it
    since it was written, and their chunk and figure ids (sorted), which searches leave out."""

    def __init__(self, folder: Path, entry: dict[str, Any]) -> None:
        self.name = str(entry["name"])
        self.folder = folder
        self.vectors = faiss.read_index(str(folder / "vectors.faiss"), READ_FLAGS[entry["ann"]])
        apply_search_params(self.vectors, entry.get("ann_params", {}))
        inner = faiss.downcast_index(self.vectors.index)
        if isinstance(inner, faiss.IndexIVF):
            inner.make_direct_map()  # vectors by id, for subset searches (15 ms and 8 MB at 1M chunks)
        self.figure_vectors = faiss.read_index(str(folder / "figures.faiss"), READ_FLAGS["flat"])
        self.lexical = LexicalSegment.load(folder / "lexical")
        self.db = connect(folder / "docstore.sqlite", readonly=True)
        self.deleted_docs = frozenset(entry["deleted"])
        self.deleted_chunks = self._ids_of_deleted("chunks")
        self.deleted_figures = self._ids_of_deleted("figures")
        self.live = None if not self.deleted_docs else ~sorted_members(self.deleted_chunks, self.ids)

    def _ids_of_deleted(self, table: str) -> np.ndarray:
        doomed = sorted(self.deleted_docs)
        marks = ",".join("?" * len(doomed))
        rows = self.db.execute(f"SELECT id FROM {table} WHERE doc_id IN ({marks}) ORDER BY id", doomed) if doomed else []
        return np.asarray([r[0] for r in rows], dtype=np.int64)

    @property
    def ids(self) -> np.ndarray:
        """The segment's chunk ids, ascending (tombstoned ones included)."""
        return self.lexical.ids

    def holds(self, ids: np.ndarray) -> np.ndarray:
        """Which of `ids` are live chunks of this segment."""
        return sorted_members(self.ids, ids) & ~sorted_members(self.deleted_chunks, ids)

    def search(self, index: faiss.Index, query: np.ndarray, k: int, deleted: np.ndarray,
               params: faiss.SearchParameters | None = None) -> list[tuple[int, float]]:
        """Top-k (id, inner product) of `index` (this segment's chunk or figure vectors) leaving out
        the `deleted` ids: asked for k more than were deleted, so k live ones remain when there are."""
        if index.ntotal == 0 or k < 1:
            return []
        scores, ids = index.search(np.asarray(query, dtype=np.float32).reshape(1, -1), k + len(deleted), params=params)
        found = [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0]
        if len(deleted):
            gone = sorted_members(deleted, np.asarray([i for i, _ in found], dtype=np.int64))
            found = [hit for hit, dead in zip(found, gone, strict=True) if not dead]
        return found[:k]

    def close(self) -> None:
        self.db.close()


def _best(hits: list[tuple[int, float]], k: int) -> list[tuple[int, float]]:
    """The k best of hits from several segments; equal scores rank by id, so the order does not
    depend on how the index was cut."""
    return sorted(hits, key=lambda h: (-h[1], h[0]))[:k]


class IndexSnapshot:
    """A read-only view of one index version, its segments searched together as one index; safe
    to share between request threads."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.manifest = read_manifest(folder)
        require_format(self.manifest, folder.parent.parent)
        self.segments = [Segment(folder / SEGMENTS / entry["name"], entry) for entry in self.manifest["segments"]]
        self.lexical = LexicalIndex([s.lexical for s in self.segments], [s.live for s in self.segments])
        # The segment of each live report: every doc-keyed read goes to it alone.
        self._segment_of = {doc_id: segment for segment in self.segments
                            for (doc_id,) in segment.db.execute("SELECT doc_id FROM documents")
                            if doc_id not in segment.deleted_docs}

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
        records = [_doc_record(r, with_text=False, db=s.db) for s in self.segments
                   for r in s.db.execute(f"SELECT {DOCUMENT_COLUMNS} FROM documents d") if r["doc_id"] not in s.deleted_docs]
        return sorted(records, key=lambda d: (d.added_at, d.source))

    def document(self, doc_id: str, with_text: bool = True) -> DocumentRecord | None:
        segment = self._segment_of.get(doc_id)
        if segment is None:
            return None
        row = segment.db.execute(f"SELECT {DOCUMENT_COLUMNS} FROM documents d WHERE d.doc_id = ?", (doc_id,)).fetchone()
        return _doc_record(row, with_text=with_text, db=segment.db)

    def original(self, doc_id: str) -> Path | None:
        """The file a paged report was read from, as its segment keeps it (None: not kept)."""
        segment = self._segment_of.get(doc_id)
        row = segment.db.execute("SELECT sha256 FROM originals WHERE doc_id = ?", (doc_id,)).fetchone() if segment else None
        return segment.folder / SOURCES / row["sha256"] if segment and row else None

    def text_of(self, doc_id: str) -> str:
        """The original text of a report this snapshot holds (KeyError for an id it does not)."""
        record = self.document(doc_id)
        if record is None:
            raise KeyError(doc_id)
        return record.text or ""

    def _route(self, ids: list[int]) -> list[tuple[Segment, list[int]]]:
        """`ids` grouped by the segment holding each as a live chunk (others left out)."""
        wanted = np.asarray(ids, dtype=np.int64)
        parts = [(s, wanted[s.holds(wanted)].tolist()) for s in self.segments]
        return [(s, part) for s, part in parts if part]

    def chunks(self, ids: list[int]) -> list[StoredChunk]:
        """Chunks by integer id, in the order asked for (unknown ids are left out)."""
        rows: dict[int, sqlite3.Row] = {}
        sents: dict[int, list[tuple[int, int]]] = {}
        for segment, part in self._route(ids):
            marks = ",".join("?" * len(part))
            rows.update((r["id"], r) for r in segment.db.execute(f"SELECT * FROM chunks WHERE id IN ({marks})", part))
            for s in segment.db.execute(
                f"SELECT chunk, char_start, char_end FROM sentences WHERE chunk IN ({marks}) ORDER BY chunk, ordinal",
                part,
            ):
                sents.setdefault(s["chunk"], []).append((s["char_start"], s["char_end"]))
        return [StoredChunk(i, _chunk(rows[i], sents.get(i, []))) for i in ids if i in rows]

    def figures(self, doc_id: str) -> list[FigureRecord]:
        """The figure records of one report, in the order of its text (empty for an unknown id)."""
        rows = self._figure_rows(doc_id, f"c.chunk_id, {', '.join('f.' + c for c in FIGURE_COLUMNS)}")
        return [FigureRecord(**{**dict(r), "section_path": json.loads(r["section_path"])}) for r in rows]

    def _figure_rows(self, doc_id: str, columns: str) -> list[sqlite3.Row]:
        """`columns` of one report's figures (f) and their chunks (c), in the order of `figures`."""
        segment = self._segment_of.get(doc_id)
        if segment is None:
            return []
        return segment.db.execute(
            f"SELECT {columns} FROM figures f JOIN chunks c ON c.id = f.chunk WHERE f.doc_id = ? "
            "ORDER BY f.char_start, c.ordinal, f.ordinal",
            (doc_id,),
        ).fetchall()

    def _figure_ids(self, doc_id: str) -> list[int]:
        """The figures table ids of one report's records, in the order of `figures(doc_id)`."""
        return [r[0] for r in self._figure_rows(doc_id, "f.id")]

    def figure_similarities(self, query: np.ndarray, doc_id: str) -> np.ndarray:
        """The inner product of the L2-normalised `query` with the description vector of each of
        `figures(doc_id)`'s records, in that order (a report's few hundred vectors, read by id)."""
        ids = self._figure_ids(doc_id)
        if not ids:
            return np.zeros(0, np.float32)
        vectors = self._segment_of[doc_id].figure_vectors.reconstruct_batch(np.asarray(ids, dtype=np.int64))
        return np.asarray(vectors @ _unit(query), dtype=np.float32)

    def nearest_figures(self, query: np.ndarray, k: int) -> list[tuple[str, int, float]]:
        """The `k` figure descriptions nearest `query`, best first: (doc_id, position of the record in
        `figures(doc_id)`, inner product with the L2-normalised query)."""
        faiss.omp_set_num_threads(SEARCH_THREADS)
        found = {segment: segment.search(segment.figure_vectors, _unit(query), k, segment.deleted_figures)
                 for segment in self.segments}
        hits = _best([hit for part in found.values() for hit in part], k)
        doc_of: dict[int, str] = {}
        for segment, part in found.items():
            if part:
                marks = ",".join("?" * len(part))
                doc_of.update(segment.db.execute(f"SELECT id, doc_id FROM figures WHERE id IN ({marks})",
                                                 [i for i, _ in part]))
        positions: dict[int, int] = {}
        for doc_id in {doc_of[i] for i, _ in hits}:
            positions.update((figure_id, n) for n, figure_id in enumerate(self._figure_ids(doc_id)))
        return [(doc_of[i], positions[i], score) for i, score in hits]

    def doc_ids_of_chunks(self, ids: list[int]) -> dict[int, str]:
        """chunk id -> doc_id for the known ids among `ids`."""
        found: dict[int, str] = {}
        for segment, part in self._route(ids):
            marks = ",".join("?" * len(part))
            found.update((r[0], r[1]) for r in segment.db.execute(f"SELECT id, doc_id FROM chunks WHERE id IN ({marks})", part))
        return found

    def chunk_ids_of(self, doc_ids: list[str]) -> list[int]:
        by_segment: dict[Segment, list[str]] = {}
        for doc_id in doc_ids:
            if doc_id in self._segment_of:
                by_segment.setdefault(self._segment_of[doc_id], []).append(doc_id)
        ids: list[int] = []
        for segment, docs in by_segment.items():
            marks = ",".join("?" * len(docs))
            ids.extend(r[0] for r in segment.db.execute(f"SELECT id FROM chunks WHERE doc_id IN ({marks})", docs))
        return ids

    @property
    def ann(self) -> str:
        """The kind of vector index of this version: flat (exact), hnsw or ivf."""
        return str(self.manifest.get("ann", "flat"))

    def dense_search(self, query: np.ndarray, k: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """Top-k (id, inner product) of the vectors nearest `query`, among the `allowed` ids when given.
        Each segment is searched and the best of all kept: with flat segments, exactly what one
        index of every vector would return."""
        if allowed is not None and not len(allowed):
            return []
        if allowed is not None and len(allowed) <= SUBSET_SEARCH_MAX:
            return self._subset_search(query, k, allowed)
        faiss.omp_set_num_threads(SEARCH_THREADS)  # per calling thread: each request thread sets its own
        hits = [hit for segment in self.segments
                for hit in segment.search(segment.vectors, query, k, segment.deleted_chunks,
                                          None if allowed is None else _filtered_params(segment.vectors, allowed))]
        return _best(hits, k)

    def _subset_search(self, query: np.ndarray, k: int, allowed: np.ndarray) -> list[tuple[int, float]]:
        """Exact top-k among a few ids, from their stored vectors (ids not live in this version are skipped)."""
        wanted = np.unique(np.asarray(allowed, dtype=np.int64))
        stored = sorted((chunk_id, segment) for segment in self.segments
                        for chunk_id in wanted[segment.holds(wanted)].tolist())
        if not stored:
            return []
        rows = np.vstack([segment.vectors.reconstruct(chunk_id) for chunk_id, segment in stored])
        scores = rows @ np.asarray(query, dtype=np.float32).reshape(-1)
        order = np.argsort(-scores, kind="stable")[:k]
        return [(stored[j][0], float(scores[j])) for j in order]

    def check_integrity(self) -> list[str]:
        """Problems found (empty when the version is consistent)."""
        problems: list[str] = []
        live = {"n_chunks": 0, "n_documents": 0, "n_figures": 0}
        owners: dict[int, str] = {}
        for segment, entry in zip(self.segments, self.manifest["segments"], strict=True):
            problems.extend(f"segment {segment.name}: {p}" for p in _segment_problems(segment, entry))
            docs = {r[0] for r in segment.db.execute("SELECT doc_id FROM documents")}
            if not segment.deleted_docs <= docs:
                problems.append(f"segment {segment.name}: tombstones name reports it does not hold")
            live["n_documents"] += len(docs - segment.deleted_docs)
            live["n_chunks"] += len(segment.ids) - len(segment.deleted_chunks)
            live["n_figures"] += segment.db.execute("SELECT COUNT(*) FROM figures").fetchone()[0] - len(
                segment.deleted_figures)
            for chunk_id in segment.ids.tolist():
                if owners.setdefault(chunk_id, segment.name) != segment.name:
                    problems.append(f"chunk id {chunk_id} is in segments {owners[chunk_id]} and {segment.name}")
                    break
        if len(self._segment_of) != live["n_documents"]:
            problems.append("a report is live in more than one segment")
        if tuple(self.manifest[k] for k in live) != tuple(live.values()):
            problems.append("manifest counts differ from the doc store")
        return problems

    def close(self) -> None:
        for segment in self.segments:
            segment.close()


def _segment_problems(segment: Segment, entry: dict[str, Any]) -> list[str]:
    """What differs between one segment's vectors, postings, doc store and manifest entry."""
    problems = []
    db = segment.db
    n_chunks = db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
    n_docs = db.execute("SELECT COUNT(*) FROM documents").fetchone()[0]
    n_figures = db.execute("SELECT COUNT(*) FROM figures").fetchone()[0]
    if segment.vectors.ntotal != n_chunks:
        problems.append(f"vector index has {segment.vectors.ntotal} entries, doc store {n_chunks} chunks")
    if len(segment.lexical) != n_chunks:
        problems.append(f"lexical index has {len(segment.lexical)} entries, doc store {n_chunks} chunks")
    if (entry["n_chunks"], entry["n_documents"], entry["n_figures"]) != (n_chunks, n_docs, n_figures):
        problems.append("manifest counts differ from the doc store")
    db_ids = [r[0] for r in db.execute("SELECT id FROM chunks ORDER BY id")]
    if segment.ids.tolist() != db_ids:
        problems.append("lexical ids differ from chunk ids")
    if n_chunks and sorted(faiss.vector_to_array(segment.vectors.id_map).tolist()) != db_ids:
        problems.append("vector ids differ from chunk ids")
    figure_ids = {r[0] for r in db.execute("SELECT id FROM figures")}
    if segment.figure_vectors.ntotal != n_figures or (
        n_figures and set(faiss.vector_to_array(segment.figure_vectors.id_map).tolist()) != figure_ids
    ):
        problems.append(f"figure vector index has {segment.figure_vectors.ntotal} entries, doc store {n_figures} "
                        "figures, or their ids differ")
    for row in db.execute("SELECT doc_id, sha256, size FROM originals"):
        kept = segment.folder / SOURCES / row["sha256"]
        if not kept.is_file() or kept.stat().st_size != row["size"]:
            problems.append(f"the original file of {row['doc_id']} is missing or of another size ({kept.name})")
    return problems


def _unit(query: np.ndarray) -> np.ndarray:
    """`query` flattened to float32 and scaled to length 1 (a zero vector is left as it is)."""
    row = np.asarray(query, dtype=np.float32).reshape(-1)
    norm = float(np.linalg.norm(row))
    return row / norm if norm else row


def apply_search_params(index: faiss.Index, params: dict[str, Any]) -> None:
    inner = faiss.downcast_index(index.index)
    if isinstance(inner, faiss.IndexIVF) and "nprobe" in params:
        inner.nprobe = int(params["nprobe"])
    elif isinstance(inner, faiss.IndexHNSW) and "efSearch" in params:
        inner.hnsw.efSearch = int(params["efSearch"])


def _filtered_params(index: faiss.Index, allowed: np.ndarray) -> faiss.SearchParameters:
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


DOCUMENT_COLUMNS = ("d.*, (SELECT COUNT(*) FROM chunks c WHERE c.doc_id = d.doc_id) AS n_chunks, "
                    "(SELECT COUNT(*) FROM pages p WHERE p.doc_id = d.doc_id) AS n_pages")


def _doc_record(row: sqlite3.Row, with_text: bool, db: sqlite3.Connection) -> DocumentRecord:
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
        layout=PageLayout(row["doc_id"], row["n_pages"], db) if row["n_pages"] else None,
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
        pages=tuple(json.loads(row["pages"])),
    )


def open_index(index_dir: Path) -> IndexSnapshot:
    """The live version of the index at `index_dir`."""
    folder = current_version_dir(index_dir)
    if folder is None or not folder.exists():
        raise IndexNotFoundError(f"no index at {index_dir}: run `reportqa ingest PATH --index {index_dir}` first")
    return IndexSnapshot(folder)


def read_manifest(version: Path) -> dict[str, Any]:
    """A version's manifest: format, model, counts, times and the change that made it."""
    manifest: dict[str, Any] = json.loads((version / "manifest.json").read_text(encoding="utf-8"))
    return manifest


def document_sources(version: Path) -> dict[str, str]:
    """doc_id -> source of a version's live reports, from its doc stores alone: deciding what a batch
    adds needs neither its vectors nor its BM25 postings loaded (seconds at a million chunks)."""
    sources: dict[str, str] = {}
    for entry in read_manifest(version)["segments"]:
        conn = connect(version / SEGMENTS / entry["name"] / "docstore.sqlite", readonly=True)
        try:
            deleted = set(entry["deleted"])
            sources.update((r["doc_id"], r["source"]) for r in conn.execute("SELECT doc_id, source FROM documents")
                           if r["doc_id"] not in deleted)
        finally:
            conn.close()
    return sources


def version_manifests(index_dir: Path) -> list[dict[str, Any]]:
    """The manifests of the versions on disk (the live one and those kept), oldest first."""
    folder = index_dir / VERSIONS
    if not folder.exists():
        return []
    manifests = []
    for version in sorted(p for p in folder.iterdir() if p.name.isdigit()):
        try:
            manifests.append(read_manifest(version))
        except (OSError, ValueError):  # pruned meanwhile, or never finished
            continue
    return manifests


