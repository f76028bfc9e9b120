"""Prometheus metrics of the service, served at /metrics.

Metrics live in the process-wide default registry (one service per process); tests read
differences, not absolute values.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

REQUESTS = Counter("reportqa_requests_total", "HTTP requests by route template and status.",
                   ["method", "route", "status"])
LATENCY = Histogram("reportqa_request_seconds", "Time to answer an HTTP request, by route template.",
                    ["method", "route"], buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60))
ANSWERS = Counter("reportqa_answers_total", "Answers given, found or not found.", ["route", "found"])
GUARD_REJECTIONS = Counter("reportqa_guard_rejections_total",
                           "Texts the number guard refused: they stated numbers no cited passage holds.")
REFUSED_UPLOADS = Counter("reportqa_refused_files_total", "Uploaded files that were not added, by outcome.",
                          ["status"])
