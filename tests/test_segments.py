"""A segmented index on disk: an added report writes one new segment beside hard links of the old
ones, a removal is a tombstone, search over segments ranks and scores as one index would (BM25
with collection-wide statistics), and a merge keeps row ids, answers and scores. Indexes use the
hashing embedder: what is tested is the format and the search arithmetic, not retrieval quality."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from core.config import Settings
from core.embedding import get_embedder
from core.index import IndexSnapshot, current_version_dir, open_index
from core.lexical import tokenize
from ingest.pipeline import compact_index, ingest_paths, remove_document

pytestmark = pytest.mark.usefixtures("fast_embedding")
QUESTIONS = ["2021年调解成功率是多少?", "行政复议案件有几起", "第3街道开展行政检查多少次", "规范行政执法 化解矛盾纠纷"]
STREETS = 6


def _report(folder: Path, n: int) -> Path:
    """A small report of its own street; every third one adds a paragraph the others lack (uneven
    document frequencies and lengths, which segment-local BM25 statistics would get wrong)."""
    extra = f"(三)推进政务公开\n全年主动公开政府信息{200 + n}条,依申请公开{n}件。\n" if n % 3 == 0 else ""
    path = folder / f"street_{n:02d}.txt"
    path.write_text(
        f"第{n}街道关于2021年度法治政府建设情况的报告\n一、主要做法和成效\n(一)化解矛盾纠纷\n"
        f"全年共调解纠纷{100 + n}起,调解成功率为9{n % 10}.{n}%。\n"
        f"(二)规范行政执法\n全年开展行政检查{30 + n}次,行政复议案件{n}起。\n{extra}", encoding="utf-8")
    return path


@pytest.fixture
def reports(tmp_path: Path) -> list[Path]:
    folder = tmp_path / "reports"
    folder.mkdir()
    return [_report(folder, n) for n in range(STREETS)]


def _ingest(settings: Settings, *paths: Path) -> dict:
    summary = ingest_paths(list(paths), settings, progress=False)
    assert not summary.failed and summary.manifest is not None
    return summary.manifest


def _results(snap: IndexSnapshot, settings: Settings) -> list[list[tuple[str, float]]]:
    """Dense and lexical top-10 of every question as (chunk_id, score): comparable across indexes
    whose integer row ids differ."""
    embedder = get_embedder(settings)
    out = []
    for question in QUESTIONS:
        vector = embedder.embed_queries([question])[0]
        for hits in (snap.dense_search(vector, 10), snap.lexical.search(tokenize(question), 10)):
            names = {c.id: c.chunk.chunk_id for c in snap.chunks([i for i, _ in hits])}
            out.append([(names[i], score) for i, score in hits])
    return out


def test_an_added_report_writes_one_segment_and_links_the_others(settings: Settings, reports: list[Path]) -> None:
    _ingest(settings, *reports[:4])
    before = current_version_dir(settings.index_dir)
    manifest = _ingest(settings, reports[4])
    after = current_version_dir(settings.index_dir)
    assert before is not None and after is not None
    old, new = (e["name"] for e in manifest["segments"])
    for path in (before / "segments" / old).rglob("*"):
        if path.is_file():  # shared, not copied
            assert path.stat().st_ino == (after / "segments" / old / path.relative_to(before / "segments" / old)).stat().st_ino
    new_segment = json.loads((after / "manifest.json").read_text(encoding="utf-8"))["segments"][1]
    assert new_segment["n_documents"] == 1 and manifest["n_documents"] == 5
    snap = open_index(settings.index_dir)
    assert snap.check_integrity() == [] and len(snap.segments) == 2
    # Row ids go on from the old segment's: chunk and figure ids are unique across segments.
    assert snap.segments[1].ids.min() > snap.segments[0].ids.max()
    assert manifest["next_ids"]["chunks"] == snap.segments[1].ids.max() + 1


def test_segments_score_and_rank_as_one_index_of_the_same_reports(
    settings: Settings, reports: list[Path], tmp_path: Path
) -> None:
    for path in reports:  # one segment per report
        _ingest(settings, path)
    segmented = open_index(settings.index_dir)
    assert len(segmented.segments) == STREETS
    whole = Settings(index_dir=tmp_path / "whole")
    _ingest(whole, *reports)  # the same reports in one write: one segment
    assert len(open_index(whole.index_dir).segments) == 1
    assert _results(segmented, settings) == _results(open_index(whole.index_dir), whole)
    # Document frequency is the collection's: a token of every third report counts in every segment.
    assert segmented.lexical.document_frequency("政务") == open_index(whole.index_dir).lexical.document_frequency("政务") == 2


def test_a_removal_is_a_tombstone_until_compact_and_compact_keeps_ids_and_answers(
    settings: Settings, reports: list[Path], tmp_path: Path
) -> None:
    for pair in range(0, STREETS, 2):  # two reports a segment
        _ingest(settings, *reports[pair : pair + 2])
    snap = open_index(settings.index_dir)
    gone = next(d.doc_id for d in snap.documents() if d.source.endswith("street_03.txt"))
    kept_chunks = {d.doc_id: snap.chunk_ids_of([d.doc_id]) for d in snap.documents() if d.doc_id != gone}
    removed = remove_document(gone, settings)
    assert removed["n_documents"] == STREETS - 1
    [entry] = [e for e in removed["segments"] if e["deleted"]]
    assert entry["deleted"] == [gone] and entry["n_documents"] == 2 and entry["live"]["n_documents"] == 1
    tombstoned = open_index(settings.index_dir)
    assert tombstoned.check_integrity() == []
    assert tombstoned.document(gone) is None and tombstoned.chunk_ids_of([gone]) == []
    assert gone not in {d.doc_id for d in tombstoned.documents()}
    assert tombstoned.lexical.document_frequency("政务") == 1  # street 0's paragraph; street 3's is gone
    answers = _results(tombstoned, settings)
    assert not any(name.startswith(gone[:12]) for hits in answers for name, _ in hits)
    # The same reports written at once: the tombstoned index already scores as if street 3 was never there.
    fresh = Settings(index_dir=tmp_path / "fresh")
    _ingest(fresh, *[p for p in reports if p.name != "street_03.txt"])
    assert answers == _results(open_index(fresh.index_dir), fresh)

    compacted = compact_index(settings)
    [segment] = compacted["segments"]
    assert segment["deleted"] == [] and segment["n_documents"] == STREETS - 1
    merged = open_index(settings.index_dir)
    assert merged.check_integrity() == []
    assert {d.doc_id: merged.chunk_ids_of([d.doc_id]) for d in merged.documents()} == kept_chunks
    assert _results(merged, settings) == answers
    store = current_version_dir(settings.index_dir) / "segments" / segment["name"] / "docstore.sqlite"
    with sqlite3.connect(store) as conn:  # the removed report's rows are gone from disk, every table
        for table, column in (("documents", "doc_id"), ("chunks", "doc_id"), ("figures", "doc_id")):
            assert conn.execute(f"SELECT COUNT(*) FROM {table} WHERE {column} = ?", (gone,)).fetchone()[0] == 0
        assert conn.execute("SELECT COUNT(*) FROM sentences WHERE chunk NOT IN (SELECT id FROM chunks)").fetchone()[0] == 0


def test_a_write_past_the_segment_limit_merges_the_smallest(reports: list[Path], tmp_path: Path) -> None:
    settings = Settings(index_dir=tmp_path / "index", max_segments=3)
    _ingest(settings, *reports[:3])  # one large segment
    sizes = []
    for path in reports[3:]:
        manifest = _ingest(settings, path)
        sizes.append([e["n_documents"] for e in manifest["segments"]])
    assert sizes == [[3, 1], [3, 1, 1], [3, 1, 2]]  # a fourth segment: the two smallest (oldest first) merged
    snap = open_index(settings.index_dir)
    assert snap.check_integrity() == [] and len(snap.documents()) == STREETS


def test_a_report_removed_and_added_again_lives_in_its_new_segment(settings: Settings, reports: list[Path]) -> None:
    _ingest(settings, *reports[:2])
    doc_id = next(d.doc_id for d in open_index(settings.index_dir).documents() if d.source.endswith("street_00.txt"))
    remove_document(doc_id, settings)
    manifest = _ingest(settings, reports[0])
    assert [e["deleted"] for e in manifest["segments"]] == [[doc_id], []]
    snap = open_index(settings.index_dir)
    assert snap.check_integrity() == [] and len(snap.documents()) == 2
    ids = snap.chunk_ids_of([doc_id])
    assert ids and set(ids) <= set(snap.segments[1].ids.tolist())
    vector = get_embedder(settings).embed_queries(["第0街道调解成功率"])[0]
    assert set(i for i, _ in snap.dense_search(vector, 100)) == set(snap.chunk_ids_of([d.doc_id for d in snap.documents()]))
    assert np.isfinite([s for _, s in snap.dense_search(vector, 5, np.asarray(ids))]).all()
    compact_index(settings)
    assert open_index(settings.index_dir).chunk_ids_of([doc_id]) == ids


def test_the_compact_command_merges_the_segments_into_one(settings: Settings, reports: list[Path]) -> None:
    from typer.testing import CliRunner

    from reportqa.cli import app

    for path in reports[:3]:
        _ingest(settings, path)
    shown = CliRunner().invoke(app, ["compact", "--index", str(settings.index_dir), "--json"])
    assert shown.exit_code == 0, shown.output
    [segment] = json.loads(shown.stdout)["segments"]
    snap = open_index(settings.index_dir)
    assert [s.name for s in snap.segments] == [segment["name"]] and len(snap.documents()) == 3
    assert snap.check_integrity() == []
