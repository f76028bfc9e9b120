"""One ASGI middleware around every request: body size limit, metrics, audit log.

It sits outside the routers, so it sees every route, including those other modules add:
- the request body is cut off at `max_body_kb` (`max_upload_mb` for uploads) with a 413,
  whether or not the client sent Content-Length;
- request counts and latencies go to Prometheus by route template (never raw paths);
- answers are counted found / not found;
- API requests are written to the audit log with the caller's key id and what the route
  recorded on `request.state`: the question asked (`record_question`), the doc ids cited and
  whether an answer was found (`record_answer`), the admin change (`audit_change`). Bodies are
  never re-parsed here: the route already holds those facts as values.
- the response carries `X-Index-Version` when the request used an index version.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from fastapi import HTTPException, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..metrics import ANSWERS, LATENCY, REQUESTS
from ..schemas import Citation
from .audit import AuditEntry, AuditLog

log = logging.getLogger(__name__)

UPLOAD_PATH = "/documents"
NOT_AUDITED = {"/", "/health", "/metrics", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}
INDEX_VERSION_HEADER = b"x-index-version"


@dataclass(frozen=True)
class AnswerFacts:
    """What an answering route tells the audit log and the metrics about its answer."""

    cited: list[str]
    found: bool | None


def record_question(request: Request, question: str) -> None:
    """Note the question on `request.state` as soon as it is read, so the audit row has it even when
    answering fails."""
    request.state.audit_question = question


def record_answer(request: Request, citations: Iterable[Citation], found: bool | None = None) -> None:
    """Note on `request.state` which reports the answer cited and whether one was found (None: the
    route answers with no found/not found, as /summaries), for the audit row and the metrics."""
    request.state.answer_facts = AnswerFacts(sorted({c.doc_id for c in citations}), found)


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body larger than {_size(limit)}")


def _size(n: int) -> str:
    return f"{n / 1024 / 1024:g} MB" if n >= 1024 * 1024 else f"{n / 1024:g} KB"


class ServiceMiddleware:
    """Limits, metrics and audit for every HTTP request of the app."""

    def __init__(self, app: ASGIApp, body_limit: int, upload_limit: int, audit: AuditLog) -> None:
        self.app = app
        self.body_limit = body_limit
        self.upload_limit = upload_limit
        self.audit = audit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        limit = self.upload_limit if scope["method"] == "POST" and scope["path"] == UPLOAD_PATH else self.body_limit
        response: dict[str, Any] = {"status": 500, "started": False}
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                chunk = message.get("body", b"")
                received += len(chunk)
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def observing_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                response.update(status=message["status"], started=True)
                headers = list(message.get("headers", []))
                version = scope.get("state", {}).get("index_version")
                if version is not None:
                    headers.append((INDEX_VERSION_HEADER, str(version).encode()))
                message = {**message, "headers": headers}
            await send(message)

        declared = dict(scope.get("headers", [])).get(b"content-length")
        try:
            if declared is not None and declared.isdigit() and int(declared) > limit:
                await _send_json(send, 413, {"detail": f"request body larger than {_size(limit)}"})
                response["status"] = 413
            else:
                await self.app(scope, limited_receive, observing_send)
        except BodyTooLarge as exc:  # raised where no route caught it (the body read outside FastAPI)
            if not response["started"]:
                await _send_json(send, 413, {"detail": exc.detail})
            response["status"] = 413
        finally:
            self._observe(scope, response["status"], time.perf_counter() - started)

    def _observe(self, scope: Scope, status: int, seconds: float) -> None:
        route = scope.get("route")
        template = getattr(route, "path", None) or "unmatched"
        method = scope["method"]
        REQUESTS.labels(method, template, str(status)).inc()
        LATENCY.labels(method, template).observe(seconds)
        state = scope.get("state", {})
        facts: AnswerFacts = state.get("answer_facts") or AnswerFacts([], None)
        if facts.found is not None and status == 200:
            ANSWERS.labels(template, "found" if facts.found else "not_found").inc()
        if template in NOT_AUDITED or template == "unmatched" or template.startswith("/static"):
            return
        principal = state.get("principal")
        entry = AuditEntry(
            key_id=principal.key_id if principal else "anonymous",
            role=principal.role if principal else None,
            method=method,
            route=template,
            status=status,
            question=state.get("audit_question"),
            cited=facts.cited,
            change=state.get("audit_change"),
        )
        try:
            self.audit.record(entry)
        except Exception:  # the audit log must never turn an answered request into an error
            log.exception("could not write the audit log")


async def _send_json(send: Send, status: int, body: dict[str, Any]) -> None:
    data = json.dumps(body, ensure_ascii=False).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]})
    await send({"type": "http.response.body", "body": data})

