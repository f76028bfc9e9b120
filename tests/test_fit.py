"""Fitting the figure ranker: `python -m eval.fit` over reports and gold questions of our own writes a
weights file with its provenance and a cross-validated report by report family, and the service
answers with it; weights it cannot read are refused with a message naming the file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_figure_answers import REPORT_2025, REPORT_2026

from core.config import Settings
from eval.fit import collect, main
from eval.gold import load_gold
from eval.runner import build_index
from service.engine import Engine
from service.figure_ranking import ANSWER_FEATURES, FEATURES, FigureRanker

QUESTIONS = [
    ("a1", "yunling_2025.txt", "云岭市2024年粮食总产量达到多少？", "92.6万吨", 92.6, "万吨", "粮食总产量达到92.6万吨"),
    ("a2", "yunling_2025.txt", "云岭市2025年城镇新增就业目标是多少？", "3万人以上", 3, "万人", "城镇新增就业3万人以上"),
    ("a3", "yunling_2026.txt", "云岭市2025年建成保障性住房多少套？", "5200套", 5200, "套", "建成保障性住房5200套"),
    ("a4", "yunling_2026.txt", "云岭市2025年新改建农村公路多少公里？", "1180公里", 1180, "公里", "新改建农村公路1180公里"),
    ("a5", "yunling_2026.txt", "云岭市2026年一般公共预算收入预期增长多少？", "4.5%", 4.5, "%", "一般公共预算收入增长4.5%"),
    ("b1", "beiling_2025.txt", "北岭市2024年粮食总产量达到多少？", "61.2万吨", 61.2, "万吨", "粮食总产量达到61.2万吨"),
    ("b2", "beiling_2025.txt", "北岭市2024年建成保障性住房多少套？", "3100套", 3100, "套", "建成保障性住房3100套"),
    ("n1", None, "北岭市2024年全市常住人口有多少万人？", None, None, None, None),
]


@pytest.fixture
def corpus(tmp_path: Path) -> tuple[Path, Path]:
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "yunling_2025.txt").write_text(REPORT_2025, encoding="utf-8")
    (reports / "yunling_2026.txt").write_text(REPORT_2026, encoding="utf-8")
    (reports / "beiling_2025.txt").write_text(
        REPORT_2025.replace("云岭", "北岭").replace("92.6万吨", "61.2万吨").replace("4800套", "3100套"), encoding="utf-8")
    gold = tmp_path / "gold.jsonl"
    gold.write_text("".join(json.dumps(dict(zip(("id", "doc", "question", "answer", "value", "unit", "evidence"), row,
                                                strict=True)), ensure_ascii=False) + "\n" for row in QUESTIONS),
                    encoding="utf-8")
    return reports, gold


def test_fit_writes_weights_with_provenance_and_a_report_by_family(corpus: tuple[Path, Path], tmp_path: Path,
                                                                   fast_embedding: None) -> None:
    reports, gold = corpus
    out, report = tmp_path / "ranker.json", tmp_path / "cv.md"
    assert main(["--docs", str(reports), "--gold", str(gold), "--out", str(out), "--report", str(report)]) == 0
    weights = json.loads(out.read_text(encoding="utf-8"))
    assert weights["features"] == list(FEATURES) and weights["answer"]["features"] == list(ANSWER_FEATURES)
    assert len(weights["coef"]) == len(FEATURES) and 0.0 <= weights["threshold"] <= 1.0
    fitted = weights["fitted"]
    assert fitted["n_questions"] == len(QUESTIONS) and fitted["data"][0]["gold"] == str(gold)
    assert len(fitted["data"][0]["sha256"]) == 64 and fitted["date"]
    folds = weights["cross_validation"]["by_fold"]
    families = [f for fold in folds for f in fold["families"]]
    assert {"beiling", "yunling"} <= set(families) and len(families) == len(set(families))  # 2025 and 2026 together
    assert "| gold |" in report.read_text(encoding="utf-8")

    engine = Engine.open(Settings(index_dir=tmp_path / "index", figure_ranker=out))
    assert engine.index.ranker.threshold == weights["threshold"]


def test_unreadable_weights_are_refused_with_their_path(tmp_path: Path) -> None:
    broken = tmp_path / "ranker.json"
    broken.write_text("{not json", encoding="utf-8")
    with pytest.raises(ValueError, match="ranker.json"):
        FigureRanker.load(broken)
    with pytest.raises(ValueError, match="missing.json"):
        FigureRanker.load(tmp_path / "missing.json")


def test_fit_refuses_unpaired_arguments(corpus: tuple[Path, Path]) -> None:
    reports, gold = corpus
    with pytest.raises(SystemExit):
        main(["--docs", str(reports), "--gold", str(gold), "--gold", str(gold)])


def test_a_statement_that_none_occurred_is_scored_as_the_service_answers_it(tmp_path: Path,
                                                                          fast_embedding: None) -> None:
    """未发生行政诉讼案件 answers 发生了多少起 with zero in the unit asked, 起: the fit scores that
    candidate right, as the eval scores the answer, or the answer model learns to refuse it."""
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "baishui_2025.txt").write_text(
        "白水镇2025年法治政府建设情况报告\n全年未发生行政诉讼案件，办理行政复议案件6件。\n", encoding="utf-8")
    gold = tmp_path / "gold.jsonl"
    gold.write_text(json.dumps({"id": "z1", "doc": "baishui_2025.txt", "question": "白水镇2025年发生了多少起行政诉讼案件？",
                                "answer": "未发生", "value": 0, "unit": "起", "evidence": "未发生行政诉讼案件"},
                               ensure_ascii=False) + "\n", encoding="utf-8")
    settings = Settings(index_dir=tmp_path / "unused")
    asked = [e for e in collect(load_gold(gold), settings, build_index(reports, settings)) if not e.variant]
    assert len(asked) == 1 and asked[0].labels.sum() == 1
    assert asked[0].correct[asked[0].labels].all()


def test_questions_are_asked_of_the_ranker_as_ask_would_rank_them(corpus: tuple[Path, Path], tmp_path: Path,
                                                                   fast_embedding: None) -> None:
    """/ask refuses a question naming only a place no report is from before ranking: another folder's
    question is asked of the ranker without that place, as a question naming none (those of a one-office
    index name none). One naming a report of a year the index lacks, which /ask refuses too, gets no
    candidates."""
    reports, _ = corpus
    rows = [{"id": "f1", "doc": "hunan_2025.txt", "question": "湖南省2024年粮食总产量达到多少？", "answer": "70.1万吨",
             "value": 70.1, "unit": "万吨", "evidence": "粮食总产量达到70.1万吨"},
            {"id": "p1", "doc": None, "question": "2024年粮食总产量达到多少？", "answer": None},
            {"id": "m1", "doc": None, "question": "云岭市2030年政府工作报告中，2029年粮食总产量达到多少？", "answer": None}]
    gold = tmp_path / "questions.jsonl"
    gold.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    settings = Settings(index_dir=tmp_path / "unused")
    foreign, placeless, missing = load_gold(gold)
    examples = collect([placeless, missing], settings, build_index(reports, settings), [foreign])
    by_id = {e.id: e for e in examples}
    asked_foreign, asked_placeless = by_id["f1-foreign"], by_id["p1"]
    assert len(asked_placeless.labels) > 0 and not asked_foreign.answerable
    assert (asked_foreign.features == asked_placeless.features).all()
    assert len(by_id["m1"].labels) == 0
