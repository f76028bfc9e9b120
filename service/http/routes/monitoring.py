"""GET /metrics: Prometheus text format (request counts and latencies, answers, guard rejections)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

router = APIRouter(tags=["health"])


@router.get("/metrics", response_class=Response)
def metrics() -> Response:
    """The service's metrics for a Prometheus scraper (send the API key like any client)."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
