"""TextRank: the sentences that share most words with the others carry a text.

Sentences are nodes, edges weigh their shared jieba words (normalised by length, as in
Mihalcea & Tarau 2004), and networkx's PageRank scores them.
"""

from __future__ import annotations

import math

import networkx as nx

from core.lexical import tokenize


def _words(text: str) -> set[str]:
    return {w for w in tokenize(text) if len(w) >= 2 and not any(ch.isdigit() for ch in w)}


def textrank(texts: list[str]) -> list[float]:
    """A centrality score per text (higher carries more); uniform when no two texts share a word."""
    if not texts:
        return []
    words = [_words(t) for t in texts]
    graph = nx.Graph()
    graph.add_nodes_from(range(len(texts)))
    for i in range(len(texts)):
        for j in range(i + 1, len(texts)):
            shared = len(words[i] & words[j])
            if shared:
                weight = shared / (math.log(len(words[i]) + 1) + math.log(len(words[j]) + 1))
                graph.add_edge(i, j, weight=weight)
    if not graph.number_of_edges():
        return [1.0 / len(texts)] * len(texts)
    scores = nx.pagerank(graph, weight="weight")
    return [scores[i] for i in range(len(texts))]


def most_central(texts: list[str], k: int) -> list[int]:
    """Indexes of the k most central texts, in their original order."""
    scores = textrank(texts)
    best = sorted(range(len(texts)), key=lambda i: (-scores[i], i))[:k]
    return sorted(best)
