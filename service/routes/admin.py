"""Changing the reports over HTTP (admins only): upload files, remove a report.

Both go through the same pipeline and atomic writer as `reportqa ingest` / `remove`
(one writer at a time under the index's file lock); the IndexHolder of every running
server switches to the new version at its next request, and requests in flight finish
on the version they started with.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Annotated, Any, BinaryIO

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import JSONResponse

from ingest.errors import ReportReadError
from ingest.pipeline import FileOutcome, ingest_paths, remove_document
from ingest.safety import looks_like_html, sniff
from ingest.store import IndexError_
from reportqa.config import Settings

from ..auth import require_admin
from ..deps import get_holder, get_principal, get_settings
from ..errors import RequestError
from ..index_holder import IndexHolder
from ..metrics import REFUSED_UPLOADS

router = APIRouter(tags=["documents"], dependencies=[Depends(require_admin)])
UPLOAD_SOURCE = "upload:"
_UNSAFE_NAME = re.compile(r"[^\w.\-\u4e00-\u9fff ()（）]+")
_COPY_CHUNK = 1024 * 1024


def safe_name(filename: str | None, n: int) -> str:
    """The base name of an uploaded file without path parts or odd characters."""
    base = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = _UNSAFE_NAME.sub("_", base).strip(" .")[:120]
    return base or f"upload-{n}"


def _suffix(kind: str, data_head: bytes, name: str) -> str:
    """The reader's suffix for content of `kind` (the name only tells Markdown from plain text)."""
    if kind != "text":
        return f".{kind}"
    if looks_like_html(data_head):
        return ".html"
    return ".md" if name.lower().endswith(".md") else ".txt"


def _copy_limited(src: BinaryIO, dest: Path, max_bytes: int) -> int:
    """Copy at most max_bytes + 1 bytes (enough to know the file is too large)."""
    written = 0
    with open(dest, "wb") as out:
        while written <= max_bytes:
            chunk = src.read(min(_COPY_CHUNK, max_bytes + 1 - written))
            if not chunk:
                break
            out.write(chunk)
            written += len(chunk)
    return written


def _stage_upload(upload: UploadFile, name: str, folder: Path, n: int, max_bytes: int) -> Path | FileOutcome:
    """The upload saved under a suffix its content earned, or the reason it is refused."""
    raw = folder / f"{n:03d}.upload"
    size = _copy_limited(upload.file, raw, max_bytes)
    if size > max_bytes:
        return FileOutcome(name, "failed", f"file too large: over the limit of {max_bytes / 1e6:.1f} MB")
    if size == 0:
        return FileOutcome(name, "failed", "empty file")
    data = raw.read_bytes()
    try:
        kind = sniff(data)
    except ReportReadError as exc:
        return FileOutcome(name, "failed", str(exc))
    return raw.rename(folder / f"{n:03d}{_suffix(kind, data[:4096], name)}")


@router.post("/documents")
def upload_documents(
    request: Request,
    files: Annotated[list[UploadFile], File(description="Report files: PDF, DOCX, HTML or text (UTF-8/GB18030).")],
    issuer: Annotated[str | None, Form(min_length=1, max_length=100)] = None,
    year: Annotated[int | None, Form(ge=1949, le=2100)] = None,
    settings: Settings = Depends(get_settings),
    holder: IndexHolder = Depends(get_holder),
) -> JSONResponse:
    """Add, replace (same file name, new content) or skip uploaded reports; one result per file."""
    if len(files) > settings.max_upload_files:
        raise RequestError(413, f"{len(files)} files in one upload; the limit is {settings.max_upload_files}")
    max_bytes = int(settings.max_file_mb * 1024 * 1024)
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="reportqa-upload-") as tmp:
        staged: dict[Path, str] = {}
        names: dict[str, int] = {}
        for n, upload in enumerate(files):
            name = safe_name(upload.filename, n)
            if name in names:
                results.append(_result(FileOutcome(name, "failed", "the same file name twice in one upload")))
                continue
            names[name] = n
            outcome = _stage_upload(upload, name, Path(tmp), n, max_bytes)
            if isinstance(outcome, FileOutcome):
                results.append(_result(outcome))
            else:
                staged[outcome] = name
        version = None
        if staged:
            try:
                summary = ingest_paths(list(staged), settings, issuer=issuer, year=year, progress=False,
                                       sources={p: UPLOAD_SOURCE + name for p, name in staged.items()},
                                       actor=get_principal(request).key_id)
            except IndexError_ as exc:
                raise RequestError(409, str(exc)) from exc
            by_path = {o.path: o for o in summary.outcomes}
            for path, name in staged.items():
                o = by_path[str(path)]
                results.append(_result(FileOutcome(name, o.status, o.reason, o.doc_id, o.chunks)))
            version = summary.manifest["version"] if summary.manifest else None
    results.sort(key=lambda r: names.get(r["filename"], len(files)))
    for r in results:
        if r["status"] == "failed":
            REFUSED_UPLOADS.labels("failed").inc()
    request.state.audit_change = {"action": "upload", "index_version": version,
                                  "files": [{k: r[k] for k in ("filename", "status", "doc_id", "reason")} for r in results]}
    if version is not None:
        holder.get()  # load the new version now, not on the next reader's time
    counts = {s: sum(r["status"] == s for r in results) for s in ("added", "replaced", "skipped", "failed")}
    status = 422 if counts["failed"] == len(results) else 200
    body = {"index_version": version, **counts, "files": results}
    if status == 422:
        body["detail"] = "no file could be added: " + "; ".join(f"{r['filename']}: {r['reason']}" for r in results)
    return JSONResponse(body, status_code=status)


def _result(o: FileOutcome) -> dict[str, Any]:
    return {"filename": o.path, "status": o.status, "reason": o.reason, "doc_id": o.doc_id, "chunks": o.chunks}


@router.delete("/documents/{doc_id}")
def delete_document(
    doc_id: str,
    request: Request,
    settings: Settings = Depends(get_settings),
    holder: IndexHolder = Depends(get_holder),
) -> dict[str, Any]:
    """Remove one report; the new index version no longer holds it."""
    try:
        manifest = remove_document(doc_id, settings, actor=get_principal(request).key_id)
    except KeyError as exc:
        raise RequestError(404, f"unknown doc_id: {doc_id}") from exc
    except IndexError_ as exc:
        raise RequestError(409, str(exc)) from exc
    request.state.audit_change = {"action": "remove", "doc_id": doc_id, "index_version": manifest["version"]}
    holder.get()
    return {"removed": doc_id, "index_version": manifest["version"], "documents": manifest["n_documents"]}
