"""Find a report's own section headings (一、 (一) 1. (1) 第X章 第X条, and unnumbered heading lines) and
build its tree.

Detection runs on the normalised text (full-width brackets, dots and spaces folded),
spans are reported in the original text.
"""

from __future__ import annotations

import re
from collections import Counter

from core.models import Section
from core.normalize import NormalizedText, normalize

_CN = "一二三四五六七八九十百零〇两"
# Rank orders heading kinds from outermost to innermost; a heading closes every open
# section of the same or an inner rank.
_HEADING_PATTERNS: list[tuple[int, re.Pattern[str]]] = [
    (0, re.compile(rf"第\s*[{_CN}\d]+\s*[章编]")),
    (1, re.compile(rf"[{_CN}]+\s*、")),
    (2, re.compile(rf"\(\s*[{_CN}]+\s*\)")),
    (3, re.compile(r"\d{1,2}\s*[.、](?!\d)")),
    (4, re.compile(r"\(\s*\d{1,2}\s*\)")),
    (5, re.compile(rf"第\s*[{_CN}\d]+\s*条")),
]
MAX_HEADING_CHARS = 50
_SENTENCE_END = "。"
# An unnumbered heading is a line of its own between paragraphs (2024年工作回顾, then the year's review; 名词解释):
# short, no clause marks, at least two Chinese characters besides a date's, said once (a page's running
# header repeats), after the body has begun (a line with a full stop: the title, date and author lines
# above it are no headings) and followed by a paragraph or a numbered heading (a signature line is
# followed by its date). Reports that number their parts under such lines do so inside them: it is the
# outermost rank.
STANDALONE_RANK = -1
MAX_STANDALONE_CHARS = 30
_CLAUSE_MARKS = re.compile(r"[。,，、;；:：!！?？|]")
_DATE_CHARS = re.compile(r"[\d\s年月日号.\-]")
_CJK = re.compile(r"[\u4e00-\u9fff]")


class _Heading:
    __slots__ = ("rank", "start", "end", "body_start", "line_start")

    def __init__(self, rank: int, start: int, end: int, body_start: int, line_start: int) -> None:
        self.rank, self.start, self.end = rank, start, end
        self.body_start, self.line_start = body_start, line_start


def _match_heading(line: str) -> tuple[int, int] | None:
    """(rank, length of the heading part) when a normalised line starts with a heading."""
    stripped = line.lstrip()
    lead = len(line) - len(stripped)
    for rank, pattern in _HEADING_PATTERNS:
        m = pattern.match(stripped)
        if not m or m.end() == len(stripped.rstrip()):
            continue
        cut = stripped.find(_SENTENCE_END)
        head_len = cut if cut >= 0 else len(stripped.rstrip())
        if head_len > MAX_HEADING_CHARS:
            return None
        return rank, lead + head_len
    return None


def starts_with_heading(normalized_line: str) -> bool:
    """Whether a (normalised) line opens a section."""
    return _match_heading(normalized_line) is not None


def _standalone(line: str, begun: bool, following: str, said: Counter[str]) -> tuple[int, int] | None:
    """(STANDALONE_RANK, length of the heading) when a normalised line that opens no numbered heading is an
    unnumbered one; `said` counts the document's lines."""
    stripped = line.strip()
    if (not begun or not 2 <= len(stripped) <= MAX_STANDALONE_CHARS or _CLAUSE_MARKS.search(stripped)
            or len(_CJK.findall(_DATE_CHARS.sub("", stripped))) < 2 or said[stripped] > 1):
        return None
    if _SENTENCE_END not in following and _match_heading(following) is None:
        return None
    return STANDALONE_RANK, len(line.rstrip())


def _find_headings(norm: NormalizedText) -> list[_Heading]:
    headings: list[_Heading] = []
    pos = 0
    lines = norm.text.split("\n")
    following, after = [""] * len(lines), ""  # the next line that is not blank
    for i in range(len(lines) - 1, -1, -1):
        following[i] = after
        after = lines[i] if lines[i].strip() else after
    said = Counter(line.strip() for line in lines)
    begun = False
    for line, next_line in zip(lines, following, strict=True):
        found = _match_heading(line) or _standalone(line, begun, next_line, said)
        begun = begun or _SENTENCE_END in line
        if found:
            rank, head_len = found
            lead = len(line) - len(line.lstrip())
            h_start, h_end = norm.to_original(pos + lead, pos + head_len)
            body_norm = pos + head_len
            if body_norm < pos + len(line) and line[head_len] == _SENTENCE_END:
                body_norm += 1  # the heading's own full stop stays with the heading
            body_start = norm.offsets[body_norm]
            headings.append(_Heading(rank, h_start, h_end, body_start, norm.offsets[pos]))
        pos += len(line) + 1
    return headings


def parse_sections(text: str, norm: NormalizedText | None = None) -> list[Section]:
    """Top-level sections of `text`, each with its children, in document order."""
    norm = norm or normalize(text)
    roots: list[Section] = []
    stack: list[Section] = []
    for h in _find_headings(norm):
        while stack and stack[-1].rank >= h.rank:
            stack.pop().char_end = h.line_start
        section = Section(
            heading=text[h.start : h.end].strip(),
            level=len(stack) + 1,
            rank=h.rank,
            char_start=h.start,
            char_end=len(text),
            body_start=h.body_start,
        )
        (stack[-1].children if stack else roots).append(section)
        stack.append(section)
    return roots


def iter_sections(roots: list[Section]) -> list[tuple[list[str], Section]]:
    """Every section with its heading path from the top, depth first."""
    out: list[tuple[list[str], Section]] = []

    def walk(sections: list[Section], path: list[str]) -> None:
        for s in sections:
            here = [*path, s.heading]
            out.append((here, s))
            walk(s.children, here)

    walk(roots, [])
    return out
