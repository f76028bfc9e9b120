"""One ASGI middleware around every request: body size limit, metrics, audit log.

It sits outside the routers, so it sees every route, including those other modules add:
- the request body is cut off at `max_body_kb` (`max_upload_mb` for uploads) with a 413,
  whether or not the client sent Content-Length;
- request counts and latencies go to Prometheus by route template (never raw paths);
- answers (any JSON or SSE body with `found` / `citations`) are counted found / not found;
- API requests are written to the audit log with the caller's key id, the question asked
  (from the request body), the doc ids cited (from the response) and the admin change a
  route described on `request.state.audit_change`;
- the response carries `X-Index-Version` when the request used an index version.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from typing import Any

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .audit import AuditEntry, AuditLog
from .metrics import ANSWERS, LATENCY, REQUESTS

log = logging.getLogger(__name__)

UPLOAD_PATH = "/documents"
NOT_AUDITED = {"/", "/health", "/metrics", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}
CAPTURE_BYTES = 256 * 1024  # enough for any question and any answer's citations
INDEX_VERSION_HEADER = b"x-index-version"


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
        request_body = bytearray()
        response_body = bytearray()
        response: dict[str, Any] = {"status": 500, "started": False, "capture": False}
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                chunk = message.get("body", b"")
                received += len(chunk)
                if received > limit:
                    raise BodyTooLarge(limit)
                if len(request_body) < CAPTURE_BYTES:
                    request_body.extend(chunk[: CAPTURE_BYTES - len(request_body)])
            return message

        async def observing_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                response.update(status=message["status"], started=True)
                headers = list(message.get("headers", []))
                ctype = dict(headers).get(b"content-type", b"")
                response["capture"] = ctype.startswith((b"application/json", b"text/event-stream"))
                version = scope.get("state", {}).get("index_version")
                if version is not None:
                    headers.append((INDEX_VERSION_HEADER, str(version).encode()))
                message = {**message, "headers": headers}
            elif message["type"] == "http.response.body" and response["capture"]:
                if len(response_body) < CAPTURE_BYTES:
                    response_body.extend(message.get("body", b"")[: CAPTURE_BYTES - len(response_body)])
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
            self._observe(scope, response["status"], time.perf_counter() - started, bytes(request_body),
                          bytes(response_body))

    def _observe(self, scope: Scope, status: int, seconds: float, request_body: bytes, response_body: bytes) -> None:
        route = scope.get("route")
        template = getattr(route, "path", None) or "unmatched"
        method = scope["method"]
        REQUESTS.labels(method, template, str(status)).inc()
        LATENCY.labels(method, template).observe(seconds)
        payloads = list(_json_payloads(response_body)) if response_body else []
        found = [p["found"] for p in payloads if isinstance(p.get("found"), bool)]
        if found and status == 200:
            ANSWERS.labels(template, "found" if found[-1] else "not_found").inc()
        if template in NOT_AUDITED or template == "unmatched" or template.startswith("/static"):
            return
        state = scope.get("state", {})
        principal = state.get("principal")
        entry = AuditEntry(
            key_id=principal.key_id if principal else "anonymous",
            role=principal.role if principal else None,
            method=method,
            route=template,
            status=status,
            question=_question(request_body),
            cited=sorted({d for p in payloads for d in _cited(p)}),
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


def _json_payloads(body: bytes) -> Iterator[dict[str, Any]]:
    """The JSON object of a response, or each `data:` object of a server-sent event stream."""
    text = body.decode("utf-8", "replace")
    candidates = [line[5:].strip() for line in text.splitlines() if line.startswith("data:")] or [text]
    for candidate in candidates:
        try:
            value = json.loads(candidate)
        except (ValueError, RecursionError):  # RecursionError: nesting deeper than the parser's stack
            continue
        if isinstance(value, dict):
            yield value


def _cited(value: Any) -> Iterator[str]:
    """Every doc_id inside any `citations` list, however deep."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "citations" and isinstance(item, list):
                yield from (c["doc_id"] for c in item if isinstance(c, dict) and isinstance(c.get("doc_id"), str))
            else:
                yield from _cited(item)
    elif isinstance(value, list):
        for item in value:
            yield from _cited(item)


def _question(body: bytes) -> str | None:
    """What was asked: `question`, `message`, or the last user message of an OpenAI chat request."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, dict):
        return None
    for key in ("question", "message"):
        if isinstance(data.get(key), str):
            return data[key][:2000]
    messages = data.get("messages")
    if isinstance(messages, list):
        users = [m.get("content") for m in messages if isinstance(m, dict) and m.get("role") == "user"]
        if users and isinstance(users[-1], str):
            return users[-1][:2000]
    return None
