"""The web page for officials: `/` and its static files (service/http/static), no build step."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"

router = APIRouter(tags=["web"])
router.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")


# Everything the page loads comes from this server; report text is shown as text, and the
# policy makes sure nothing else could run or be fetched even if that ever slipped. Page images
# are fetched with the API key and shown from blob: URLs (an <img src> cannot send the key).
PAGE_HEADERS = {
    "Cache-Control": "no-cache",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data: blob:; object-src 'none'; base-uri 'none'; "
                               "form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


@router.get("/", include_in_schema=False)
def index() -> FileResponse:
    """The single page: ask, read the cited passage, reports, briefings."""
    return FileResponse(STATIC_DIR / "index.html", headers=PAGE_HEADERS)
