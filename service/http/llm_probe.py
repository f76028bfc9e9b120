"""Whether the configured LLM endpoint answers: one cheap GET /models, short timeout, cached.

/health reports it; a probe never takes longer than its timeout and runs at most once
per `ttl_s`, so a health check cannot pile load on the model server.
"""

from __future__ import annotations

import threading
import time

import httpx


class LLMProbe:
    """Cached reachability of an OpenAI-compatible endpoint."""

    def __init__(self, base_url: str, api_key: str | None, timeout_s: float = 2.0, ttl_s: float = 30.0) -> None:
        self.url = base_url.rstrip("/") + "/models"
        self.headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.timeout_s, self.ttl_s = timeout_s, ttl_s
        self._lock = threading.Lock()
        self._checked_at = float("-inf")
        self._reachable = False

    def reachable(self) -> bool:
        with self._lock:
            if time.monotonic() - self._checked_at < self.ttl_s:
                return self._reachable
            try:
                response = httpx.get(self.url, headers=self.headers, timeout=self.timeout_s)
                self._reachable = response.status_code < 500
            except httpx.HTTPError:
                self._reachable = False
            self._checked_at = time.monotonic()
            return self._reachable
