"""GET /me: who the caller is, so a client (the web page) shows admin actions only to admins."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from ..deps import Principal, get_principal

router = APIRouter(tags=["auth"])


@router.get("/me")
def me(principal: Principal = Depends(get_principal)) -> dict[str, Any]:
    """The caller's key id (never the key) and role; the local admin in open mode."""
    return {"key_id": principal.key_id, "role": principal.role}
