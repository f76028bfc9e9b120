"""The web page for officials: `/` and its static files (service/static), no build step."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"

router = APIRouter(tags=["web"])
router.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")


@router.get("/", include_in_schema=False)
def index() -> FileResponse:
    """The single page: ask, read the cited passage, reports, briefings."""
    return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-cache"})
