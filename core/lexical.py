"""Lexical side of the index: jieba tokens and a bm25s BM25 index over them.

Numbers and % stay tokens (figures are what users ask for); punctuation, spaces and a
few question words carry no evidence and are dropped.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import bm25s
import jieba
import numpy as np

from .normalize import normalize_str

jieba.setLogLevel(logging.WARNING)

_KEEP = re.compile(r"[\w%]", re.UNICODE)
STOPWORDS = frozenset(
    "的 了 是 在 和 与 及 等 多少 几 几个 几次 什么 哪些 哪 吗 呢 有 为 共 一共 请问 请 问 其 个 年 月 日".split()
)


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


class LexicalIndex:
    """BM25 over token lists, addressed by the same integer ids as the vector index."""

    def __init__(self, bm25: bm25s.BM25, ids: np.ndarray) -> None:
        self._bm25 = bm25
        self.ids = ids

    @classmethod
    def build_from_ids(cls, token_ids: list[list[int]], vocab: dict[str, int], ids: np.ndarray) -> LexicalIndex:
        """The index from token ids and their vocabulary (no token strings held per document).
        An empty document still gets a slot (one placeholder token) so positions line up with ids."""
        empty = vocab.setdefault("\u0000", len(vocab))
        bm25 = bm25s.BM25()
        bm25.index(([toks or [empty] for toks in token_ids] or [[empty]], vocab), show_progress=False)
        return cls(bm25, np.asarray(ids, dtype=np.int64))

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self._bm25.save(str(folder), show_progress=False)
        np.save(folder / "ids.npy", self.ids)

    @classmethod
    def load(cls, folder: Path) -> LexicalIndex:
        bm25 = bm25s.BM25.load(str(folder), mmap=True, show_progress=False)
        return cls(bm25, np.load(folder / "ids.npy"))

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    def search(self, tokens: list[str], k: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """Top-k (id, score) pairs with a positive score, among the `allowed` ids when given."""
        if not len(self) or not tokens:
            return []
        mask = None if allowed is None else np.isin(self.ids, allowed).astype(np.float32)
        scores = self._bm25.get_scores(tokens, weight_mask=mask)
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top])]
        return [(int(self.ids[i]), float(scores[i])) for i in top if scores[i] > 0]
