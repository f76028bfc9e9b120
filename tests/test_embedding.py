"""The hashing embedder that tests not about retrieval quality index with: selectable by name,
the same vectors in every process, unit rows of its dimension, closer for shared wording."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
from conftest import ROOT

from core.config import Settings
from core.embedding import HashingEmbedder, get_embedder

RATE = "全年共调解纠纷987起,调解成功率 98.3 %。"
SAME_TOPIC = "2019年的调解成功率是多少?"
OTHER_TOPIC = "行政执法人员持证上岗率达到百分之百。"
PRINT_VECTOR = "import json; from core.embedding import HashingEmbedder; " \
               f"print(json.dumps(HashingEmbedder().embed_queries([{RATE!r}])[0].tolist()))"


def test_hashing_is_chosen_by_name_in_the_settings() -> None:
    embedder = get_embedder(Settings(embedding_model="hashing"))
    assert isinstance(embedder, HashingEmbedder) and embedder.model_id.startswith("hashing/")


def test_hashing_vectors_are_unit_rows_of_its_dimension_and_closer_for_shared_wording() -> None:
    embedder = HashingEmbedder()
    passages = embedder.embed_passages([RATE, OTHER_TOPIC])
    query = embedder.embed_queries([SAME_TOPIC])[0]
    assert passages.shape == (2, embedder.dim) and passages.dtype == np.float32
    assert np.allclose(np.linalg.norm(passages, axis=1), 1.0)
    assert query @ passages[0] > query @ passages[1] + 0.1
    assert embedder.embed_passages([]).shape == (0, embedder.dim)
    assert not embedder.embed_queries(["  "]).any()


def test_hashing_gives_the_same_vector_in_every_process() -> None:
    """An index written by one process is searched by another: str hashes vary per process, these must not."""
    vectors = [
        json.loads(subprocess.run([sys.executable, "-c", PRINT_VECTOR], capture_output=True, text=True, check=True,
                                  cwd=ROOT, env={**os.environ, "PYTHONHASHSEED": seed}).stdout)
        for seed in ("1", "2")
    ]
    assert vectors[0] == vectors[1] == HashingEmbedder().embed_queries([RATE])[0].tolist()
