"""Summaries over the seed report: every figure traceable, the key figures cited, the briefing
within its length, Word export, comparisons of two years, bad input as 4xx."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from docx import Document
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from core.config import Settings
from eval.faithfulness import check_summary
from eval.gold import load_gold
from reportqa.cli import app as cli
from service.http.app import create_app

ROOT = Path(__file__).resolve().parent.parent
GOLD = load_gold(ROOT / "eval" / "gold" / "gold_seed.jsonl")
MUST = {"987 起": (987, "起"), "98.3 %": (98.3, "%"), "568 起": (568, "起"), "268738 元": (268738, "元")}


@pytest.fixture(scope="module")
def seed_doc(client: TestClient) -> dict:
    [doc] = client.get("/documents").json()["documents"]
    return client.get(f"/documents/{doc['doc_id']}/text").json() | {"doc_id": doc["doc_id"]}


@pytest.fixture(scope="module")
def summaries(client: TestClient, seed_doc: dict) -> dict[str, dict]:
    """One summary per style of the seed report (made once for the module)."""
    out = {}
    for style in ("briefing", "key_figures", "sections"):
        response = client.post("/summaries", json={"doc_ids": [seed_doc["doc_id"]], "style": style, "max_chars": 600})
        assert response.status_code == 200, response.text
        out[style] = response.json()
    return out


def _assert_cited_exactly(summary: dict, text: str) -> None:
    for c in summary["citations"]:
        assert text[c["char_start"] : c["char_end"]] == c["quote"]


@pytest.mark.parametrize("style", ["briefing", "key_figures", "sections"])
def test_no_summary_states_a_figure_the_report_does_not(summaries: dict, seed_doc: dict, style: str) -> None:
    summary = summaries[style]
    for text in (summary["text"], summary["reports"][0]["text"]):
        faithfulness = check_summary(text, [seed_doc["text"]], GOLD)
        assert faithfulness.unsupported == [], faithfulness
    _assert_cited_exactly(summary, seed_doc["text"])


def test_the_key_figures_table_holds_the_seed_figures_with_citations(summaries: dict, seed_doc: dict) -> None:
    summary = summaries["key_figures"]
    rows = summary["reports"][0]["key_figures"]
    for raw, (value, unit) in MUST.items():
        [row] = [r for r in rows if r["raw"] == raw]
        assert (row["value"], row["unit"]) == (value, unit) and row["section"].startswith("一、主要做法和成效")
        citation = summary["citations"][row["citation"] - 1]
        assert raw in citation["quote"]
    keys = [(r["metric"], r["value"], r["unit"]) for r in rows]
    assert len(keys) == len(set(keys))  # deduplicated: 办结率 100% is stated twice, listed once
    assert sum(r["raw"] == "100%" and r["metric"] == "办结率" for r in rows) == 1
    covered = check_summary(summary["text"], [seed_doc["text"]], GOLD).covered
    assert {"s001", "s002", "s003"} <= set(covered)


@pytest.mark.parametrize("max_chars", [150, 400, 1200])
def test_the_briefing_stays_within_max_chars_and_cites_every_item(client: TestClient, seed_doc: dict, max_chars: int) -> None:
    summary = client.post("/summaries", json={"doc_ids": [seed_doc["doc_id"]], "max_chars": max_chars}).json()
    [report] = summary["reports"]
    assert 0 < len(report["text"]) <= max_chars
    items = report["headline"] + report["problems"] + report["plans"] + report["key_figures"]
    assert items and all(1 <= item["citation"] <= len(summary["citations"]) for item in items)
    for item in report["headline"] + report["problems"] + report["plans"]:
        assert f"{item['text']}[{item['citation']}]" in report["text"]
    assert check_summary(report["text"], [seed_doc["text"]], GOLD).unsupported == []


def test_the_briefing_has_headline_figures_problems_and_plans(summaries: dict) -> None:
    report = summaries["briefing"]["reports"][0]
    assert report["headline"] and report["key_figures"]
    assert [p["text"] for p in report["problems"]][0] == "(一)法治政府建设的工作合力还需进一步凝聚。"
    assert [p["text"] for p in report["plans"]][-1] == "(三)进一步提高法治政府建设水平。"
    assert any(f["raw"] == "98.3 %" for f in report["key_figures"])
    citations = summaries["briefing"]["citations"]
    assert citations[report["problems"][0]["citation"] - 1]["section_path"][0] == "二、法治政府建设中存在的主要问题"


def test_sections_digest_every_top_level_section(summaries: dict) -> None:
    sections = summaries["sections"]["reports"][0]["sections"]
    assert [s["heading"] for s in sections] == ["一、主要做法和成效", "二、法治政府建设中存在的主要问题",
                                                "三、主要负责人履行法治政府建设第一责任人职责情况", "四、下一步工作设想"]
    citations = summaries["sections"]["citations"]
    for section in sections:
        assert section["sentences"]
        for sentence in section["sentences"]:
            assert citations[sentence["citation"] - 1]["section_path"][0] == section["heading"]


def test_markdown_and_docx_exports(client: TestClient, seed_doc: dict) -> None:
    body = {"doc_ids": [seed_doc["doc_id"]], "style": "briefing"}
    md = client.post("/summaries", json=body | {"format": "md"})
    assert md.headers["content-type"].startswith("text/markdown") and "## 来源" in md.text
    response = client.post("/summaries", json=body | {"format": "docx"})
    assert response.status_code == 200 and "attachment" in response.headers["content-disposition"]
    doc = Document(io.BytesIO(response.content))
    paragraphs = [p.text for p in doc.paragraphs]
    assert paragraphs[0] == "金杨新村街道关于2019年度法治政府建设情况的报告·简报"
    assert any(p.startswith("生成日期") for p in paragraphs) and "来源" in paragraphs
    [table] = doc.tables
    rows = [[cell.text for cell in row.cells] for row in table.rows]
    assert rows[0] == ["指标", "数值", "章节", "出处"]
    assert any(r[1] == "98.3 %" for r in rows[1:])
    assert paragraphs[-1].startswith(f"[{len(client.post('/summaries', json=body).json()['citations'])}]")


def test_the_key_figures_docx_holds_the_whole_table(seed_index: Path, tmp_path: Path, summaries: dict) -> None:
    doc_id = summaries["key_figures"]["reports"][0]["doc_id"]
    out = tmp_path / "figures.docx"
    result = CliRunner().invoke(cli, ["summarize", doc_id, "--index", str(seed_index), "--style", "key_figures",
                                      "--format", "docx", "-o", str(out)])
    assert result.exit_code == 0, result.output
    [table] = Document(str(out)).tables
    cells = {row.cells[1].text for row in table.rows}
    assert set(MUST) <= cells and len(table.rows) == len(summaries["key_figures"]["reports"][0]["key_figures"]) + 1


def test_two_years_get_a_comparison_table(two_year_index: Path) -> None:
    with TestClient(create_app(Settings(index_dir=two_year_index))) as client:
        summary = client.post("/summaries", json={"filters": {"issuer": "金杨新村街道"}, "style": "key_figures"}).json()
        texts = {d["doc_id"]: client.get(f"/documents/{d['doc_id']}/text").json()["text"]
                 for d in client.get("/documents").json()["documents"]}
    comparison = summary["comparison"]
    assert comparison["columns"] == ["2019年", "2020年"]
    by_metric = {r["metric"]: r for r in comparison["rows"]}
    rate = by_metric["调解成功率"]
    assert [c["raw"] for c in rate["cells"]] == ["98.3 %", "98.9 %"]
    assert [c["raw"] for c in by_metric["成功调处各类矛盾纠纷"]["cells"]] == ["987 起", "1012 起"]
    for cell, doc_id in zip(rate["cells"], comparison["doc_ids"]):
        citation = summary["citations"][cell["citation"] - 1]
        assert citation["doc_id"] == doc_id and cell["raw"] in citation["quote"]
    assert "| 调解成功率 | 98.3 %[" in summary["text"]
    assert check_summary(summary["text"], list(texts.values()), []).unsupported == []


@pytest.mark.parametrize("body, status, words", [
    ({"doc_ids": ["nope"]}, 404, "unknown doc_id: nope"),
    ({"filters": {"year": 1999}}, 404, "no indexed report matches"),
    ({"max_chars": 10}, 422, "max_chars"),
    ({"max_chars": 10**6}, 422, "max_chars"),
    ({"style": "poem"}, 422, "style"),
    ({"format": "pdf"}, 422, "format"),
    ({"doc_ids": [], "style": "briefing"}, 422, "doc_ids"),
    ({"doc_ids": ["x"], "filters": {"year": 2019}}, 422, "not both"),
    ({"mode": "llm"}, 400, "LLM endpoint"),
])
def test_bad_summary_requests_are_4xx(client: TestClient, body: dict, status: int, words: str) -> None:
    response = client.post("/summaries", json=body)
    assert response.status_code == status and words in response.json()["detail"]


def test_cli_refuses_bad_input_with_a_message(seed_index: Path) -> None:
    runner = CliRunner()
    bad_style = runner.invoke(cli, ["summarize", "x", "--index", str(seed_index), "--style", "poem"])
    assert bad_style.exit_code == 1 and "style" in bad_style.output
    no_file = runner.invoke(cli, ["summarize", "x", "--index", str(seed_index), "--format", "docx"])
    assert no_file.exit_code == 1 and "-o FILE" in no_file.output
    unknown = runner.invoke(cli, ["summarize", "nope", "--index", str(seed_index)])
    assert unknown.exit_code == 1 and "unknown doc_id: nope" in unknown.output


def test_a_comparison_of_the_most_reports_allowed_exports_to_word(tmp_path: Path, fast_embedding: None) -> None:
    """Twenty reports make a title longer than Word's 255-character property limit (it answered 500)."""
    from ingest.pipeline import ingest_paths
    from service.summary.schemas import MAX_DOCUMENTS

    folder = tmp_path / "reports"
    folder.mkdir()
    streets = [f"{a}{b}家园街道" for a in "东南西北中" for b in "甲乙丙丁"][:MAX_DOCUMENTS]
    for i, street in enumerate(streets):
        (folder / f"r{i}.txt").write_text(f"发布机构 | {street} |\n{street}关于{2001 + i}年度法治政府建设情况的报告\n"
                                          "一、主要做法和成效\n"
                                          f"全年共调解纠纷{100 + i}起,调解成功率为9{i % 10}.5%。\n", encoding="utf-8")
    settings = Settings(index_dir=tmp_path / "index")
    ingest_paths([folder], settings, progress=False)
    with TestClient(create_app(settings)) as client:
        ids = [d["doc_id"] for d in client.get("/documents").json()["documents"]]
        response = client.post("/summaries", json={"doc_ids": ids, "style": "key_figures", "format": "docx"})
        assert response.status_code == 200, response.text
    doc = Document(io.BytesIO(response.content))
    assert all(street in doc.paragraphs[0].text for street in streets)  # the heading keeps the whole title
    title = doc.core_properties.title
    assert len(title) == 255 and title.endswith("…") and doc.paragraphs[0].text.startswith(title[:-1])
    result = CliRunner().invoke(cli, ["summarize", *ids, "--index", str(settings.index_dir), "--format", "docx",
                                      "-o", str(tmp_path / "all.docx")])
    assert result.exit_code == 0, result.output
    assert len(Document(str(tmp_path / "all.docx")).tables) == MAX_DOCUMENTS + 1  # one per report + comparison
