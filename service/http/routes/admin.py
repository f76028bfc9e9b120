"""Changing the reports over HTTP (admins only): upload files, replace or remove a report.

All go through the same pipeline and atomic writer as `reportqa ingest` / `remove`
(one writer at a time under the index's file lock); the engine of every running
server switches to the new version at its next request, and requests in flight finish
on the version they started with.
"""

from __future__ import annotations

import hashlib
import re
import tempfile
from pathlib import Path
from typing import Annotated, Any, BinaryIO

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import JSONResponse

from core.config import Settings
from core.index import UPLOAD_SOURCE, IndexStoreError
from ingest.errors import IngestCancelled, ReportReadError
from ingest.pipeline import FileOutcome, IngestSummary, ingest_paths, remove_document
from ingest.safety import looks_like_html, sniff

from ...engine import Engine
from ...errors import RequestError
from ...metrics import REFUSED_UPLOADS
from ..auth import require_admin
from ..deps import get_engine, get_principal, get_settings
from ..jobs import Job, JobRegistry
from .jobs import get_jobs

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
                     File(description="Report files: PDF, DOCX, DOC/WPS, OFD, HTML or text (UTF-8/GB18030/UTF-16).")],
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
    """
    if len(files) > settings.max_upload_files:
        raise RequestError(413, f"{len(files)} files in one upload; the limit is {settings.max_upload_files}")
    if replace is not None:
        if len(files) != 1:
            raise RequestError(422, f"replace names one report; send exactly one file with it, not {len(files)}")
        if engine.view().snapshot.document(replace, with_text=False) is None:
            raise RequestError(404, f"unknown doc_id to replace: {replace}")
    max_bytes = int(settings.max_file_mb * 1024 * 1024)
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="reportqa-upload-") as tmp:
        staged: dict[Path, tuple[int, str]] = {}  # saved file -> (position in the upload, name)
        for n, upload in enumerate(files):
            name, outcome = _stage_upload(upload, Path(tmp), n, max_bytes)
            results.append(_result(outcome) if isinstance(outcome, FileOutcome) else {"filename": name})
            if isinstance(outcome, Path):
                staged[outcome] = (n, name)
        job = jobs.start("upload", get_principal(request).key_id, [r["filename"] for r in results])
        try:
            summary = _ingest(staged, settings, issuer, year, replace, job) if staged else None
        except IngestCancelled as exc:
            jobs.finish(job, "cancelled")
            request.state.audit_change = {"action": "upload", "job_id": job.job_id, "cancelled_by": job.cancelled_by,
                                          "files": [r["filename"] for r in results], "index_version": None}
            raise RequestError(409, f"upload cancelled by {job.cancelled_by} {exc} (job {job.job_id}); "
                                    "nothing was written") from exc
        except BaseException:
            jobs.finish(job, "failed")
            raise
        if summary is not None:
            by_path = {o.path: o for o in summary.outcomes}
            for path, (n, name) in staged.items():
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
    request.state.audit_change = {"action": "replace" if replace else "upload", "job_id": job.job_id,
                                  "index_version": version if changed else None,
                                  "files": [{k: r[k] for k in ("filename", "status", "doc_id", "replaced", "reason")}
                                            for r in results]}
    if version is not None:
        engine.view()  # load the new version now, not on the next reader's time
    jobs.finish(job, "failed" if counts["failed"] == len(results) else "done")
    status = 422 if counts["failed"] == len(results) else 200
    body = {"index_version": version, "job_id": job.job_id, **counts, "files": results}
    if status == 422:
        body["detail"] = "no file could be added: " + "; ".join(f"{r['filename']}: {r['reason']}" for r in results)
    return JSONResponse(body, status_code=status)


def _ingest(staged: dict[Path, tuple[int, str]], settings: Settings, issuer: str | None, year: int | None,
            replace: str | None, job: Job) -> IngestSummary:
    """The staged files through the pipeline under the job's control; 409 when the index cannot be written."""
    try:
        return ingest_paths(list(staged), settings, issuer=issuer, year=year, progress=False,
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
