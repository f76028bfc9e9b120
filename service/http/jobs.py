"""Running and recent index jobs (uploads): what each is doing, and a switch to cancel it.

An upload parses its files in child processes before it takes the index's write lock
(ingest/pipeline.py); while it runs, an admin sees it in `GET /jobs` and may stop it with
`DELETE /jobs/{id}`, which kills the parse in progress and writes nothing. An upload that needs
OCR is answered at once; its job shows the pages read so far and, once finished, that answer.
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ingest.pipeline import IngestControl

KEEP_FINISHED = 100  # finished jobs kept for GET /jobs/{id}; older ones are forgotten


@dataclass
class Job:
    """One upload: who started it, its files, its progress and how it ended."""

    kind: str
    key_id: str
    files: list[str]
    job_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    started_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    control: IngestControl = field(default_factory=IngestControl)
    state: str = "running"  # running | done | failed | cancelled
    cancelled_by: str | None = None
    result: dict[str, Any] | None = None  # the upload's answer, once finished

    def to_dict(self) -> dict[str, Any]:
        c = self.control
        return {"job_id": self.job_id, "kind": self.kind, "key_id": self.key_id, "files": self.files,
                "started_at": self.started_at, "state": self.state, "stage": c.stage,
                "files_done": c.files_done, "files_total": c.files_total, "pages_done": c.pages_done,
                "pages_total": c.pages_total, "cancelled_by": self.cancelled_by, "result": self.result}


class JobRegistry:
    """The jobs of this server process; safe to share between request threads."""

    def __init__(self) -> None:
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._lock = threading.Lock()

    def start(self, kind: str, key_id: str, files: list[str]) -> Job:
        job = Job(kind, key_id, files)
        with self._lock:
            self._jobs[job.job_id] = job
            finished = [j for j in self._jobs.values() if j.state != "running"]
            for old in finished[: max(0, len(finished) - KEEP_FINISHED)]:
                del self._jobs[old.job_id]
        return job

    def finish(self, job: Job, state: str, result: dict[str, Any] | None = None) -> None:
        """Record how a job ended: done, failed (nothing could be added) or cancelled, and its answer."""
        job.result = result
        job.state = state

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def all(self) -> list[Job]:
        with self._lock:
            return list(self._jobs.values())

    def cancel(self, job: Job, key_id: str) -> bool:
        """Ask a running job to stop; False when it is too late (finished, or writing the new version)."""
        if job.state != "running":
            return False
        job.cancelled_by = key_id
        if job.control.request_cancel():
            return True
        job.cancelled_by = None
        return False
