"""A question that names a place finds that place's report among many reports saying the same.

In a large index the same sentence stands in thousands of reports; hints only re-rank the
candidates, so the named report must be searched on its own (service/retrieval.py). Here 60
copies of the seed report by other issuers all match the question better than the real one
(their vectors lean toward it, its words are added to their search tokens), as a crowd of
similar reports would: the global candidates hold none of the real report's passages.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from conftest import SEED
from fastapi.testclient import TestClient

import service.retrieval
from core.config import Settings
from core.embedding import get_embedder
from core.lexical import tokenize
from core.models import Report
from ingest.pipeline import content_id, embed_all, load_report, prepare
from ingest.writer import IndexWriter
from service.http.app import create_app

QUESTION = "2019年金杨新村街道的调解成功率是多少?"
COPIES = 60


@pytest.fixture(scope="module")
def crowded_index(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The seed report and 60 copies of it by issuers no question names, closer to the question."""
    index_dir = tmp_path_factory.mktemp("crowded") / "index"
    settings = Settings(index_dir=index_dir)
    embedder = get_embedder(settings)
    real = prepare(load_report(SEED, settings), settings)
    embed_all([real], embedder, settings.embedding_batch_size)
    leaning = real.vectors + embedder.embed_queries([QUESTION])
    leaning /= np.linalg.norm(leaning, axis=1, keepdims=True)
    with IndexWriter(index_dir, embedder.model_id, embedder.dim, rebuild=True) as writer:
        for i in range(COPIES):
            text = real.report.text.replace("金杨新村", f"东{i:03d}")
            copy = prepare(Report(doc_id=content_id(text), source=f"copy-{i}.txt", format="txt", encoding="utf-8",
                                  text=text, metadata=replace(real.report.metadata, issuer=f"东{i:03d}街道",
                                                   title=real.report.metadata.title.replace("金杨新村", f"东{i:03d}"))),
                           settings)
            assert len(copy.chunks) == len(real.chunks)
            copy.vectors, copy.figure_vectors = leaning, real.figure_vectors
            copy.tokens = [tokens + tokenize(QUESTION) for tokens in copy.tokens]
            writer.add(copy)
        writer.add(real)
        writer.commit()
    return index_dir, real.report.doc_id


def _ask(index_dir: Path) -> dict:
    with TestClient(create_app(Settings(index_dir=index_dir, state_dir=index_dir.parent / "state"))) as client:
        return client.post("/ask", json={"question": QUESTION}).json()


def test_the_named_places_report_answers_among_many_copies(crowded_index: tuple[Path, str]) -> None:
    index_dir, real_id = crowded_index
    answer = _ask(index_dir)
    assert answer["found"] and answer["figure"]["value"] == 98.3
    assert {c["doc_id"] for c in answer["citations"]} == {real_id}


def test_without_its_own_search_the_copies_crowd_it_out(crowded_index: tuple[Path, str],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    index_dir, real_id = crowded_index
    monkeypatch.setattr(service.retrieval, "PLACE_SCOPE_MAX_CHUNKS", 0)
    answer = _ask(index_dir)
    assert real_id not in {c["doc_id"] for c in answer["citations"]}
