"""Width and punctuation normalisation for matching, with a map back to the original text.

Matching (headings, metadata, lexical search, figures) works on NFKC-normalised text,
where full-width digits, brackets, colons and spaces become their half-width forms.
Citations must point at the original, so every normalised character remembers the
original offset it came from.
"""

from __future__ import annotations

import unicodedata
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

# Characters NFKC leaves alone but reports use interchangeably with ASCII ones.
_EXTRA = {
    "\u3000": " ",  # ideographic space (NFKC maps it too; kept for clarity)
    "\u00a0": " ",
    "\u2018": "'",
    "\u2019": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u3001": "、",
    "\u2014": "-",
    "\u2013": "-",
    "\u2212": "-",
    "\ufe52": ".",
    "\ufe54": ";",
}


@dataclass(frozen=True)
class NormalizedText:
    """Normalised text and, for each of its characters, the original offset it came from."""

    text: str
    offsets: Sequence[int]  # len(text) + 1 entries; the last is len(original)

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """Map a half-open span of the normalised text back to the original text."""
        if start >= end:
            pos = self.offsets[start]
            return pos, pos
        # Per-character normalisation never merges characters, so each normalised
        # character comes from exactly one original character.
        return self.offsets[start], self.offsets[end - 1] + 1

    def from_original(self, orig: int) -> int:
        """The first normalised index whose original offset is at or after `orig`."""
        return bisect_left(self.offsets, orig)


@lru_cache(maxsize=65536)
def normalize_char(ch: str) -> str:
    """One character's matching form (cached: a report uses a few thousand distinct characters)."""
    mapped = _EXTRA.get(ch)
    if mapped is not None:
        return mapped
    return unicodedata.normalize("NFKC", ch)


class _CharTable(dict):
    """str.translate's table, filled on first sight of each character (C-speed after that)."""

    def __missing__(self, code: int) -> str:
        self[code] = mapped = normalize_char(chr(code))
        return mapped


_TABLE = _CharTable()


def normalize(text: str) -> NormalizedText:
    """Normalise `text` character by character, keeping the offset map.

    Most characters keep their length (full-width digits, punctuation, CJK), so the map is
    the identity range; only text where a character expands (① -> 1, ㎡ -> m2) needs a list.
    """
    out = text.translate(_TABLE)
    if len(out) == len(text):
        return NormalizedText(out, range(len(text) + 1))
    offsets: list[int] = []
    for i, ch in enumerate(text):
        offsets.extend([i] * len(_TABLE[ord(ch)]))
    offsets.append(len(text))
    return NormalizedText(out, offsets)


@lru_cache(maxsize=16384)
def normalize_str(text: str) -> str:
    """Normalised form of a string when no map back is needed (questions, tokens, passages;
    cached because answering normalises the same retrieved passages question after question)."""
    return text.translate(_TABLE)


_TERMINATORS = set("。!?;")
_CLOSERS = set("\"')]}」』》")


def split_sentences(norm: NormalizedText, start: int, end: int) -> list[tuple[int, int]]:
    """Sentence spans (original offsets) of the original range [start, end).

    A sentence ends at 。!?; (either width, with trailing quotes) or at a line break.
    """
    n_start = norm.from_original(start)
    n_end = norm.from_original(end)
    spans: list[tuple[int, int]] = []
    text = norm.text
    s = n_start
    i = n_start
    while i < n_end:
        ch = text[i]
        if ch in _TERMINATORS or ch == "\n":
            j = i + 1
            while ch != "\n" and j < n_end and text[j] in _CLOSERS:
                j += 1
            _append_trimmed(norm, spans, s, j)
            s = i = j
            continue
        i += 1
    _append_trimmed(norm, spans, s, n_end)
    return spans


def _append_trimmed(norm: NormalizedText, spans: list[tuple[int, int]], s: int, e: int) -> None:
    text = norm.text
    while s < e and text[s].isspace():
        s += 1
    while e > s and text[e - 1].isspace():
        e -= 1
    if e > s:
        spans.append(norm.to_original(s, e))
