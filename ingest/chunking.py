"""Split a report into citable chunks that follow its own sections.

Each section's own body (the text between its heading and its first child) is cut
at sentence boundaries into windows of about `max_chars` with one sentence of
overlap, so no chunk crosses a heading. Runs of table rows (" | " lines) become
table chunks of a few rows that repeat the caption and header row as context.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from core.models import Chunk, Report, Section
from core.normalize import NormalizedText, normalize, split_sentences

from .sections import iter_sections, parse_sections

_SOFT_BREAKS = set(",")
MAX_CAPTION_CHARS = 60


@dataclass(frozen=True)
class _Segment:
    start: int
    end: int
    path: list[str]


def _split_long(norm: NormalizedText, span: tuple[int, int], max_chars: int) -> list[tuple[int, int]]:
    """Cut a sentence longer than max_chars at commas so windows stay near their size."""
    start, end = span
    if end - start <= max_chars:
        return [span]
    pieces: list[tuple[int, int]] = []
    piece_start = start
    n_start, n_end = norm.from_original(start), norm.from_original(end)
    for i in range(n_start, n_end):
        orig = norm.offsets[i]
        if norm.text[i] in _SOFT_BREAKS and orig + 1 - piece_start >= max_chars // 2:
            pieces.append((piece_start, orig + 1))
            piece_start = orig + 1
    if piece_start < end:
        pieces.append((piece_start, end))
    return pieces


def _windows(spans: list[tuple[int, int]], max_chars: int) -> Iterator[list[tuple[int, int]]]:
    """Consecutive sentences of about max_chars, each window repeating the last sentence before it."""
    i = 0
    while i < len(spans):
        j = i + 1
        while j < len(spans) and spans[j][1] - spans[i][0] <= max_chars:
            j += 1
        yield spans[i:j]
        if j >= len(spans):
            return
        i = j - 1 if j - 1 > i else j


def _segments(text: str, roots: list[Section]) -> list[_Segment]:
    """Each section's own body, plus the preamble before the first heading."""
    segments: list[_Segment] = []
    first = roots[0].char_start if roots else len(text)
    segments.append(_Segment(0, first, []))
    for path, section in iter_sections(roots):
        end = section.children[0].char_start if section.children else section.char_end
        segments.append(_Segment(section.body_start, end, path))
    return [s for s in segments if text[s.start : s.end].strip()]


def _is_table_row(line: str) -> bool:
    return line.count("|") >= 2 or " | " in line


def _line_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    pos = start
    for line in text[start:end].split("\n"):
        spans.append((pos, pos + len(line)))
        pos += len(line) + 1
    return spans


@dataclass(frozen=True)
class _Block:
    start: int
    end: int
    table_rows: list[tuple[int, int]] | None = None
    caption: str = ""


def _blocks(text: str, seg: _Segment) -> list[_Block]:
    """The segment as alternating prose blocks and tables (runs of 2+ pipe rows)."""
    lines = _line_spans(text, seg.start, seg.end)
    blocks: list[_Block] = []
    prose_start = seg.start
    i = 0
    while i < len(lines):
        j = i
        while j < len(lines) and _is_table_row(text[lines[j][0] : lines[j][1]]):
            j += 1
        if j - i >= 2:
            caption = _caption_before(text, lines, i)
            if lines[i][0] > prose_start:
                blocks.append(_Block(prose_start, lines[i][0]))
            rows = [(s, e) for s, e in lines[i:j] if text[s:e].strip()]
            blocks.append(_Block(lines[i][0], lines[j - 1][1], rows, caption))
            prose_start = lines[j - 1][1]
            i = j
        else:
            i = max(j, i + 1)
    if prose_start < seg.end:
        blocks.append(_Block(prose_start, seg.end))
    return [b for b in blocks if text[b.start : b.end].strip()]


def _caption_before(text: str, lines: list[tuple[int, int]], i: int) -> str:
    for s, e in reversed(lines[:i]):
        line = text[s:e].strip()
        if line:
            return line if len(line) <= MAX_CAPTION_CHARS else ""
    return ""


def _context(title: str | None, path: list[str], extra: str = "") -> str:
    parts = [p for p in (title or "", " > ".join(path), extra) if p]
    return "\n".join(parts)


def chunk_report(
    report: Report,
    max_chars: int = 300,
    table_rows: int = 6,
    sections: list[Section] | None = None,
) -> list[Chunk]:
    """Cut a report into chunks whose spans index its original text."""
    text = report.text
    norm = normalize(text)
    roots = sections if sections is not None else parse_sections(text, norm)
    chunks: list[Chunk] = []

    def add(start: int, end: int, path: list[str], sents: list[tuple[int, int]], context: str, kind: str) -> None:
        body = text[start:end]
        embed = "\n".join(p for p in (context, norm.text[norm.from_original(start) : norm.from_original(end)]) if p)
        chunks.append(
            Chunk(
                chunk_id=f"{report.doc_id[:12]}-{start}-{end}",
                doc_id=report.doc_id,
                ordinal=len(chunks),
                section_path=path,
                text=body,
                char_start=start,
                char_end=end,
                sentences=sents,
                embed_text=embed,
                kind=kind,
            )
        )

    title = report.metadata.title
    for seg in _segments(text, roots):
        for block in _blocks(text, seg):
            if block.table_rows:
                header = text[block.table_rows[0][0] : block.table_rows[0][1]].strip()
                rows = block.table_rows
                for k in range(0, len(rows), table_rows):
                    group = rows[k : k + table_rows]
                    extra = "\n".join(p for p in (block.caption, header if k else "") if p)
                    add(group[0][0], group[-1][1], seg.path, group, _context(title, seg.path, extra), "table")
                continue
            spans: list[tuple[int, int]] = []
            for sent in split_sentences(norm, block.start, block.end):
                spans.extend(_split_long(norm, sent, max_chars))
            for window in _windows(spans, max_chars):
                add(window[0][0], window[-1][1], seg.path, window, _context(title, seg.path), "text")
    return chunks
