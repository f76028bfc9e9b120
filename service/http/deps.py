"""FastAPI dependencies shared by every router: the settings, the engine and the request's index view.

`create_app` puts the settings and the Engine on `app.state`; routers read them through these
functions, so each router module stays independent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from fastapi import Request

from core.config import Settings

from ..engine import Engine
from ..index_holder import IndexView


@dataclass(frozen=True)
class Principal:
    """Who is calling: an API key's id (never the key) and its role."""

    key_id: str
    role: Literal["reader", "admin"]


LOCAL = Principal("local", "admin")  # open mode, no auth configured


def get_principal(request: Request) -> Principal:
    """The caller set by the auth layer on request.state, or the local user in open mode."""
    return getattr(request.state, "principal", LOCAL)


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_engine(request: Request) -> Engine:
    return request.app.state.engine


def get_view(request: Request) -> IndexView:
    """The index version current when the request started; the request uses it to its end.

    Its version goes back to the client as the X-Index-Version header (service/http/middleware.py).
    """
    view = get_engine(request).view()
    request.state.index_version = view.snapshot.version
    return view
