"""One report seen as sentences under its sections: what every summary style picks from.

Spans index the original text, so every picked sentence or figure is cited exactly.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from core.figures import Figure, extract_figures
from core.index import DocumentRecord
from core.normalize import NormalizedText, normalize, split_sentences

from ..schemas import Citation

WHOLE_TEXT = "全文"


@dataclass(frozen=True)
class Sentence:
    start: int
    end: int
    text: str
    section_path: tuple[str, ...]
    is_heading: bool  # the heading line of a section


@dataclass(frozen=True)
class TopSection:
    heading: str
    start: int
    end: int
    node: dict[str, Any]  # the stored section dict (heading, level, char_start, char_end, children)


class DocumentView:
    """A stored report (with its text and section tree) read as sentences and figures."""

    def __init__(self, record: DocumentRecord) -> None:
        if record.text is None:
            raise ValueError(f"document {record.doc_id} was loaded without its text")
        self.record = record
        self.text = record.text
        self.norm: NormalizedText = normalize(self.text)
        self.tree: list[dict[str, Any]] = record.sections or []

    @property
    def doc_id(self) -> str:
        return self.record.doc_id

    @property
    def title(self) -> str:
        return self.record.metadata.title or self.record.file_name

    def path_at(self, pos: int) -> tuple[str, ...]:
        """Headings of the sections that hold `pos`, outermost first."""
        path: list[str] = []
        nodes = self.tree
        while True:
            inside = next((n for n in nodes if n["char_start"] <= pos < n["char_end"]), None)
            if inside is None:
                return tuple(path)
            path.append(inside["heading"])
            nodes = inside["children"]

    @cached_property
    def _heading_starts(self) -> set[int]:
        starts: set[int] = set()
        stack = list(self.tree)
        while stack:
            node = stack.pop()
            starts.add(node["char_start"])
            stack.extend(node["children"])
        return starts

    @cached_property
    def sentences(self) -> list[Sentence]:
        """Every sentence of the report, in order, with the section path it stands under."""
        return [Sentence(s, e, self.text[s:e], self.path_at(s), s in self._heading_starts)
                for s, e in split_sentences(self.norm, 0, len(self.text))]

    @cached_property
    def _starts(self) -> list[int]:
        return [s.start for s in self.sentences]

    def sentence_at(self, pos: int) -> Sentence:
        """The sentence that holds `pos`."""
        i = max(0, bisect.bisect_right(self._starts, pos) - 1)
        return self.sentences[i]

    def sentences_in(self, start: int, end: int) -> list[Sentence]:
        return [s for s in self.sentences if start <= s.start < end]

    @cached_property
    def top_sections(self) -> list[TopSection]:
        """The top-level sections; a report without headings is one section, 全文."""
        if not self.tree:
            return [TopSection(WHOLE_TEXT, 0, len(self.text), {"heading": WHOLE_TEXT, "children": []})]
        return [TopSection(n["heading"], n["char_start"], n["char_end"], n) for n in self.tree]

    @cached_property
    def figures(self) -> list[Figure]:
        return extract_figures(self.text, self.norm)

    def citation(self, start: int, end: int) -> Citation:
        """A citation of the original span [start, end)."""
        return Citation.of(self.record, list(self.path_at(start)), start, end, self.text[start:end])

    def cite_sentence(self, sentence: Sentence) -> Citation:
        return self.citation(sentence.start, sentence.end)
