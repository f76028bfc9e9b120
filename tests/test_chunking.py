"""Chunks follow sections, keep exact spans into the original text, and carry context."""

from __future__ import annotations

from core.models import Report
from ingest.chunking import chunk_report
from ingest.metadata import extract_metadata
from ingest.sections import parse_sections


def _report(text: str) -> Report:
    return Report("d" * 16, "mem", "txt", "utf-8", text, extract_metadata(text))


def test_every_seed_chunk_round_trips_to_the_original_text(seed_text: str) -> None:
    chunks = chunk_report(_report(seed_text))
    assert len(chunks) > 10
    for chunk in chunks:
        assert seed_text[chunk.char_start : chunk.char_end] == chunk.text
        for start, end in chunk.sentences:
            assert chunk.char_start <= start < end <= chunk.char_end
    assert len({c.chunk_id for c in chunks}) == len(chunks)


def test_chunks_never_cross_a_top_level_section(seed_text: str) -> None:
    tops = parse_sections(seed_text)
    for chunk in chunk_report(_report(seed_text)):
        if not chunk.section_path:
            assert chunk.char_end <= tops[0].char_start
            continue
        top = next(s for s in tops if s.heading == chunk.section_path[0])
        assert top.char_start <= chunk.char_start and chunk.char_end <= top.char_end


def test_mediation_figure_is_in_a_chunk_with_its_section_path_and_title_context(seed_text: str) -> None:
    chunk = next(c for c in chunk_report(_report(seed_text)) if "调解成功率 98.3 %" in c.text)
    assert chunk.section_path[0] == "一、主要做法和成效"
    assert chunk.embed_text.startswith("金杨新村街道关于2019年度法治政府建设情况的报告")
    assert " > ".join(chunk.section_path) in chunk.embed_text


def test_long_section_is_windowed_with_one_sentence_overlap() -> None:
    sentences = [f"第{i}项工作完成情况良好，共计办理事项{i * 10}件。" for i in range(1, 40)]
    text = "一、工作情况\n" + "".join(sentences) + "\n二、下一步\n继续努力。\n"
    chunks = [c for c in chunk_report(_report(text), max_chars=120) if c.section_path == ["一、工作情况"]]
    assert len(chunks) > 3
    for a, b in zip(chunks, chunks[1:]):
        assert a.sentences[-1] == b.sentences[0]
        assert all(len(c.text) <= 120 for c in chunks)


def test_table_rows_become_chunks_that_repeat_caption_and_header() -> None:
    rows = "\n".join(f"第{i}街道 | {i * 3} | {i * 7}" for i in range(1, 15))
    text = "一、统计情况\n表1 各街道办件数量\n\n街道 | 受理件数 | 办结件数\n" + rows + "\n\n以上为统计。\n"
    tables = [c for c in chunk_report(_report(text), table_rows=5) if c.kind == "table"]
    assert len(tables) == 3
    for chunk in tables:
        assert "表1 各街道办件数量" in chunk.embed_text
        assert "街道 | 受理件数 | 办结件数" in chunk.embed_text
        assert text[chunk.char_start : chunk.char_end] == chunk.text
    assert "第14街道 | 42 | 98" in tables[-1].text
