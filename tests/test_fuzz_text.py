"""Hypothesis: the heading parser, the figure extractor, the chunker and the figure records on arbitrary text
never raise, and every span they return is valid in the original text (the citations depend on it)."""

from __future__ import annotations

import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.figure_records import report_figure_records
from core.figures import extract_figures, stated_numbers
from core.models import Report
from core.normalize import normalize, normalize_char, normalize_str
from ingest.chunking import chunk_report
from ingest.sections import iter_sections, parse_sections

# Report-like pieces (headings, numerals, units, full-width forms, odd spaces) mixed with any text.
PIECES = ["一、", "二、", "十一、", "(一)", "（二）", "( 三 )", "1.", "2、", "12.", "(1)", "（3）", "第一章", "第十二条",
          "第 3 条", "。", ",", "，", "\n", "\n\n", " ", "\u3000", "\u00a0", "\t", "\r\n", "98.3 %", "98·5 9%", "1,234",
          "987 起", "两名", "二十六项", "3万元", "2 到 3 名", "20余次", "60%以上", "未发生行政诉讼", "万", "亿", "%",
          "１２３", "．", "、", "起", "元", "人次", "个百分点", "调解成功率", "法治政府", "\ufeff", "\u200b", "\x00",
          # characters whose NFKC form is longer than one character, or that break lines oddly
          "½", "①", "⑴", "⒈", "㏂", "Ⅻ", "ﬃ", "㍿", "\u0301", "\U0001f600", "\u2028", "\x85", "\x0b", "\x0c",
          "9" * 400, "1" * 30 + ".5", "九" * 320,  # past a float's range: no inf, no OverflowError
          # figure records: table rows, label units, periods, falls and targets
          " | ", "|", "（万千瓦）", "(亿元)", "2024年", "截至2024年12月31日", "去年", "下降", "预期目标", "万吨/日", "亿斤"]
TEXT = st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=8)), max_size=60).map("".join)
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(TEXT)
def test_normalised_text_maps_back_character_by_character(text: str) -> None:
    norm = normalize(text)
    assert norm.text == "".join(normalize_char(ch) for ch in text) == normalize_str(text)
    assert len(norm.offsets) == len(norm.text) + 1 and norm.offsets[-1] == len(text)
    for i, ch in enumerate(norm.text):
        start, end = norm.to_original(i, i + 1)
        assert end == start + 1 and ch in normalize_char(text[start])
    for orig in range(len(text) + 1):
        assert norm.offsets[norm.from_original(orig)] >= orig


@FUZZ
@given(TEXT)
def test_sections_never_raise_and_their_spans_are_valid(text: str) -> None:
    roots = parse_sections(text)
    for _, s in iter_sections(roots):
        assert 0 <= s.char_start <= s.body_start <= s.char_end <= len(text), (s, len(text))
        assert s.heading and s.heading in text[s.char_start:s.body_start]
        for child in s.children:
            assert s.char_start <= child.char_start and child.char_end <= s.char_end
    starts = [s.char_start for _, s in iter_sections(roots)]
    assert starts == sorted(starts)


@FUZZ
@given(TEXT)
def test_figures_never_raise_and_their_spans_are_valid(text: str) -> None:
    for f in extract_figures(text):
        assert 0 <= f.char_start <= f.char_end <= len(text)
        assert text[f.char_start:f.char_end] == f.raw and f.raw.strip()
        assert math.isfinite(f.value) and (f.value_max is None or math.isfinite(f.value_max))
    assert all(math.isfinite(n.value) for n in stated_numbers(text))


@FUZZ
@given(TEXT, st.integers(0, 200), st.integers(0, 200))
def test_figures_of_a_range_stay_in_the_range(text: str, a: int, b: int) -> None:
    start, end = sorted((min(a, len(text)), min(b, len(text))))
    for f in extract_figures(text, start=start, end=end):
        assert start <= f.char_start <= f.char_end <= end, (f, start, end)
        assert text[f.char_start:f.char_end] == f.raw


@FUZZ
@given(TEXT, st.integers(50, 400))
def test_chunks_quote_their_span_exactly(text: str, max_chars: int) -> None:
    report = Report(doc_id="d", source="s", format="txt", encoding="utf-8", text=text)
    for chunk in chunk_report(report, max_chars=max_chars, table_rows=3):
        assert 0 <= chunk.char_start <= chunk.char_end <= len(text)
        assert text[chunk.char_start:chunk.char_end] == chunk.text
        for s, e in chunk.sentences:
            assert chunk.char_start <= s <= e <= chunk.char_end


@FUZZ
@given(TEXT, st.integers(50, 400), st.one_of(st.none(), st.integers(1990, 2030)))
def test_figure_records_never_raise_and_quote_their_span(text: str, max_chars: int, year: int | None) -> None:
    report = Report(doc_id="d", source="s", format="txt", encoding="utf-8", text=text)
    chunks = chunk_report(report, max_chars=max_chars, table_rows=3)
    for chunk, records in zip(chunks, report_figure_records(chunks, year), strict=True):
        for r in records:
            assert chunk.char_start <= r.char_start <= r.char_end <= chunk.char_end
            assert text[r.char_start:r.char_end] == r.raw
            assert math.isfinite(r.base_value)
