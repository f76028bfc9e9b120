"""The eval's scorer on hand-made cases, the faithfulness check, and the eval gate on the seed gold."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, SEED
from test_cli import _run

from core.config import Settings
from core.index import open_index
from eval.faithfulness import check_summary
from eval.gold import GoldQuestion, load_gold, load_gold_sets
from eval.runner import run_eval
from eval.scoring import answered_record, citation_hits, gold_record, normalize_figure, score_answer, unsupported_in
from ingest.pipeline import ingest_paths

GOLD_FILE = ROOT / "eval" / "gold" / "gold_seed.jsonl"
RATE = GoldQuestion("g1", "a.txt", "调解成功率是多少?", "98.3 %", 98.3, "%", "调解成功率 98.3 %")
MONEY = GoldQuestion("g2", "a.txt", "标的金额多少以上?", "20 万", 200000, "元", "标的金额 20 万以上")
NONE = GoldQuestion("g3", None, "财政收入是多少?", None, None, None, None)
NEGATIVE = GoldQuestion("g4", "a.txt", "发生了多少起行政诉讼?", "未发生", 0, "起", "未发生行政诉讼")


def _answer(value: float | None, unit: str = "", found: bool = True, quote: str = "", doc: str = "d1",
            span: tuple[int, int] = (0, 10)) -> dict:
    figure = {"value": value, "unit": unit, "raw": f"{value}{unit}"} if value is not None else None
    citations = [{"doc_id": doc, "char_start": span[0], "char_end": span[1], "quote": quote, "title": "报告"}]
    return {"found": found, "answer": figure["raw"] if figure else None, "text": "", "figure": figure,
            "citations": citations if found else []}


def test_right_answers_match_after_normalisation() -> None:
    assert score_answer(RATE, _answer(98.3, "%")).correct
    assert score_answer(MONEY, _answer(20, "万元")).correct
    assert score_answer(MONEY, _answer(200000, "元")).correct
    assert score_answer(NEGATIVE, _answer(0, "起")).correct
    assert normalize_figure(11.34, "万件") == (113400.0, "件")


def test_wrong_unit_wrong_value_refusal_and_false_answer_are_told_apart() -> None:
    assert score_answer(RATE, _answer(98.3, "起")).reason == "wrong_unit"
    assert score_answer(RATE, _answer(97.1, "%")).reason == "wrong_value"
    assert score_answer(RATE, _answer(None, found=False)).reason == "false_refusal"
    assert score_answer(NONE, _answer(None, found=False)).correct
    assert score_answer(NONE, _answer(1, "元")).reason == "false_answer"


def test_a_right_answer_cited_from_the_wrong_document_is_no_citation_hit() -> None:
    answer = _answer(98.3, "%", quote="调解成功率 98.3 %", doc="other", span=(100, 115))
    assert score_answer(RATE, answer).correct
    assert not citation_hits(answer, "d1", (100, 115))
    assert citation_hits({**answer, "citations": [{**answer["citations"][0], "doc_id": "d1"}]}, "d1", (100, 115))


# A city report of our own: last year's actual, the year before's, and last year's target, of one metric.
CITY_REPORT = """东川市2026年政府工作报告

一、2025年工作回顾
2025年全市新建保障性住房3800套。2024年全市新建保障性住房3200套。

二、目标完成情况
2025年初确定的目标是新建保障性住房4000套。
"""
HOUSING = GoldQuestion("h1", "dongchuan_2026.txt", "东川市2025年新建保障性住房多少套?", "3800套", 3800, "套",
                       "2025年全市新建保障性住房3800套")


@pytest.mark.usefixtures("fast_embedding")
@pytest.mark.parametrize(("said", "reason"), [("3800套", "ok"), ("3200套", "wrong_period"), ("4000套", "wrong_kind")])
def test_a_wrong_figure_names_the_period_or_kind_its_record_differs_in(tmp_path: Path, said: str, reason: str) -> None:
    folder = tmp_path / "reports"
    folder.mkdir()
    (folder / "dongchuan_2026.txt").write_text(CITY_REPORT, encoding="utf-8")
    settings = Settings(index_dir=tmp_path / "index")
    doc_id = ingest_paths([folder], settings, progress=False).outcomes[0].doc_id or ""
    snap = open_index(settings.index_dir)
    try:
        text, records = snap.text_of(doc_id), snap.figures(doc_id)
    finally:
        snap.close()
    at = text.find(said)
    start, end = max(text.rfind("。", 0, at), text.rfind("\n", 0, at)) + 1, text.find("。", at) + 1  # its sentence
    answer = _answer(float(said[:-1]), "套", quote=text[start:end], doc=doc_id, span=(start, end))
    answer["figure"]["raw"] = said
    evidence = (text.find(HOUSING.evidence or ""), text.find(HOUSING.evidence or "") + len(HOUSING.evidence or ""))
    expected = gold_record(HOUSING, records, evidence)
    assert expected is not None and (expected.period, expected.kind) == ("2025", "actual")
    answered = answered_record(answer, lambda _: records)
    assert score_answer(HOUSING, answer, (answered, expected)).reason == reason
    assert score_answer(HOUSING, answer).reason == ("ok" if reason == "ok" else "wrong_value")  # no records: as before


def test_unsupported_numbers_are_counted() -> None:
    assert unsupported_in(_answer(98.3, "%", quote="调解成功率 98.3 %")) == []
    assert unsupported_in(_answer(99.0, "%", quote="调解成功率 98.3 %")) == ["99.0%"]


def test_broken_gold_rows_are_reported_not_scored(tmp_path: Path) -> None:
    rows = [json.loads(line) for line in GOLD_FILE.read_text(encoding="utf-8").splitlines()][:3]
    rows[1]["evidence"] = "这句话不在报告里"
    rows[2]["doc"] = "missing.txt"
    gold = tmp_path / "gold.jsonl"
    gold.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / SEED.name).write_bytes(SEED.read_bytes())
    summary, results, _ = run_eval(docs, gold, Settings(index_dir=tmp_path / "unused"))
    assert [b["id"] for b in summary["broken_gold"]] == [rows[1]["id"], rows[2]["id"]]
    assert [r.id for r in results] == [rows[0]["id"]] and summary["answer_accuracy"] == 1.0


def test_summary_faithfulness_finds_invented_figures_and_covered_gold(seed_text: str) -> None:
    gold = load_gold(GOLD_FILE)
    faithful = check_summary("2019年成功调处矛盾纠纷987起,调解成功率98.3%。", [seed_text], gold)
    assert faithful.faithful and {"s001", "s002"} <= set(faithful.covered) and "s003" in faithful.missed
    invented = check_summary("调解成功率达99.9%,处罚金26万元。", [seed_text], gold)
    assert not invented.faithful and invented.unsupported == ["99.9%", "26万元"]


def test_seed_gold_stays_above_todays_figures(seed_index: Path) -> None:
    """The regression gate: thresholds just under what the seed gold measures today."""
    summary, results, _ = run_eval(ROOT / "data" / "samples", GOLD_FILE, Settings(index_dir=seed_index), seed_index)
    misses = [(r.id, r.reason) for r in results if not r.correct]
    assert summary["answer_accuracy"] >= 0.93, misses
    assert summary["citation_accuracy"] >= 0.93, misses
    assert summary["evidence_hit_at_5"] >= 0.96
    assert summary["abstention_accuracy"] >= 0.99
    assert summary["false_refusal_rate"] <= 0.04
    assert summary["unsupported_numbers"] == 0


def test_eval_command_writes_its_outputs_and_gates_on_accuracy(tmp_path: Path, seed_index: Path) -> None:
    """The first run builds its own index over --docs; the failing gate reads the session's seed index."""
    reportqa = str(Path(sys.executable).parent / "reportqa")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}  # this checkout's code
    args = [reportqa, "eval", "--docs", "data/samples", "--gold", str(GOLD_FILE), "--out", str(tmp_path / "out"), "--json"]
    done = subprocess.run([*args, "--min-accuracy", "0.9"], capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["n_questions"] == 34 and summary["answer_accuracy"] >= 0.93
    for name in ("results.jsonl", "summary.json", "report.md", "latency.png"):
        assert (tmp_path / "out" / name).stat().st_size > 0
    assert "| answer accuracy |" in (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    failing = subprocess.run([*args, "--index", str(seed_index), "--min-accuracy", "1.01"], capture_output=True, text=True,
                             env=env, cwd=ROOT, timeout=300)
    assert failing.returncode == 1 and "below --min-accuracy" in failing.stderr


@pytest.mark.parametrize("bad", [["--docs", "nope"], ["--gold", "nope.jsonl"]])
def test_eval_command_names_a_bad_path(bad: list[str]) -> None:
    args = {"--docs": "data/samples", "--gold": str(GOLD_FILE)}
    args[bad[0]] = bad[1]
    reportqa = str(Path(sys.executable).parent / "reportqa")
    done = subprocess.run([reportqa, "eval", *[x for kv in args.items() for x in kv]], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    assert done.returncode == 1 and "nope" in done.stderr


def test_eval_of_two_gold_files_gives_each_set_its_answer_scores_beside_the_overall(tmp_path: Path, seed_index: Path) -> None:
    """Questions of our own on the seed report: one file asks as the report words it, the other adds one no report answers."""
    sets = {
        "plain": [{"id": "p1", "doc": SEED.name, "question": "2019年金杨新村街道修订完善了多少项办事处制度?", "answer": "26 项",
                   "value": 26, "unit": "项", "evidence": "26 项办事处制度"}],
        "other": [{"id": "o1", "doc": SEED.name, "question": "金杨新村街道2019年新增了几项制度?", "answer": "13 项",
                   "value": 13, "unit": "项", "evidence": "13 项制度"},
                  {"id": "o2", "doc": None, "question": "金杨新村街道2019年的一般公共预算收入是多少亿元?", "answer": None,
                   "value": None, "unit": None, "evidence": None}],
    }
    args = ["eval", "--docs", "data/samples", "--index", str(seed_index), "--out", str(tmp_path / "out")]
    for name, rows in sets.items():
        (tmp_path / f"{name}.jsonl").write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
        args += ["--gold", str(tmp_path / f"{name}.jsonl")]
    done = _run(*args)
    assert done.returncode == 0, done.stderr
    summary = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    by_set = summary["by_set"]
    assert list(by_set) == ["plain", "other"] and summary["n_questions"] == 3
    assert (by_set["plain"]["n_questions"], by_set["other"]["n_questions"], by_set["other"]["n_answerable"]) == (1, 2, 1)
    assert by_set["other"]["abstention_accuracy"] == summary["abstention_accuracy"]
    results = [json.loads(line) for line in (tmp_path / "out" / "results.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [(r["id"], r["gold_set"]) for r in results] == [("p1", "plain"), ("o1", "other"), ("o2", "other")]
    assert "set plain (1): answer accuracy" in done.stdout and "set other (2):" in done.stdout
    report = (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    assert "## By question set" in report and "| plain | 1 |" in report and "| other | 2 |" in report


def test_two_gold_files_may_not_share_an_id(tmp_path: Path) -> None:
    row = json.dumps({"id": "x1", "doc": None, "question": "问", "answer": None}, ensure_ascii=False)
    for name in ("a", "b"):
        (tmp_path / f"{name}.jsonl").write_text(row, encoding="utf-8")
    with pytest.raises(ValueError, match="x1"):
        load_gold_sets([tmp_path / "a.jsonl", tmp_path / "b.jsonl"])
