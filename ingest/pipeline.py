"""Ingest files into the index: read -> split -> embed -> store, one atomic version per run.

A file that cannot be read is reported with its reason and the rest of the batch goes
in; unchanged reports (same content hash at the same path) are skipped, changed ones
replace their old chunks.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from reportqa.config import Settings
from reportqa.models import Report

from .chunking import chunk_report
from .embedding import Embedder, load_embedder
from .errors import ReportReadError
from .lexical import load_tokenizer, tokenize
from .metadata import apply_overrides, extract_metadata
from .normalize import normalize
from .readers import SUPPORTED_SUFFIXES, read_file
from .safety import FileLimits
from .sections import parse_sections
from .store import IndexWriter, PendingReport, current_version_dir, open_index

log = logging.getLogger(__name__)


@dataclass
class FileOutcome:
    """What happened to one input file."""

    path: str
    status: str  # added | replaced | skipped | failed
    reason: str | None = None
    doc_id: str | None = None
    chunks: int = 0


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
                source: str | None = None) -> Report:
    """Read one file into a Report with its metadata (raises ReportReadError).

    `source` names the report (default: the file's absolute path; uploads give their file name).
    """
    limits = FileLimits.from_settings(settings)
    result = read_file(path, limits.max_bytes, limits)
    meta = apply_overrides(extract_metadata(result.text, result.title_hint), issuer=issuer, year=year)
    return Report(
        doc_id=content_id(result.text),
        source=source or str(path.resolve()),
        format=result.format,
        encoding=result.encoding,
        text=result.text,
        metadata=meta,
    )


def prepare(report: Report, settings: Settings) -> PendingReport:
    """Sections and chunks of a report (vectors are filled in later, in batches)."""
    sections = parse_sections(report.text, normalize(report.text))
    chunks = chunk_report(report, settings.chunk_max_chars, settings.table_rows_per_chunk, sections)
    return PendingReport(report, sections, chunks, np.zeros((0, 0), np.float32), [tokenize(c.embed_text) for c in chunks])


def _embed_all(pending: list[PendingReport], embedder: Embedder, batch: int, progress: bool) -> None:
    texts = [c.embed_text for p in pending for c in p.chunks]
    parts = []
    with tqdm(total=len(texts), desc="embedding", unit="chunk", disable=not progress or not texts) as bar:
        for i in range(0, len(texts), batch):
            parts.append(embedder.embed_passages(texts[i : i + batch]))
            bar.update(len(parts[-1]))
    vectors = np.vstack(parts) if parts else np.zeros((0, embedder.dim), np.float32)
    offset = 0
    for p in pending:
        p.vectors = vectors[offset : offset + len(p.chunks)]
        offset += len(p.chunks)


def get_embedder(settings: Settings) -> Embedder:
    """The configured embedding model."""
    return load_embedder(
        settings.embedding_model,
        settings.embedding_query_prefix,
        settings.embedding_passage_prefix,
        settings.embedding_batch_size,
        settings.embedding_threads,
    )


def ingest_paths(
    paths: list[Path],
    settings: Settings,
    index_dir: Path | None = None,
    issuer: str | None = None,
    year: int | None = None,
    rebuild: bool = False,
    progress: bool = True,
    sources: dict[Path, str] | None = None,
    actor: str | None = None,
) -> IngestSummary:
    """Add, replace or skip every report under `paths`; write one new index version if anything changed.

    `sources` names files by something other than their path (an upload's file name), so a
    later upload of the same name replaces the report. `actor` (a key id, cli:<user>) is kept
    with the new version for the audit log; library callers that keep no audit log leave it None.
    """
    started = time.perf_counter()
    index_dir = index_dir or settings.index_dir
    summary = IngestSummary()
    files, missing = discover(paths)
    summary.outcomes.extend(missing)
    t0 = time.perf_counter()
    embedder = get_embedder(settings)
    load_tokenizer()
    summary.timings["model_load"] += time.perf_counter() - t0
    with IndexWriter(index_dir, embedder.model_id, embedder.dim, rebuild, settings.keep_versions, settings.ann,
                     actor) as writer:
        existing = writer.existing()
        seen_ids = {doc_id: source for source, doc_id in existing.items()}
        pending: list[PendingReport] = []
        for path in tqdm(files, desc="reading", unit="file", disable=not progress or len(files) < 2):
            outcome = _stage_file(path, settings, issuer, year, existing, seen_ids, writer, pending, summary,
                                  (sources or {}).get(path))
            summary.outcomes.append(outcome)
            if outcome.status == "failed":
                log.warning("%s: %s", path, outcome.reason)
        t0 = time.perf_counter()
        _embed_all(pending, embedder, settings.embedding_batch_size, progress)
        summary.timings["embedding"] += time.perf_counter() - t0
        changed = bool(pending) or any(o.status == "replaced" for o in summary.outcomes)
        if changed or current_version_dir(index_dir) is None or writer.vector_index_differs():
            summary.manifest = writer.commit()
            for stage, seconds in writer.timings.items():  # indexing, writing
                summary.timings[stage] += seconds
        else:
            snapshot = open_index(index_dir)
            summary.manifest = snapshot.manifest
            snapshot.close()
    summary.seconds = time.perf_counter() - started
    return summary


def _stage_file(
    path: Path,
    settings: Settings,
    issuer: str | None,
    year: int | None,
    existing: dict[str, str],
    seen_ids: dict[str, str],
    writer: IndexWriter,
    pending: list[PendingReport],
    summary: IngestSummary,
    source: str | None = None,
) -> FileOutcome:
    if path.suffix.lower() not in SUPPORTED_SUFFIXES:
        return FileOutcome(str(path), "failed", f"unsupported file type '{path.suffix or path.name}'")
    t0 = time.perf_counter()
    try:
        report = load_report(path, settings, issuer, year, source)
    except ReportReadError as exc:
        return FileOutcome(str(path), "failed", str(exc))
    except Exception as exc:  # a broken file must never abort the rest of the batch
        log.exception("unexpected error reading %s", path)
        return FileOutcome(str(path), "failed", f"unexpected error: {type(exc).__name__}: {exc}")
    finally:
        summary.timings["reading"] += time.perf_counter() - t0
    if existing.get(report.source) == report.doc_id:
        return FileOutcome(str(path), "skipped", "unchanged", report.doc_id)
    if report.doc_id in seen_ids:
        return FileOutcome(str(path), "skipped", f"same content as {seen_ids[report.doc_id]}", report.doc_id)
    t0 = time.perf_counter()
    prepared = prepare(report, settings)
    summary.timings["splitting"] += time.perf_counter() - t0
    if not prepared.chunks:
        return FileOutcome(str(path), "failed", "no text to index", report.doc_id)
    status = "added"
    if report.source in existing:
        writer.remove(existing[report.source])
        status = "replaced"
    seen_ids[report.doc_id] = report.source
    writer.add(prepared)
    pending.append(prepared)
    return FileOutcome(str(path), status, None, report.doc_id, len(prepared.chunks))


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
    with IndexWriter(index_dir, model_id, dim, keep_versions=settings.keep_versions, ann=ann, actor=actor) as writer:
        writer.remove(doc_id)
        return writer.commit()
