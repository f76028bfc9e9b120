"""The live index for a running server: reloaded when a writer switches versions.

Each request takes one `Engine` (snapshot + retriever + answerer) and uses it to the
end, so a request that started on a version finishes on it even if the index moves on.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

from ingest.embedding import Embedder
from ingest.store import CURRENT, IndexSnapshot, open_index

from .answer import ExtractiveAnswerer
from .retrieval import Retriever

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Engine:
    """Everything a request needs from one index version."""

    snapshot: IndexSnapshot
    retriever: Retriever
    extractive: ExtractiveAnswerer


class IndexHolder:
    """Hands out the Engine of the index's current version, loading a new one when it changes."""

    def __init__(self, index_dir: Path, embedder: Embedder) -> None:
        self.index_dir = index_dir
        self.embedder = embedder
        self._lock = threading.Lock()
        self._engine: Engine | None = None
        self._pointer: str | None = None

    def _read_pointer(self) -> str | None:
        try:
            return (self.index_dir / CURRENT).read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None

    def get(self) -> Engine:
        """The engine for the current version (raises IndexNotFoundError when there is no index)."""
        pointer = self._read_pointer()
        with self._lock:
            if self._engine is None or pointer != self._pointer:
                snapshot = open_index(self.index_dir)
                retriever = Retriever(snapshot, self.embedder)
                self._engine = Engine(snapshot, retriever, ExtractiveAnswerer(retriever))
                self._pointer = pointer
                log.info("serving index version %s", snapshot.version)
            return self._engine
