"""LLM summaries: map-reduce through langchain, then the number guard; invented figures are caught."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from core.config import Settings
from eval.faithfulness import check_summary
from service.engine import Engine
from service.http.app import create_app
from service.summary.schemas import SummaryRequest

MAPPED = "本部分介绍了法治政府建设的做法。"  # every map call (one per top-level section) gets this
GROUNDED = "2019年成功调处各类矛盾纠纷987起,调解成功率98.3%。法治政府建设的宣传力度还需进一步提高。"
INVENTED = "调解成功率达到99.9%,全年受理纠纷7777起。"


def _engine(seed_index: Path, replies: list[str]) -> Engine:
    """An engine over the seed index whose chat model is a fake replying `replies` in turn."""
    return Engine.open(Settings(index_dir=seed_index), chat_model=FakeListChatModel(responses=replies))


@pytest.fixture(scope="module")
def seed_text(seed_index: Path) -> str:
    view = Engine.open(Settings(index_dir=seed_index)).view()
    [doc] = view.retriever.documents
    return view.snapshot.document(doc).text


def _summarize(seed_index: Path, reduce_reply: str, style: str = "briefing", max_chars: int = 800):  # noqa: ANN202
    engine = _engine(seed_index, [MAPPED] * 4 + [reduce_reply])
    return engine.summarize(SummaryRequest(style=style, mode="llm", max_chars=max_chars))


def test_a_grounded_llm_briefing_is_kept_and_cited(seed_index: Path, seed_text: str) -> None:
    summary = _summarize(seed_index, GROUNDED)
    assert summary.mode == "llm" and summary.unsupported_numbers is None
    [report] = summary.reports
    texts = [h.text for h in report.headline]
    assert texts == ["2019年成功调处各类矛盾纠纷987起,调解成功率98.3%。", "法治政府建设的宣传力度还需进一步提高。"]
    first = summary.citations[report.headline[0].citation - 1]
    assert "987 起" in first.quote and seed_text[first.char_start : first.char_end] == first.quote
    assert len(report.text) <= 800 and check_summary(summary.text, [seed_text], []).unsupported == []


def test_an_invented_figure_is_removed_and_reported(seed_index: Path, seed_text: str) -> None:
    summary = _summarize(seed_index, INVENTED + GROUNDED)
    assert summary.mode == "llm" and summary.unsupported_numbers == ["99.9%", "7777起"]
    assert "number guard removed" in summary.note and "99.9" not in summary.text and "7777" not in summary.text
    assert check_summary(summary.text, [seed_text], []).unsupported == []


def test_only_invented_figures_bring_back_the_extractive_summary(seed_index: Path, seed_text: str) -> None:
    summary = _summarize(seed_index, INVENTED)
    assert summary.mode == "extractive" and summary.unsupported_numbers == ["99.9%", "7777起"]
    assert "extractive summary returned" in summary.note and summary.reports[0].headline
    assert check_summary(summary.text, [seed_text], []).unsupported == []


def test_llm_sections_are_mapped_per_section_and_guarded(seed_index: Path, seed_text: str) -> None:
    replies = ["2019年成功调处各类矛盾纠纷987起,调解成功率99.9%。", "法治政府建设的宣传力度还需进一步提高。",
               "坚持每两周召开党工委会议。", "进一步强化执法人员能力培训。"]
    summary = _engine(seed_index, replies).summarize(SummaryRequest(style="sections", mode="llm", max_chars=2000))
    kept = [[s.text for s in section.sentences] for section in summary.reports[0].sections]
    assert kept == [[], ["法治政府建设的宣传力度还需进一步提高。"], ["坚持每两周召开党工委会议。"],
                    ["进一步强化执法人员能力培训。"]]
    assert summary.unsupported_numbers == ["99.9%"] and check_summary(summary.text, [seed_text], []).unsupported == []


def test_a_dead_endpoint_falls_back_with_a_note(seed_index: Path) -> None:
    from conftest import free_port

    settings = Settings(index_dir=seed_index, llm_base_url=f"http://127.0.0.1:{free_port()}/v1", llm_timeout_s=3)
    with TestClient(create_app(settings)) as client:
        summary = client.post("/summaries", json={"mode": "llm"}).json()
    assert summary["mode"] == "extractive" and "LLM unavailable" in summary["note"]


def test_real_llm_summary_never_carries_an_unsupported_number(seed_index: Path, seed_text: str, llama_server: str,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """Map-reduce against SmolLM2-135M on llama.cpp (sections cut short to keep the test quick)."""
    monkeypatch.setattr("service.summary.llm.MAP_CHARS", 200)
    settings = Settings(index_dir=seed_index, llm_base_url=llama_server, llm_timeout_s=120, llm_max_tokens=48)
    with TestClient(create_app(settings)) as client:
        summary = client.post("/summaries", json={"style": "briefing", "mode": "llm", "max_chars": 600}).json()
    assert check_summary(summary["text"], [seed_text], []).unsupported == []
    assert len(summary["reports"][0]["text"]) <= 600
    # The real model answered (no fallback for an unreachable or slow endpoint); whatever it wrote that the
    # report does not support was cut by the guard. Lies of every kind are tested in tests/test_guard.py:
    # whether SmolLM2-135M happens to write one is not this test's business.
    assert summary["mode"] == "llm" or "number guard" in summary["note"], summary.get("note")
