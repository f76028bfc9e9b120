"""Index jobs (admins only): list them, follow one, cancel one that is still running."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from ...errors import RequestError
from ..auth import require_admin
from ..deps import get_principal
from ..jobs import Job, JobRegistry

router = APIRouter(tags=["jobs"], dependencies=[Depends(require_admin)])


def get_jobs(request: Request) -> JobRegistry:
    return request.app.state.jobs


def _find(jobs: JobRegistry, job_id: str) -> Job:
    job = jobs.get(job_id)
    if job is None:
        raise RequestError(404, f"unknown job_id: {job_id}")
    return job


@router.get("/jobs")
def list_jobs(jobs: JobRegistry = Depends(get_jobs)) -> dict[str, Any]:
    """Running and recently finished jobs, oldest first."""
    return {"jobs": [j.to_dict() for j in jobs.all()]}


@router.get("/jobs/{job_id}")
def job(job_id: str, jobs: JobRegistry = Depends(get_jobs)) -> dict[str, Any]:
    """One job's state and progress (stage, files read of all)."""
    return _find(jobs, job_id).to_dict()


@router.delete("/jobs/{job_id}")
def cancel_job(job_id: str, request: Request, jobs: JobRegistry = Depends(get_jobs)) -> dict[str, Any]:
    """Stop a running job: its parse is killed and nothing of it is written (409 once it has finished)."""
    job = _find(jobs, job_id)
    if not jobs.cancel(job, get_principal(request).key_id):
        raise RequestError(409, f"job {job_id} can no longer be cancelled: it is {job.state} "
                                f"({job.control.stage}); uploads are cancelled before they write")
    request.state.audit_change = {"action": "cancel", "job_id": job_id, "files": job.files}
    return {"cancelled": job_id, **job.to_dict()}
