"""Who may call what: API keys with roles and a per-key rate limit.

`create_app` includes every API router with `Depends(require_reader)`, so a router added
later is protected without doing anything; admin routes add `Depends(require_admin)`.
Both set `request.state.principal`, which `deps.get_principal` reads for the audit log
and conversation owners. /health, the OpenAPI docs and the web page (/ and /static) stay
open: they say nothing about the reports. /metrics needs a key like any API route.

Modes (`REPORTQA_AUTH`): `on` requires a key, `off` is open local mode (every caller is
the local admin, no rate limit), `auto` (default) is on as soon as any key exists, so
`make run` on 127.0.0.1 works without set-up and `reportqa keys create` locks it down.

Auth fails closed. In `auto`, once a running server has seen a key (active or revoked) it
stays locked: revoking the last key, or emptying or deleting the keys file, leaves every
caller with 401, never an admin. Open mode answers only peers on this machine (a request
from any other address gets 403, however the server was started), and `reportqa serve`
refuses a non-loopback address while auth is off.
"""

from __future__ import annotations

import ipaddress
import math
import time

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from core.config import Settings

from .deps import LOCAL, Principal
from .keys import KeyStore

_UNAUTHORIZED = {"WWW-Authenticate": "Bearer"}
# Declares the scheme in OpenAPI (the "Authorize" button of /docs); the header is checked by Gate.
_BEARER = HTTPBearer(auto_error=False, description="An API key from `reportqa keys create`.")


def is_loopback(host: str) -> bool:
    """Whether binding `host` keeps the service on this machine."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _is_network_address(host: str) -> bool:
    """Whether a peer is an IP address (a socket peer); an in-process test client has a name instead."""
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def parse_rate(rate: str) -> RateLimitItem | None:
    """'120/minute' -> a limits item; 'off' or '' -> None; raises ValueError naming the setting."""
    if rate.strip().lower() in ("", "off", "none", "0"):
        return None
    try:
        return parse(rate)
    except ValueError as exc:
        raise ValueError(f"REPORTQA_RATE_LIMIT '{rate}' is not a rate such as '120/minute'") from exc


class Gate:
    """The app's keys and rate limiter; lives on app.state.gate."""

    def __init__(self, settings: Settings) -> None:
        self.mode = settings.auth
        self.keys = KeyStore(settings.api_keys, settings.keys_path)
        self.rate = parse_rate(settings.rate_limit)
        self.limiter = MovingWindowRateLimiter(MemoryStorage())

    def required(self) -> bool:
        if self.mode == "on":
            return True
        return self.mode == "auto" and self.keys.ever_had_keys()

    def describe(self) -> str:
        if self.required() and not self.keys.has_keys():
            return ("auth on but no active API key exists (none yet, or all revoked or removed): every API "
                    "request gets 401; create one with `reportqa keys create`")
        if self.required():
            return f"auth on ({self.mode}): API keys required, rate limit {self.rate or 'off'} per key"
        return f"AUTH IS OFF ({self.describe_open()}): every caller on this machine is an admin; bind to 127.0.0.1 only"

    def describe_open(self) -> str:
        return "REPORTQA_AUTH=off" if self.mode == "off" else "REPORTQA_AUTH=auto and no API key exists"

    def authenticate(self, request: Request) -> Principal:
        """The caller of a request, or 401 (403 for a remote peer while auth is off)."""
        if not self.required():
            peer = request.client.host if request.client else None
            if peer is not None and _is_network_address(peer) and not is_loopback(peer):
                raise HTTPException(403, f"auth is off ({self.describe_open()}), so this server answers only "
                                         "requests from its own machine; create a key with `reportqa keys create`")
            return LOCAL
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise HTTPException(401, "missing API key: send 'Authorization: Bearer <key>'", _UNAUTHORIZED)
        record = self.keys.lookup(token.strip())
        if record is None:
            raise HTTPException(401, "invalid or revoked API key", _UNAUTHORIZED)
        return Principal(record.key_id, record.role)

    def throttle(self, principal: Principal) -> None:
        """429 with Retry-After once a key is past its rate (open mode is not limited)."""
        if principal is LOCAL:
            return
        if self.rate is None or self.limiter.hit(self.rate, principal.key_id):
            return
        reset = self.limiter.get_window_stats(self.rate, principal.key_id).reset_time
        retry = max(1, math.ceil(reset - time.time()))
        raise HTTPException(429, f"rate limit of {self.rate} per key exceeded; retry in {retry} s",
                            {"Retry-After": str(retry)})


def _principal(request: Request) -> Principal:
    cached = getattr(request.state, "principal", None)
    if cached is None:
        gate: Gate = request.app.state.gate
        cached = request.state.principal = gate.authenticate(request)
        gate.throttle(cached)
    return cached


def require_reader(request: Request, _: HTTPAuthorizationCredentials | None = Depends(_BEARER)) -> Principal:
    """Any valid key (reader or admin)."""
    return _principal(request)


def require_admin(request: Request, _: HTTPAuthorizationCredentials | None = Depends(_BEARER)) -> Principal:
    """An admin key: changing the reports, other people's conversations."""
    principal = _principal(request)
    if principal.role != "admin":
        raise HTTPException(403, f"this needs an admin key; key {principal.key_id} is a {principal.role}")
    return principal
