"""Changing the reports over HTTP (admins only): upload files, replace or remove a report.

All go through the same pipeline and atomic writer as `reportqa ingest` / `remove`
(one writer at a time under the index's file lock); the engine of every running
server switches to the new version at its next request, and requests in flight finish
on the version they started with.
"""

from __future__ import annotations

import hashlib
import logging
import re
import shutil
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, BinaryIO

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import JSONResponse

from core.config import Settings
from core.index import UPLOAD_SOURCE, IndexStoreError
from ingest.errors import IngestCancelled, ReportReadError
from ingest.ocr import pdf_needs_ocr
from ingest.pipeline import FileOutcome, IngestSummary, ingest_paths, remove_document
from ingest.readers import SCAN_FORMATS
from ingest.safety import looks_like_html, sniff

from ...engine import Engine
from ...errors import RequestError
from ...metrics import REFUSED_UPLOADS
from ..audit import AuditEntry, AuditLog
from ..auth import require_admin
from ..deps import Principal, get_engine, get_principal, get_settings
from ..jobs import Job, JobRegistry
from .jobs import get_jobs

log = logging.getLogger(__name__)
router = APIRouter(tags=["documents"], dependencies=[Depends(require_admin)])
_UNSAFE_NAME = re.compile(r"[^\w.\-\u4e00-\u9fff ()（）]+")
_COPY_CHUNK = 1024 * 1024


def safe_name(filename: str | None) -> str | None:
    """The base name of an uploaded file without path parts or odd characters; None when nothing is left."""
    base = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = _UNSAFE_NAME.sub("_", base).strip(" .")[:120]
    return base or None


def _suffix(kind: str, data_head: bytes, name: str) -> str:
    """The reader's suffix for content of `kind` (the name only tells Markdown from plain text)."""
    if kind != "text":
        return f".{kind}"
    if looks_like_html(data_head):
        return ".html"
    return ".md" if name.lower().endswith(".md") else ".txt"


def _copy_limited(src: BinaryIO, dest: Path, max_bytes: int) -> tuple[int, str]:
    """Copy at most max_bytes + 1 bytes (enough to know the file is too large); the size and a hash of what came."""
    written = 0
    digest = hashlib.sha256()
    with open(dest, "wb") as out:
        while written <= max_bytes:
            chunk = src.read(min(_COPY_CHUNK, max_bytes + 1 - written))
            if not chunk:
                break
            out.write(chunk)
            digest.update(chunk)
            written += len(chunk)
    return written, digest.hexdigest()


def _stage_upload(upload: UploadFile, folder: Path, n: int, max_bytes: int) -> tuple[str, Path | FileOutcome]:
    """The file's name, and the upload saved under a suffix its content earned or the reason it is refused.

    A name with nothing usable in it ('.', '..', '') becomes upload-<hash of the content>, so two
    such files never share a name.
    """
    raw = folder / f"{n:03d}.upload"
    size, digest = _copy_limited(upload.file, raw, max_bytes)
    name = safe_name(upload.filename) or f"upload-{digest[:12]}"
    if size > max_bytes:
        return name, FileOutcome(name, "failed", f"file too large: over the limit of {max_bytes / 1e6:.1f} MB")
    if size == 0:
        return name, FileOutcome(name, "failed", "empty file")
    data = raw.read_bytes()
    try:
        kind = sniff(data)
    except ReportReadError as exc:
        return name, FileOutcome(name, "failed", str(exc))
    return name, raw.rename(folder / f"{n:03d}{_suffix(kind, data[:4096], name)}")


@router.post("/documents")
def upload_documents(
    request: Request,
    files: Annotated[list[UploadFile],
                     File(description="Report files: PDF, DOCX, DOC/WPS, OFD, HTML, text (UTF-8/GB18030/UTF-16) "
                                      "or scans (PNG, JPEG, TIFF).")],
    issuer: Annotated[str | None, Form(min_length=1, max_length=100)] = None,
    year: Annotated[int | None, Form(ge=1949, le=2100)] = None,
    replace: Annotated[str | None, Form(description="doc_id of the report the one uploaded file replaces.",
                                        pattern=r"^[0-9a-f]{16}$")] = None,
    settings: Settings = Depends(get_settings),
    engine: Engine = Depends(get_engine),
    jobs: JobRegistry = Depends(get_jobs),
) -> JSONResponse:
    """Add or skip uploaded reports (a report is its content, not its file name), or replace one named by doc_id.

    One result per file, in the order sent. The upload runs as a job (GET /jobs) an admin can cancel.
    An upload with a scan (an image, or a PDF page without a text layer) needs OCR, which takes
    seconds a page: it is answered at once with 202 and its job id, and `GET /jobs/{id}` shows the
    pages read and, once finished, the results this route would have sent.
    """
    if len(files) > settings.max_upload_files:
        raise RequestError(413, f"{len(files)} files in one upload; the limit is {settings.max_upload_files}")
    if replace is not None:
        if len(files) != 1:
            raise RequestError(422, f"replace names one report; send exactly one file with it, not {len(files)}")
        if engine.view().snapshot.document(replace, with_text=False) is None:
            raise RequestError(404, f"unknown doc_id to replace: {replace}")
    max_bytes = int(settings.max_file_mb * 1024 * 1024)
    upload = _Upload(Path(tempfile.mkdtemp(prefix="reportqa-upload-")), issuer, year, replace)
    folder: Path | None = upload.folder  # removed here, unless a job's thread takes it over
    try:
        for n, file in enumerate(files):
            name, outcome = _stage_upload(file, upload.folder, n, max_bytes)
            upload.results.append(_result(outcome) if isinstance(outcome, FileOutcome) else {"filename": name})
            if isinstance(outcome, Path):
                upload.staged[outcome] = (n, name)
        principal = get_principal(request)
        job = jobs.start("upload", principal.key_id, [r["filename"] for r in upload.results])
        if any(_needs_ocr(path) for path in upload.staged):
            request.state.audit_change = {"action": "replace" if replace else "upload", "job_id": job.job_id,
                                          "queued": True, "files": job.files, "index_version": None}
            audit: AuditLog = request.app.state.audit
            threading.Thread(target=_run_in_background, args=(upload, settings, engine, jobs, job, audit, principal),
                             name=f"upload-{job.job_id}", daemon=True).start()
            folder = None  # the job's thread removes it
            return JSONResponse({"job_id": job.job_id, "state": job.state, "ocr": True, "files": upload.results},
                                status_code=202)
        try:
            done = _run(upload, settings, engine, job)
        except BaseException:
            jobs.finish(job, "failed")
            raise
    finally:
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
    request.state.audit_change = done.change
    jobs.finish(job, done.state, done.body)
    return JSONResponse(done.body, status_code=done.status)


@dataclass
class _Upload:
    """An upload's files saved under `folder` (saved file -> position and name) and a result per file sent."""

    folder: Path
    issuer: str | None
    year: int | None
    replace: str | None
    staged: dict[Path, tuple[int, str]] = field(default_factory=dict)
    results: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class _Done:
    """How an upload's job ended: its state, the HTTP status and body of its answer, the audit log's change."""

    state: str
    status: int
    body: dict[str, Any]
    change: dict[str, Any]


def _needs_ocr(path: Path) -> bool:
    """A scan, or a PDF with a page without a text layer (a PDF pdfium cannot open is the reader's to refuse)."""
    if path.suffix.lstrip(".") in SCAN_FORMATS:
        return True
    try:
        return path.suffix == ".pdf" and pdf_needs_ocr(path.read_bytes())
    except ReportReadError:
        return False


def _run(upload: _Upload, settings: Settings, engine: Engine, job: Job) -> _Done:
    """The staged files through the pipeline under the job's control, and the answer to send."""
    results, replace = upload.results, upload.replace
    try:
        summary = _ingest(upload, settings, job) if upload.staged else None
    except IngestCancelled as exc:
        return _Done("cancelled", 409, {"detail": f"upload cancelled by {job.cancelled_by} {exc} (job {job.job_id}); "
                                                  "nothing was written"},
                     {"action": "upload", "job_id": job.job_id, "cancelled_by": job.cancelled_by,
                      "files": [r["filename"] for r in results], "index_version": None})
    if summary is not None:
        by_path = {o.path: o for o in summary.outcomes}
        for path, (n, name) in upload.staged.items():
            o = by_path[str(path)]
            results[n] = _result(FileOutcome(name, o.status, o.reason, o.doc_id, o.chunks, o.note, o.replaced))
    version = summary.manifest["version"] if summary is not None and summary.manifest else None
    for r in results:
        if r["status"] == "failed":
            REFUSED_UPLOADS.labels("failed").inc()
    counts = {s: sum(r["status"] == s for r in results) for s in ("added", "replaced", "skipped", "failed")}
    changed = counts["added"] + counts["replaced"] > 0
    # The version this upload made, if any: an upload that changed nothing must not claim the current
    # version's change (the audit log recovers unlogged versions by their number).
    change = {"action": "replace" if replace else "upload", "job_id": job.job_id,
              "index_version": version if changed else None,
              "files": [{k: r[k] for k in ("filename", "status", "doc_id", "replaced", "reason")} for r in results]}
    if version is not None:
        engine.view()  # load the new version now, not on the next reader's time
    failed = counts["failed"] == len(results)
    body = {"index_version": version, "job_id": job.job_id, **counts, "files": results}
    if failed:
        body["detail"] = "no file could be added: " + "; ".join(f"{r['filename']}: {r['reason']}" for r in results)
    return _Done("failed" if failed else "done", 422 if failed else 200, body, change)


def _run_in_background(upload: _Upload, settings: Settings, engine: Engine, jobs: JobRegistry, job: Job,
                       audit: AuditLog, principal: Principal) -> None:
    """An upload that needs OCR, after its 202: the job keeps the answer, the audit log the change."""
    try:
        done = _run(upload, settings, engine, job)
    except RequestError as exc:  # the index could not be written
        done = _Done("failed", exc.status, {"detail": exc.message, "job_id": job.job_id},
                     {"action": "upload", "job_id": job.job_id, "index_version": None})
    except Exception as exc:  # the job must end, whatever happened, and say so
        log.exception("upload job %s failed", job.job_id)
        done = _Done("failed", 500, {"detail": f"upload failed: {type(exc).__name__}", "job_id": job.job_id},
                     {"action": "upload", "job_id": job.job_id, "index_version": None})
    finally:
        shutil.rmtree(upload.folder, ignore_errors=True)
    jobs.finish(job, done.state, done.body)
    try:
        audit.record(AuditEntry(principal.key_id, principal.role, "POST", "/documents", done.status, change=done.change))
    except Exception:  # the audit log must never lose the job its answer
        log.exception("could not write the audit log")


def _ingest(upload: _Upload, settings: Settings, job: Job) -> IngestSummary:
    """The staged files through the pipeline under the job's control; 409 when the index cannot be written."""
    staged, replace = upload.staged, upload.replace
    try:
        return ingest_paths(list(staged), settings, issuer=upload.issuer, year=upload.year, progress=False,
                            sources={p: UPLOAD_SOURCE + name for p, (_, name) in staged.items()},
                            replaces={p: replace for p in staged} if replace else None, control=job.control,
                            actor=job.key_id)
    except IndexStoreError as exc:
        raise RequestError(409, str(exc)) from exc


def _result(o: FileOutcome) -> dict[str, Any]:
    return {"filename": o.path, "status": o.status, "reason": o.reason, "note": o.note, "doc_id": o.doc_id,
            "chunks": o.chunks, "replaced": o.replaced}


@router.delete("/documents/{doc_id}")
def delete_document(
    doc_id: str,
    request: Request,
    settings: Settings = Depends(get_settings),
    engine: Engine = Depends(get_engine),
) -> dict[str, Any]:
    """Remove one report; the new index version no longer holds it."""
    try:
        manifest = remove_document(doc_id, settings, actor=get_principal(request).key_id)
    except KeyError as exc:
        raise RequestError(404, f"unknown doc_id: {doc_id}") from exc
    except IndexStoreError as exc:
        raise RequestError(409, str(exc)) from exc
    request.state.audit_change = {"action": "remove", "doc_id": doc_id, "index_version": manifest["version"]}
    engine.view()  # load the new version now, not on the next reader's time
    return {"removed": doc_id, "index_version": manifest["version"], "documents": manifest["n_documents"]}
