"""The live index for a running server: reloaded when a writer switches versions.

Each request takes one `IndexView` (snapshot + retriever + answerer) and uses it to the
end, so a request that started on a version finishes on it even if the index moves on.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

from core.embedding import Embedder
from core.index import CURRENT, IndexSnapshot, open_index

from .extractive import ExtractiveAnswerer
from .figure_ranking import FigureRanker
from .retrieval import Retriever

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IndexView:
    """Everything a request needs from one index version."""

    snapshot: IndexSnapshot
    retriever: Retriever
    extractive: ExtractiveAnswerer


class IndexHolder:
    """Hands out the IndexView of the index's current version, loading a new one when it changes."""

    def __init__(self, index_dir: Path, embedder: Embedder, ranker: FigureRanker) -> None:
        self.index_dir = index_dir
        self.embedder = embedder
        self.ranker = ranker
        self._lock = threading.Lock()  # one loader at a time
        self._loaded: tuple[str, IndexView] | None = None  # (version folder, view), swapped as one

    def _read_pointer(self) -> str | None:
        try:
            return (self.index_dir / CURRENT).read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None

    def get(self) -> IndexView:
        """The view of the current version (raises IndexNotFoundError when there is no index).

        While one request loads a new version, the others keep being served by the previous
        one instead of queueing behind the load (seconds on a large index).
        """
        pointer = self._read_pointer()
        loaded = self._loaded
        if loaded is not None and loaded[0] == pointer:
            return loaded[1]
        if not self._lock.acquire(blocking=loaded is None):
            assert loaded is not None  # a non-blocking try only happens when a version is loaded
            return loaded[1]  # another request is loading the new version
        try:
            loaded = self._loaded
            if loaded is None or loaded[0] != pointer:
                snapshot = open_index(self.index_dir)
                retriever = Retriever(snapshot, self.embedder)
                view = IndexView(snapshot, retriever, ExtractiveAnswerer(retriever, self.ranker))
                loaded = self._loaded = (snapshot.folder.name, view)
                log.info("serving index version %s", snapshot.version)
            return loaded[1]
        finally:
            self._lock.release()
