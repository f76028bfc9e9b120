"""Numbering of the passages a summary cites: each distinct span gets one number, in order of use."""

from __future__ import annotations

from ..schemas import Citation


class CitationBook:
    def __init__(self) -> None:
        self.citations: list[Citation] = []
        self._numbers: dict[tuple[str, int, int], int] = {}

    def number(self, citation: Citation) -> int:
        """The 1-based number of `citation`, added if new."""
        key = (citation.doc_id, citation.char_start, citation.char_end)
        if key not in self._numbers:
            self.citations.append(citation)
            self._numbers[key] = len(self.citations)
        return self._numbers[key]

    def peek(self, citation: Citation) -> int:
        """The number `citation` would get, without adding it."""
        return self._numbers.get((citation.doc_id, citation.char_start, citation.char_end), len(self.citations) + 1)

