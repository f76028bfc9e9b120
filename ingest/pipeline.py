"""Ingest files into the index: read -> split -> embed -> store, one atomic version per run.

A file that cannot be read is reported with its reason and the rest of the batch goes
in; a report already indexed (same content hash) is skipped; an edited file at the same
path replaces its old report; uploads replace only when asked to by doc_id.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from core.config import Settings
from core.embedding import Embedder, get_embedder
from core.figure_records import describe, report_figure_records
from core.index import UPLOAD_SOURCE, current_version_dir, document_sources, open_index, read_manifest
from core.lexical import load_tokenizer, tokenize
from core.models import Report, page_numbers_of
from core.normalize import normalize
from ingest.writer import IndexWriter, PendingReport

from .chunking import chunk_report
from .errors import IngestCancelled, ReportReadError
from .isolation import read_isolated
from .metadata import apply_overrides, extract_metadata
from .ocr import OcrOptions, Progress
from .readers import SUPPORTED_SUFFIXES, read_file
from .safety import FileLimits
from .sections import parse_sections

log = logging.getLogger(__name__)
COPY_BLOCK = 1 << 20  # bytes read at a time when hashing a file


@dataclass
class FileOutcome:
    """What happened to one input file."""

    path: str
    status: str  # added | replaced | skipped | failed
    reason: str | None = None
    doc_id: str | None = None
    chunks: int = 0
    note: str | None = None  # e.g. a name clash of an added report
    replaced: str | None = None  # the doc_id this file's report replaced


@dataclass
class IngestSummary:
    """The closing summary of one ingest run."""

    outcomes: list[FileOutcome] = field(default_factory=list)
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    manifest: dict[str, Any] | None = None

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def failed(self) -> list[FileOutcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    @property
    def chunks(self) -> int:
        return sum(o.chunks for o in self.outcomes)

    def to_dict(self) -> dict[str, Any]:
        return {
            "added": self.count("added"),
            "replaced": self.count("replaced"),
            "skipped": self.count("skipped"),
            "failed": self.count("failed"),
            "chunks": self.chunks,
            "seconds": round(self.seconds, 3),
            "timings": {k: round(v, 4) for k, v in self.timings.items()},
            "index_version": self.manifest["version"] if self.manifest else None,
            "files": [o.__dict__ for o in self.outcomes],
        }


def discover(paths: list[Path]) -> tuple[list[Path], list[FileOutcome]]:
    """Files under `paths` (folders recursively, hidden files left out) and the paths that do not exist."""
    files: list[Path] = []
    missing: list[FileOutcome] = []
    for path in paths:
        if path.is_dir():
            files.extend(
                p for p in sorted(path.rglob("*"))
                if p.is_file() and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
        elif path.is_file():
            files.append(path)
        else:
            missing.append(FileOutcome(str(path), "failed", "no such file or folder"))
    return files, missing


def content_id(text: str) -> str:
    """A report's id: the hash of its original text, so re-encoding a file keeps the id."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def load_report(path: Path, settings: Settings, issuer: str | None = None, year: int | None = None,
                source: str | None = None, progress: Progress | None = None) -> Report:
    """Read one file into a Report with its metadata (raises ReportReadError).

    `source` names the report (default: the file's absolute path; uploads give their file name);
    `progress` hears how far OCR of its scanned pages got.
    """
    limits = FileLimits.from_settings(settings)
    result = read_file(path, limits.max_bytes, limits, OcrOptions.from_settings(settings, progress))
    meta = apply_overrides(extract_metadata(result.text, result.title_hint), issuer=issuer, year=year)
    return Report(
        doc_id=content_id(result.text),
        source=source or str(path.resolve()),
        format=result.format,
        encoding=result.encoding,
        text=result.text,
        metadata=meta,
        pages=result.pages,
        boxes=result.boxes,
        original_sha256=_sha256(path) if result.pages else None,
    )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(COPY_BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()


def keep_original(report: Report, path: Path, folder: Path) -> Path:
    """A private copy of the file a paged report was read from, for the index to keep; raises
    ReportReadError when the file changed since it was read (its pages would not match)."""
    copy = folder / f"{report.doc_id}.{report.format}"
    shutil.copyfile(path, copy)
    if _sha256(copy) != report.original_sha256:
        raise ReportReadError("the file changed while it was being read; ingest it again")
    return copy


def prepare(report: Report, settings: Settings, original: Path | None = None) -> PendingReport:
    """Sections, chunks (with their pages) and figure records of a report (vectors are filled in
    later, in batches); `original` is the copy of a paged report's file the index keeps."""
    sections = parse_sections(report.text, normalize(report.text))
    chunks = chunk_report(report, settings.chunk_max_chars, settings.table_rows_per_chunk, sections)
    for chunk in chunks:
        chunk.pages = page_numbers_of(report.pages, chunk.char_start, chunk.char_end)
    nothing = np.zeros((0, 0), np.float32)
    meta = report.metadata
    written = int(meta.publish_date[:4]) if meta.publish_date else None
    return PendingReport(report, sections, chunks, nothing, [tokenize(c.embed_text) for c in chunks],
                         report_figure_records(chunks, meta.year, written), nothing, original)


def embed_all(pending: list[PendingReport], embedder: Embedder, batch: int, progress: bool = False) -> None:
    """Fill in the vectors of the reports' chunks and of their figure records' descriptions: one
    stream of texts (every chunk, then every description) embedded `batch` texts a call, so only
    one call mixes long chunks with short descriptions."""
    chunk_texts = [c.embed_text for p in pending for c in p.chunks]
    texts = chunk_texts + [describe(r) for p in pending for records in p.figures for r in records]
    parts = []
    with tqdm(total=len(texts), desc="embedding", unit="text", disable=not progress or not texts) as bar:
        for i in range(0, len(texts), batch):
            parts.append(embedder.embed_passages(texts[i : i + batch]))
            bar.update(len(parts[-1]))
    vectors = np.vstack(parts) if parts else np.zeros((0, embedder.dim), np.float32)
    offset, figure_offset = 0, len(chunk_texts)
    for p in pending:
        n_figures = sum(len(records) for records in p.figures)
        p.vectors = vectors[offset : offset + len(p.chunks)]
        p.figure_vectors = vectors[figure_offset : figure_offset + n_figures]
        offset += len(p.chunks)
        figure_offset += n_figures


@dataclass
class IngestControl:
    """A running ingest's link to whoever started it: a switch to cancel it and how far it got."""

    cancel: threading.Event = field(default_factory=threading.Event)
    stage: str = "queued"  # queued | reading | embedding | writing | done
    files_done: int = 0
    files_total: int = 0
    pages_done: int = 0  # pages read by OCR so far, of
    pages_total: int = 0  # the pages to OCR in the files read so far
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def page_reporter(self, name: str, show: bool) -> Progress:
        """The callback of one file's OCR: its pages go into the counts (`GET /jobs/{id}`), and into
        a bar when `show` (the CLI)."""
        before = (self.pages_done, self.pages_total)
        bar: tqdm | None = None

        def report(done: int, total: int) -> None:
            nonlocal bar
            self.pages_done, self.pages_total = before[0] + done, before[1] + total
            if show:
                bar = bar or tqdm(total=total, desc=f"OCR {name}", unit="page")
                bar.update(done - bar.n)
                if done == total:
                    bar.close()

        return report

    def check(self) -> None:
        """Stop here (IngestCancelled) when cancelled; nothing has been written yet."""
        if self.cancel.is_set():
            raise IngestCancelled("before writing")

    def request_cancel(self) -> bool:
        """Cancel unless the new version is already being written (then it is too late): whether it was."""
        with self._lock:
            if self.stage in ("writing", "done"):
                return False
            self.cancel.set()
            return True

    def begin_writing(self) -> None:
        """The last point to cancel: from here on a cancel request is refused, so none is lost."""
        with self._lock:
            self.check()
            self.stage = "writing"


@dataclass
class _Staged:
    """A file read and split (outside the write lock), waiting for its place in the index."""

    index: int
    path: Path
    pending: PendingReport


def ingest_paths(
    paths: list[Path],
    settings: Settings,
    index_dir: Path | None = None,
    issuer: str | None = None,
    year: int | None = None,
    rebuild: bool = False,
    progress: bool = True,
    sources: dict[Path, str] | None = None,
    replaces: dict[Path, str] | None = None,
    control: IngestControl | None = None,
    actor: str | None = None,
) -> IngestSummary:
    """Add, replace or skip every report under `paths`; write one new index version if anything changed.

    A report is its content: the same text is skipped, different text is added. A file whose
    path is its name replaces the report read from that path before (the file was edited);
    one named in `sources` (an upload's file name, which anyone can choose) never replaces a
    report of the same name but is added beside it with a note; `replaces` names a doc_id a
    file replaces explicitly. Files are parsed in child processes with limits
    (ingest/isolation.py) and embedded before the index's write lock is taken, so the lock is
    held only while the new version is written. Raises IngestCancelled when `control` is cancelled
    before writing. `actor` (a key id, cli:<user>) is kept with the new version for the audit log;
    library callers that keep no audit log leave it None.
    """
    started = time.perf_counter()
    index_dir = index_dir or settings.index_dir
    control = control or IngestControl()
    summary = IngestSummary()
    files, missing = discover(paths)
    summary.outcomes.extend(missing)
    control.files_total = len(files)
    t0 = time.perf_counter()
    embedder = get_embedder(settings)
    load_tokenizer()
    summary.timings["model_load"] += time.perf_counter() - t0
    indexed = {} if rebuild else _indexed_ids(index_dir)
    staged: list[_Staged] = []
    with tempfile.TemporaryDirectory(prefix="reportqa-originals-") as tmp:  # copies of paged reports' files
        control.stage = "reading"
        for path in tqdm(files, desc="reading", unit="file", disable=not progress or len(files) < 2):
            control.check()
            outcome = _stage_file(path, settings, issuer, year, indexed, (sources or {}).get(path), staged,
                                  len(summary.outcomes), summary, control, Path(tmp),
                                  control.page_reporter(path.name, progress))
            summary.outcomes.append(outcome)
            control.files_done += 1
        control.check()
        control.stage = "embedding"
        t0 = time.perf_counter()
        embed_all([s.pending for s in staged], embedder, settings.embedding_batch_size, progress)
        summary.timings["embedding"] += time.perf_counter() - t0
        control.begin_writing()
        with IndexWriter(index_dir, embedder.model_id, embedder.dim, rebuild, settings.keep_versions, settings.ann,
                         actor, settings.max_segments) as writer:
            by_id = writer.existing()
            by_source = {source: doc_id for doc_id, source in by_id.items()}
            for item in staged:
                summary.outcomes[item.index] = _place(item, by_source, by_id, writer, (sources or {}).get(item.path),
                                                      (replaces or {}).get(item.path))
            changed = any(o.status in ("added", "replaced") for o in summary.outcomes)
            live = current_version_dir(index_dir)
            if changed or live is None or writer.vector_index_differs():
                summary.manifest = writer.commit()
                for stage, seconds in writer.timings.items():  # indexing, writing
                    summary.timings[stage] += seconds
            else:
                summary.manifest = read_manifest(live)
    for outcome in summary.outcomes:
        if outcome.status == "failed":
            log.warning("%s: %s", outcome.path, outcome.reason)
    control.stage = "done"
    summary.seconds = time.perf_counter() - started
    return summary


def _indexed_ids(index_dir: Path) -> dict[str, str]:
    """doc_id -> source of the live version, read without the lock to skip known reports early."""
    live = current_version_dir(index_dir)
    return document_sources(live) if live is not None else {}


def _stage_file(
    path: Path,
    settings: Settings,
    issuer: str | None,
    year: int | None,
    indexed: dict[str, str],
    source: str | None,
    staged: list[_Staged],
    position: int,
    summary: IngestSummary,
    control: IngestControl,
    originals: Path,
    ocr_pages: Progress,
) -> FileOutcome:
    """Read and split one file (not yet placed in the index): its outcome so far.

    `indexed` (doc_id -> source) gains the staged report, so a second copy in the batch is skipped;
    a paged report's file is copied to `originals` for the index to keep; `ocr_pages` hears how far
    OCR of its scanned pages got.
    """
    if path.suffix.lower() not in SUPPORTED_SUFFIXES:
        return FileOutcome(str(path), "failed", f"unsupported file type '{path.suffix or path.name}'")
    t0 = time.perf_counter()
    try:
        report = read_isolated(path, settings, issuer, year, source, control.cancel, ocr_pages)
    except ReportReadError as exc:
        return FileOutcome(str(path), "failed", str(exc))
    except IngestCancelled:
        raise
    except Exception as exc:  # a broken file must never abort the rest of the batch
        log.exception("unexpected error reading %s", path)
        return FileOutcome(str(path), "failed", f"unexpected error: {type(exc).__name__}: {exc}")
    finally:
        summary.timings["reading"] += time.perf_counter() - t0
    same = indexed.get(report.doc_id)
    if same is not None:
        why = "unchanged" if same == report.source else f"same content as {same}"
        return FileOutcome(str(path), "skipped", why, report.doc_id)
    t0 = time.perf_counter()
    try:
        original = keep_original(report, path, originals) if report.original_sha256 else None
    except (ReportReadError, OSError) as exc:
        return FileOutcome(str(path), "failed", str(exc), report.doc_id)
    prepared = prepare(report, settings, original)
    summary.timings["splitting"] += time.perf_counter() - t0
    if not prepared.chunks:
        return FileOutcome(str(path), "failed", "no text to index", report.doc_id)
    if len(prepared.chunks) > settings.max_chunks_per_file:
        return FileOutcome(str(path), "failed", f"refused: {len(prepared.chunks):,} chunks "
                           f"(limit REPORTQA_MAX_CHUNKS_PER_FILE = {settings.max_chunks_per_file:,})", report.doc_id)
    staged.append(_Staged(position, path, prepared))
    indexed[report.doc_id] = report.source
    return FileOutcome(str(path), "added", None, report.doc_id, len(prepared.chunks))


def _place(item: _Staged, by_source: dict[str, str], by_id: dict[str, str], writer: IndexWriter,
           name: str | None, replace: str | None) -> FileOutcome:
    """Decide under the write lock (another writer may have changed the index meanwhile) and stage the change."""
    report = item.pending.report
    path, chunks = str(item.path), len(item.pending.chunks)
    if report.doc_id in by_id:
        return FileOutcome(path, "skipped", f"same content as {by_id[report.doc_id]}", report.doc_id)
    if replace is not None and replace not in by_id:
        return FileOutcome(path, "failed", f"no report with doc_id {replace} to replace", report.doc_id)
    if replace is None and name is None and report.source in by_source:
        replace = by_source[report.source]  # the file at this path was edited
    note = None
    if replace is None and report.source in by_source:
        shown = report.source.removeprefix(UPLOAD_SOURCE)
        note = f"name clash: a different report named {shown} is kept (doc_id {by_source[report.source]})"
    if replace is not None:
        writer.remove(replace)
        old_source = by_id.pop(replace)
        if by_source.get(old_source) == replace:
            del by_source[old_source]
    by_source[report.source] = report.doc_id
    by_id[report.doc_id] = report.source
    writer.add(item.pending)
    status = "added" if replace is None else "replaced"
    return FileOutcome(path, status, None, report.doc_id, chunks, note=note, replaced=replace)


def remove_document(doc_id: str, settings: Settings, index_dir: Path | None = None,
                    actor: str | None = None) -> dict[str, Any]:
    """Delete one report from the index; raises KeyError when it is not there."""
    index_dir = index_dir or settings.index_dir
    snapshot = open_index(index_dir)
    try:
        if snapshot.document(doc_id, with_text=False) is None:
            raise KeyError(doc_id)
        model_id, dim, ann = snapshot.embedding_model, int(snapshot.manifest["embedding_dim"]), snapshot.ann
    finally:
        snapshot.close()
    with IndexWriter(index_dir, model_id, dim, keep_versions=settings.keep_versions, ann=ann, actor=actor,
                     max_segments=settings.max_segments) as writer:
        writer.remove(doc_id)
        return writer.commit()


def compact_index(settings: Settings, index_dir: Path | None = None, actor: str | None = None) -> dict[str, Any]:
    """Merge the index's segments into one, dropping removed reports' rows; a new version like any write."""
    index_dir = index_dir or settings.index_dir
    snapshot = open_index(index_dir)
    model_id, dim, ann = snapshot.embedding_model, int(snapshot.manifest["embedding_dim"]), snapshot.ann
    snapshot.close()
    with IndexWriter(index_dir, model_id, dim, keep_versions=settings.keep_versions, ann=ann, actor=actor,
                     max_segments=settings.max_segments) as writer:
        writer.compact()
        return writer.commit()
