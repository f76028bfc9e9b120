"""FastAPI dependencies shared by every router: the settings and the live index engine.

`create_app` puts the settings, the IndexHolder and the LLM factory on `app.state`;
routers read them through these functions, so each router module stays independent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from fastapi import Request

from core.config import Settings
from core.index import IndexNotFoundError, IndexStoreError, ModelMismatchError

from .errors import RequestError
from .index_holder import Engine, IndexHolder


@dataclass(frozen=True)
class Principal:
    """Who is calling: an API key's id (never the key) and its role."""

    key_id: str
    role: Literal["reader", "admin"]


LOCAL = Principal("local", "admin")  # open mode, no auth configured


def get_principal(request: Request) -> Principal:
    """The caller set by the auth layer on request.state, or the local user in open mode."""
    return getattr(request.state, "principal", LOCAL)


def load_engine(holder: IndexHolder) -> Engine:
    """The current engine, or a RequestError saying why there is none."""
    try:
        return holder.get()
    except (IndexNotFoundError, ModelMismatchError) as exc:
        raise RequestError(409, str(exc)) from exc
    except IndexStoreError as exc:
        raise RequestError(503, str(exc)) from exc


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_holder(request: Request) -> IndexHolder:
    return request.app.state.holder


def get_engine(request: Request) -> Engine:
    """The engine of the index version current when the request started; used to its end.

    Its version goes back to the client as the X-Index-Version header (service/middleware.py).
    """
    engine = load_engine(request.app.state.holder)
    request.state.index_version = engine.snapshot.version
    return engine


def get_llm_factory(request: Request) -> Callable[[Engine], Any]:
    return request.app.state.llm_factory
