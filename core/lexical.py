"""Lexical side of the index: jieba tokens and BM25 over them, one postings file set per segment.

Numbers and % stay tokens (figures are what users ask for); punctuation, spaces and a
few question words carry no evidence and are dropped.

BM25 is scored here rather than by bm25s: bm25s stores each posting's finished score, with
the collection's document frequencies and average length baked in, so a segment written
alone would score by its own few chunks' statistics. A segment stores raw term frequencies
instead, and a query scores them with collection-wide statistics (document frequency =
the sum of each segment's postings count of the token, less tombstoned chunks; average
length over live chunks): a chunk's score does not depend on how the index was cut. The
formula and constants are bm25s's defaults (Lucene's BM25, k1 1.5, b 0.75), which the
index used before segments.
"""

from __future__ import annotations

import json
import logging
import math
import re
from array import array
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import jieba
import numpy as np

from .normalize import normalize_str

jieba.setLogLevel(logging.WARNING)

_KEEP = re.compile(r"[\w%]", re.UNICODE)
STOPWORDS = frozenset(
    "的 了 是 在 和 与 及 等 多少 几 几个 几次 什么 哪些 哪 吗 呢 有 为 共 一共 请问 请 问 其 个 年 月 日".split()
)
K1, B = 1.5, 0.75
_ARRAYS = ("indptr", "rows", "tf", "lengths", "ids")


def load_tokenizer() -> None:
    """Load jieba's dictionary now (about a second, once per process) rather than inside the first tokenize."""
    jieba.initialize()


def tokenize(text: str) -> list[str]:
    """Search tokens of Chinese (or mixed) text, lower-cased and width-normalised."""
    tokens = []
    for tok in jieba.lcut_for_search(normalize_str(text).lower()):
        tok = tok.strip()
        if tok and _KEEP.search(tok) and tok not in STOPWORDS:
            tokens.append(tok)
    return tokens


class Vocabulary(dict):
    """Token -> id, a new token getting the next id on first lookup (map() runs it at C speed)."""

    def __missing__(self, token: str) -> int:
        self[token] = token_id = len(self)
        return token_id

    def ids(self, tokens: list[str]) -> list[int]:
        return list(map(self.__getitem__, tokens))


class LexicalSegment:
    """The postings of one segment's chunks, token by token: for token column t, `rows[indptr[t]:
    indptr[t + 1]]` are the chunk rows holding it and `tf` how often; `lengths` and `ids` per row."""

    def __init__(self, vocab: dict[str, int], arrays: dict[str, np.ndarray]) -> None:
        self.vocab = vocab
        self.indptr, self.rows, self.tf = arrays["indptr"], arrays["rows"], arrays["tf"]
        self.lengths, self.ids = arrays["lengths"], arrays["ids"]

    @classmethod
    def build(cls, rows: Iterable[tuple[int, list[str]]]) -> LexicalSegment:
        """Postings of (chunk id, tokens) rows. Each row is counted as it comes (distinct token ids and
        their frequencies into flat 4-byte buffers), so a large segment never holds its token strings,
        nor one entry per token occurrence, all at once."""
        vocab = Vocabulary()
        ids, lengths, distinct = array("q"), array("i"), array("i")
        cols, counts = array("i"), array("f")
        for chunk_id, tokens in rows:
            tf = Counter(vocab.ids(tokens))
            ids.append(chunk_id)
            lengths.append(len(tokens))
            distinct.append(len(tf))
            cols.extend(tf.keys())
            counts.extend(tf.values())
        token_of = np.frombuffer(cols, dtype=np.int32)
        by_token = np.argsort(token_of, kind="stable")  # rows stay ascending within a token
        rows_of = np.repeat(np.arange(len(ids), dtype=np.int32), np.frombuffer(distinct, dtype=np.int32))
        indptr = np.zeros(len(vocab) + 1, np.int64)
        np.cumsum(np.bincount(token_of, minlength=len(vocab)), out=indptr[1:])
        return cls(dict(vocab), {"indptr": indptr, "rows": rows_of[by_token],
                                 "tf": np.frombuffer(counts, dtype=np.float32)[by_token],
                                 "lengths": np.frombuffer(lengths, dtype=np.int32).copy(),
                                 "ids": np.frombuffer(ids, dtype=np.int64).copy()})

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        for name in _ARRAYS:
            np.save(folder / f"{name}.npy", getattr(self, name))
        (folder / "vocab.json").write_text(json.dumps(self.vocab, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> LexicalSegment:
        """Postings memory-mapped (a server touches only the query tokens' pages); lengths and ids read."""
        arrays = {name: np.load(folder / f"{name}.npy", mmap_mode="r") for name in _ARRAYS}
        arrays["lengths"], arrays["ids"] = np.asarray(arrays["lengths"]), np.asarray(arrays["ids"])
        return cls(json.loads((folder / "vocab.json").read_text(encoding="utf-8")), arrays)

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    def count(self, token: str) -> int:
        """How many of this segment's chunks hold `token` (from the postings offsets alone)."""
        column = self.vocab.get(token)
        return 0 if column is None else int(self.indptr[column + 1] - self.indptr[column])

    def postings(self, token: str) -> tuple[np.ndarray, np.ndarray]:
        """(rows, term frequencies) of `token` (empty when this segment never saw it)."""
        column = self.vocab.get(token)
        if column is None:
            return np.zeros(0, np.int32), np.zeros(0, np.float32)
        start, end = int(self.indptr[column]), int(self.indptr[column + 1])
        return np.asarray(self.rows[start:end]), np.asarray(self.tf[start:end])


class LexicalIndex:
    """BM25 over the segments of one version with collection-wide statistics; rows a `live` mask
    marks False (tombstoned chunks) neither count in the statistics nor are found."""

    def __init__(self, segments: list[LexicalSegment], live: list[np.ndarray | None]) -> None:
        self.segments = segments
        self.live = live
        # Tombstoned rows of each segment, ascending (few until a merge): left out of counts and results.
        self._dead = [np.zeros(0, np.int64) if keep is None else np.flatnonzero(~keep) for keep in live]
        self.n_docs = sum(len(s) - len(dead) for s, dead in zip(segments, self._dead, strict=True))
        total = sum(int(s.lengths.sum()) - int(s.lengths[dead].sum()) for s, dead in zip(segments, self._dead, strict=True))
        avgdl = total / self.n_docs if total else 1.0
        self._norms = [(K1 * ((1 - B) + B * s.lengths / avgdl)).astype(np.float32) for s in segments]

    def __len__(self) -> int:
        """Live chunks in all segments."""
        return self.n_docs

    def document_frequency(self, token: str) -> int:
        """Live chunks holding `token`, over every segment."""
        df = 0
        for segment, dead in zip(self.segments, self._dead, strict=True):
            df += segment.count(token)
            if len(dead) and segment.count(token):
                df -= int(np.count_nonzero(sorted_members(segment.postings(token)[0], dead)))
        return df

    def search(self, tokens: list[str], k: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """Top-k (id, score) pairs with a positive score, among the `allowed` ids when given; equal
        scores rank by id, so the result is the same however the index is cut into segments."""
        if not self.n_docs or not tokens or k < 1:
            return []
        # A token asked twice counts twice (as bm25s did); one absent everywhere scores nothing.
        idf = {t: math.log(1 + (self.n_docs - df + 0.5) / (df + 0.5))
               for t in set(tokens) if (df := self.document_frequency(t))}
        hits: list[tuple[int, float]] = []
        for segment, dead, norm in zip(self.segments, self._dead, self._norms, strict=True):
            scores = np.zeros(len(segment), np.float32)
            for token in tokens:
                if token in idf:
                    rows, tf = segment.postings(token)
                    scores[rows] += np.float32(idf[token]) * (tf / (norm[rows] + tf))
            scores[dead] = 0
            if allowed is not None:
                scores[~np.isin(segment.ids, allowed)] = 0
            hits.extend(_top(scores, segment.ids, k))
        hits.sort(key=lambda h: (-h[1], h[0]))
        return hits[:k]


def sorted_members(sorted_values: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Which of `values` occur in the ascending `sorted_values`: a binary search each, so no set of a
    segment's million ids (or rows) is built per query."""
    values = np.asarray(values)
    if not len(sorted_values) or not len(values):
        return np.zeros(len(values), dtype=bool)
    at = np.minimum(np.searchsorted(sorted_values, values), len(sorted_values) - 1)
    return np.asarray(sorted_values[at] == values)


def _top(scores: np.ndarray, ids: np.ndarray, k: int) -> list[tuple[int, float]]:
    """The positive scores among the k best, ties at the k-th included (the merge cuts them by id)."""
    found = np.flatnonzero(scores > 0)
    if len(found) > k:
        kth = np.partition(scores[found], len(found) - k)[len(found) - k]
        found = found[scores[found] >= kth]
    return [(int(ids[i]), float(scores[i])) for i in found]
