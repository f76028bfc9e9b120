"""Approximate vector indexes (REPORTQA_ANN=hnsw|ivf): written by ingest, recorded in the
manifest, loaded memory-mapped, and switched from an existing index without re-embedding."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from core import index as index_format
from core.config import Settings
from core.embedding import get_embedder
from core.index import current_version_dir, open_index
from ingest.pipeline import ingest_paths, remove_document
from ingest.writer import IndexWriter
from service.retrieval import Filters, Retriever

QUESTION = "金杨新村街道2019年的调解成功率是多少?"


@pytest.fixture
def seed_copy(seed_index: Path, tmp_path: Path) -> Path:
    """A private copy of the shared seed index (flat), to switch to another vector index."""
    copy = tmp_path / "index"
    shutil.copytree(seed_index, copy)
    return copy


@pytest.mark.parametrize("ann", ["hnsw", "ivf"])
def test_switching_to_an_ann_index_keeps_the_reports_and_finds_the_same_passages(
    ann: str, seed_index: Path, seed_copy: Path
) -> None:
    settings = Settings(index_dir=seed_copy, ann=ann)
    before = current_version_dir(seed_copy)
    summary = ingest_paths([], settings, progress=False)
    assert summary.manifest["ann"] == ann and summary.manifest["ann_params"]
    after = current_version_dir(seed_copy)
    assert after != before
    # Nothing was re-embedded or re-written: the doc store, lexical index and figure vectors are the base's files.
    [old], [new] = (list(folder.glob("segments/*")) for folder in (before, after))
    assert old.name != new.name  # a segment with another vector index is another segment
    for name in ("docstore.sqlite", "figures.faiss", "lexical/ids.npy"):
        assert (new / name).stat().st_ino == (old / name).stat().st_ino
    manifest = json.loads((after / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["vector_index"] == {"hnsw": "IndexIDMap2(IndexHNSWFlat)", "ivf": "IndexIDMap2(IndexIVFFlat)"}[ann]

    exact, approx = open_index(seed_index), open_index(seed_copy)
    assert approx.ann == ann and not approx.check_integrity()
    vector = get_embedder(settings).embed_queries([QUESTION])[0]
    assert [i for i, _ in approx.dense_search(vector, 10)] == [i for i, _ in exact.dense_search(vector, 10)]
    hits = Retriever(approx, get_embedder(settings)).retrieve(QUESTION, 5)
    assert any("98.3" in h.chunk.text for h in hits)


def test_filtered_search_on_an_ivf_index_sees_only_the_allowed_chunks(seed_copy: Path) -> None:
    settings = Settings(index_dir=seed_copy, ann="ivf")
    ingest_paths([], settings, progress=False)
    snapshot = open_index(seed_copy)
    vector = get_embedder(settings).embed_queries([QUESTION])[0]
    everything = snapshot.dense_search(vector, 10)
    allowed = np.asarray([i for i, _ in everything[3:6]], dtype=np.int64)
    assert [i for i, _ in snapshot.dense_search(vector, 10, allowed)] == allowed.tolist()
    doc_id = next(iter(snapshot.documents())).doc_id
    retriever = Retriever(snapshot, get_embedder(settings))
    assert all(h.doc.doc_id == doc_id for h in retriever.retrieve(QUESTION, 5, Filters(doc_ids=(doc_id,))))
    assert retriever.retrieve(QUESTION, 5, Filters(year=1990)) == []


def test_a_removal_keeps_the_index_kind_and_an_unknown_kind_is_refused(seed_copy: Path) -> None:
    settings = Settings(index_dir=seed_copy, ann="hnsw")
    ingest_paths([], settings, progress=False)
    doc_id = next(iter(open_index(seed_copy).documents())).doc_id
    manifest = remove_document(doc_id, Settings(index_dir=seed_copy))
    assert manifest["ann"] == "hnsw" and manifest["n_chunks"] == 0
    assert open_index(seed_copy).dense_search(np.ones(manifest["embedding_dim"], np.float32), 5) == []
    with pytest.raises(ValueError, match="unknown vector index kind"):
        IndexWriter(seed_copy, manifest["embedding_model"], manifest["embedding_dim"], ann="annoy")


def test_lexical_search_restricted_to_allowed_ids_ranks_inside_them(seed_index: Path) -> None:
    from core.lexical import tokenize

    snapshot = open_index(seed_index)
    tokens = tokenize(QUESTION)
    everything = snapshot.lexical.search(tokens, 50)
    allowed = np.asarray([i for i, _ in everything[-3:]], dtype=np.int64)
    restricted = snapshot.lexical.search(tokens, 10, allowed)
    assert [i for i, _ in restricted] == allowed.tolist()
    assert snapshot.lexical.search(tokens, 10, np.asarray([-1], dtype=np.int64)) == []


@pytest.mark.parametrize("ann", ["flat", "hnsw", "ivf"])
@pytest.mark.parametrize("subset_max", [index_format.SUBSET_SEARCH_MAX, 0], ids=["stored vectors", "filtered scan"])
def test_search_among_a_few_ids_is_exact_on_every_index_kind(
    ann: str, subset_max: int, seed_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both ways of searching among allowed ids (their stored vectors one by one, or a filtered
    scan of the index) rank them as exact search does, with exact scores; unknown ids are skipped."""
    exact = open_index(seed_copy)
    ingest_paths([], Settings(index_dir=seed_copy, ann=ann), progress=False)
    monkeypatch.setattr(index_format, "SUBSET_SEARCH_MAX", subset_max)
    snapshot = open_index(seed_copy)
    vector = get_embedder(Settings()).embed_queries([QUESTION])[0]
    expected = exact.dense_search(vector, 10)[2:7]
    allowed = np.asarray([i for i, _ in reversed(expected)] + [10**9], dtype=np.int64)
    found = snapshot.dense_search(vector, 10, allowed)
    assert [i for i, _ in found] == [i for i, _ in expected]
    assert np.allclose([s for _, s in found], [s for _, s in expected], atol=1e-5)
