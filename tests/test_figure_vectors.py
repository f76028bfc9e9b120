"""Each figure record's short description is embedded at ingest into figures.faiss, keyed by the
figures table's id: it follows the reports through incremental ingest and removal, and a snapshot
scores a report's figures or finds the nearest ones. Indexes use the hashing embedder."""

from __future__ import annotations

import dataclasses
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from test_figure_records import REPORT

from core.config import Settings
from core.embedding import get_embedder
from core.figure_records import FigureRecord, describe
from core.index import IndexSnapshot, current_version_dir, open_index
from ingest.pipeline import ingest_paths, remove_document

pytestmark = pytest.mark.usefixtures("fast_embedding")
SEED = Path(__file__).resolve().parent.parent / "data" / "samples" / "jinyang_2019_fazhi.txt"


def _ingest(settings: Settings, *paths: Path) -> str:
    summary = ingest_paths(list(paths), settings, progress=False)
    assert summary.count("added") == len(paths), summary.to_dict()
    return summary.outcomes[0].doc_id or ""


@pytest.fixture
def jiangnan(tmp_path: Path) -> Path:
    path = tmp_path / "reports" / "jiangnan_2025.txt"
    path.parent.mkdir()
    path.write_text(REPORT, encoding="utf-8")
    return path


@pytest.fixture
def jiangnan_index(settings: Settings, jiangnan: Path) -> tuple[str, IndexSnapshot]:
    """The report ingested alone: its doc id and the index's snapshot."""
    doc_id = _ingest(settings, jiangnan)
    return doc_id, open_index(settings.index_dir)


def _live_figure_vectors(snap: IndexSnapshot) -> int:
    """Figure description vectors of the snapshot's reports (tombstoned ones left out)."""
    return sum(s.figure_vectors.ntotal - len(s.deleted_figures) for s in snap.segments)


def _record(snap: IndexSnapshot, doc_id: str, raw: str) -> FigureRecord:
    [record] = [r for r in snap.figures(doc_id) if r.raw == raw]
    return record


def _vector(settings: Settings, record: FigureRecord) -> np.ndarray:
    return get_embedder(settings).embed_passages([describe(record)])[0]


def test_a_prose_figure_is_described_by_its_metric_unit_period_kind_and_heading(
    jiangnan_index: tuple[str, IndexSnapshot],
) -> None:
    doc_id, snap = jiangnan_index
    grain = _record(snap, doc_id, "600亿斤以上")
    assert describe(grain) == "粮食产量稳定在亿斤2025年目标 2025年主要预期目标"
    # A period the metric words already say is not said twice.
    assert describe(_record(snap, doc_id, "5.3%")) == "2024年地区生产总值增长%增长变化 2024年工作回顾"
    # A long clause keeps its 40 characters next to the figure; a month is said in words.
    clause = "按照省委省政府的统一部署和要求坚持稳中求进工作总基调全力以赴抓好粮食生产粮食产量稳定在"
    long_clause = dataclasses.replace(grain, metric=clause, period="2024-09", kind="actual")
    assert len(clause) > 40
    assert describe(long_clause) == f"{clause[-40:]}亿斤2024年9月实际 2025年主要预期目标"
    # A heading is told by its first words, its number left out.
    for heading, words in [("（二）加强法治保障，推动法治政府建设", "加强法治保障"),
                           ("第三章 法治政府建设情况", "法治政府建设情况"), ("2024年工作回顾", "2024年工作回顾"),
                           ("3.深化“放管服”改革优化营商环境", "深化“放管服”改革优化营")]:
        assert describe(dataclasses.replace(grain, section_path=["一、总体情况", heading])).endswith(f"目标 {words}")
    assert describe(dataclasses.replace(grain, section_path=[])) == "粮食产量稳定在亿斤2025年目标"


def test_a_table_cell_is_described_by_its_labels(jiangnan_index: tuple[str, IndexSnapshot]) -> None:
    doc_id, snap = jiangnan_index
    assert describe(_record(snap, doc_id, "9120")) == "发电装机（万千瓦） 2024年实际 主要指标"
    assert describe(_record(snap, doc_id, "42000元")) == "居民人均可支配收入 2023年元实际 主要指标"


def test_ingest_stores_one_description_vector_per_figure_record(jiangnan_index: tuple[str, IndexSnapshot]) -> None:
    doc_id, snap = jiangnan_index
    records = snap.figures(doc_id)
    assert len(records) == 20 == snap.manifest["n_figures"] == _live_figure_vectors(snap)
    [segment] = snap.segments
    assert (snap.folder / "segments" / segment.name / "figures.faiss").exists() and snap.check_integrity() == []


def test_a_figures_description_is_its_own_nearest_neighbour(
    settings: Settings, jiangnan_index: tuple[str, IndexSnapshot],
) -> None:
    doc_id, snap = jiangnan_index
    records = snap.figures(doc_id)
    counts = Counter(describe(r) for r in records)
    for position, record in enumerate(records):
        query = _vector(settings, record)
        scores = snap.figure_similarities(query, doc_id)
        assert scores.shape == (len(records),)
        assert scores[position] == pytest.approx(1.0, abs=1e-5)
        if counts[describe(record)] == 1:  # a twin description scores the same
            [(found_doc, found_position, score)] = snap.nearest_figures(query, 1)
            assert (found_doc, found_position, score) == (doc_id, position, pytest.approx(1.0, abs=1e-5))
    best_first = [score for _, _, score in snap.nearest_figures(_vector(settings, records[0]), 5)]
    assert len(best_first) == 5 and best_first == sorted(best_first, reverse=True)


def test_incremental_ingest_and_removal_keep_figure_ids_and_vectors_consistent(
    settings: Settings, jiangnan_index: tuple[str, IndexSnapshot],
) -> None:
    first, before = jiangnan_index
    grain = _record(before, first, "600亿斤以上")
    query = _vector(settings, grain)
    scores_before = before.figure_similarities(query, first)

    second = _ingest(settings, SEED)  # onto the previous version: the first report's vectors carried over
    both = open_index(settings.index_dir)
    assert both.check_integrity() == []
    n_seed = len(both.figures(second))
    assert n_seed and _live_figure_vectors(both) == 20 + n_seed
    np.testing.assert_allclose(both.figure_similarities(query, first), scores_before, atol=1e-6)
    assert {doc for doc, _, _ in both.nearest_figures(query, 14 + n_seed)} == {first, second}

    remove_document(first, settings)
    after = open_index(settings.index_dir)
    assert after.check_integrity() == [] and _live_figure_vectors(after) == n_seed
    assert after.figures(first) == [] and len(after.figure_similarities(query, first)) == 0
    assert {doc for doc, _, _ in after.nearest_figures(query, 100)} == {second}
    positions = sorted(position for _, position, _ in after.nearest_figures(query, 100))
    assert positions == list(range(n_seed))


def test_a_replaced_report_takes_new_figure_vectors(settings: Settings, jiangnan: Path) -> None:
    first = _ingest(settings, jiangnan)
    jiangnan.write_text(REPORT.replace("8184公里", "8200公里"), encoding="utf-8")
    summary = ingest_paths([jiangnan], settings, progress=False)
    assert summary.count("replaced") == 1
    snap = open_index(settings.index_dir)
    new = summary.outcomes[0].doc_id or ""
    assert snap.check_integrity() == [] and snap.figures(first) == []
    assert _live_figure_vectors(snap) == len(snap.figures(new)) == 20


def test_an_index_without_figures_scores_and_finds_none(settings: Settings, tmp_path: Path) -> None:
    plain = tmp_path / "plain.txt"
    plain.write_text("某街道关于法治政府建设情况的报告\n一、主要做法\n坚持依法行政,推进政务公开。\n", encoding="utf-8")
    doc_id = _ingest(settings, plain)
    snap = open_index(settings.index_dir)
    query = get_embedder(settings).embed_queries(["调解成功率是多少"])[0]
    assert snap.figures(doc_id) == [] and snap.check_integrity() == []
    assert snap.nearest_figures(query, 5) == [] and snap.figure_similarities(query, doc_id).shape == (0,)


def test_integrity_check_sees_figure_vectors_that_differ_from_the_figures_table(
    settings: Settings, jiangnan: Path, tmp_path: Path,
) -> None:
    _ingest(settings, jiangnan)
    other = Settings(index_dir=tmp_path / "other")
    _ingest(other, SEED)
    folder = current_version_dir(settings.index_dir)
    other_folder = current_version_dir(other.index_dir)
    assert folder is not None and other_folder is not None
    [(ours, theirs)] = zip(folder.glob("segments/*/figures.faiss"), other_folder.glob("segments/*/figures.faiss"))
    ours.unlink()  # a hard link the previous version may share: replaced, not written through
    shutil.copy(theirs, ours)
    [problem] = open_index(settings.index_dir).check_integrity()
    assert problem.startswith("segment 000001: figure vector index has")
