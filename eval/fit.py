"""Fit the figure ranker (service/figure_ranking.py) on gold question sets, and say how well it does on
reports it was not fit on.

    python -m eval.fit --docs DIR --gold FILE [--docs DIR --gold FILE ...] [--out FILE] [--report FILE]

Each --gold is read with the --docs at the same position (a folder given twice is indexed once). Every
figure question's candidates come from the code path /ask runs; a candidate is the one asked for when it
is the gold figure's record, and scored right when the answer /ask gives with it is (the eval's rule).
Two logistic regressions (scikit-learn) are fit: the ranker, over candidates, and the answer model, over
each question's best candidate (its ranker logit and how much of the question stands around it), which
says whether to answer at all. Both are cross-validated by report family:
every question of a report, and of the same office's report of another year (which shares most of its
wording), is scored by models fit without them. The abstention threshold is chosen on those held-out
scores: the most right answers with false refusals <= 5% and abstention on unanswerable >= 90%, or, when
no threshold meets both, the most abstention with false refusals <= 5%. The weights fit on all the data
ship with the threshold, the data they came from, the date and the cross-validated report.
"""

from __future__ import annotations

import argparse
import datetime
import functools
import hashlib
import json
import logging
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import sklearn
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from core.config import Settings, get_settings
from core.embedding import get_embedder
from core.figure_records import FigureRecord
from core.index import open_index
from core.vocabulary import REPORT_NAMED, YEAR
from service.extractive import ANSWER_CHUNKS, missing_report
from service.figure_ranking import (
    ANSWER_FEATURES,
    FEATURES,
    RANKER_PATH,
    FigureCandidate,
    FigureEvidence,
    answer_features,
    answered_figure,
)
from service.question import Question
from service.retrieval import Retriever
from service.wording import question_core

from .gold import GoldQuestion, evidence_span, load_gold
from .runner import broken_gold_rows, build_index
from .scoring import gold_record, score_answer

log = logging.getLogger(__name__)
MAX_FALSE_REFUSALS = 0.05
MIN_ABSTENTION = 0.90
FOLDS = 5
FOREIGN = 40  # questions of other folders' gold asked of each folder of reports
C = 1.0
_YEAR_TAIL = re.compile(r"[_\-]?(?:19|20)\d{2}$")


@dataclass
class Example:
    """One gold figure question: its candidates' features, which of them is right, and its report family."""

    id: str
    gold_set: str
    family: str
    answerable: bool
    features: np.ndarray  # (candidates, FEATURES)
    labels: np.ndarray  # the gold figure's record
    correct: np.ndarray  # scored right by the eval's rule (same value and unit)
    variant: str = ""  # unnamed (its report not named), moved (to years no report covers), foreign (another
    #                    folder's question): trained on, never scored


def family_of(doc_name: str) -> str:
    """A report's family: its file name without the year (fujian_2025.txt and fujian_2026.txt are one)."""
    return _YEAR_TAIL.sub("", Path(doc_name).stem)


def collect(gold: list[GoldQuestion], settings: Settings, index_dir: Path,
            foreign: list[GoldQuestion] | None = None) -> list[Example]:
    """The examples of `gold` over an index of its reports: the figure questions /ask ranks candidates for.

    Two variants of a gold question are trained on, never scored. One whose words name the report
    ("2026年政府工作报告中，2025年…") is asked again without naming it, as officials often do: same
    answer. One that names years is asked again with its years moved past every report of the index
    (2024 -> 2031): no report answers that. The gold sets hold few such questions; these teach the
    ranker what the year asked means beside a report's own year. `foreign` questions, of other
    reports, are asked too, as unanswerable ones, with the places they name that no report here is
    from left out: /ask refuses a question naming only such places before ranking. Asked with them,
    they would look to the answer model like questions naming no place and teach it to refuse those
    (a one-office index's questions name none). Other questions /ask refuses before ranking (a
    report of a year the index lacks) get no candidates."""
    snapshot = open_index(index_dir)
    retriever = Retriever(snapshot, get_embedder(settings))
    evidence = FigureEvidence(retriever)
    broken = {b["id"] for b in broken_gold_rows(gold, snapshot, retriever.documents)}
    by_name = {Path(d.source).name: d.doc_id for d in retriever.documents.values()}
    name_of = {doc_id: name for name, doc_id in by_name.items()}
    latest = max((d.metadata.year or 0 for d in retriever.documents.values()), default=0)

    def ask(text: str | Question, gold_q: GoldQuestion, record: FigureRecord | None, family: str,
            variant: str = "") -> Example:
        """`text` asked of the index; answerable (by `record`, the gold figure's) unless it is moved or foreign."""
        answerable = gold_q.answerable and variant not in ("moved", "foreign")
        asked = retriever.parse(text)  # read once: a Question passes through
        if variant == "foreign" and asked.unknown_places and not asked.place_docs:
            asked = retriever.parse(functools.reduce(lambda t, place: t.replace(place, ""), asked.unknown_places,
                                                     asked.text))
        candidates = [] if missing_report(asked, retriever.documents) else evidence.candidates(
            asked, question_core(asked), retriever.retrieve(asked, max(settings.default_top_k, ANSWER_CHUNKS)))
        right = [answerable and score_answer(gold_q, {"found": True, "figure": dict(zip(
            ("value", "unit"), answered_figure(c.record, asked), strict=True))}).correct for c in candidates]
        labels = [answerable and record is not None
                  and (c.record.doc_id, c.record.char_start) == (record.doc_id, record.char_start) for c in candidates]
        return Example(gold_q.id + (f"-{variant}" if variant else ""), gold_q.gold_set, family, answerable,
                       _matrix(candidates), np.array(labels, dtype=bool), np.array(right, dtype=bool), variant)

    examples = []
    for q in gold:
        if q.id in broken or (q.answerable and q.value is None):
            continue  # a text answer is not ranked among figures
        question = retriever.parse(q.question)
        if not question.asks_for_figure:
            continue
        expected = None
        doc_id = by_name.get(q.doc or "")
        if doc_id and q.evidence:
            span = evidence_span(snapshot.text_of(doc_id), q.evidence)
            expected = gold_record(q, evidence.records_of(doc_id), span) if span else None
        family = family_of(q.doc or next((name_of[d] for d in question.place_docs if d in name_of), q.id))
        examples.append(ask(question, q, expected, family))
        unnamed = REPORT_NAMED.sub("", q.question)
        if q.answerable and question.report_years and YEAR.search(unnamed):
            examples.append(ask(unnamed, q, expected, family, "unnamed"))
        if q.answerable and question.years and latest:
            shift = latest + 2 - min(question.years)
            moved = YEAR.sub(lambda m, by=shift: f"{int(m.group(1)) + by}年", q.question)  # type: ignore[misc]
            examples.append(ask(moved, q, None, family, "moved"))
    for q in foreign or []:
        question = retriever.parse(q.question)
        if question.asks_for_figure:
            examples.append(ask(question, q, None, family_of(q.doc or q.id), "foreign"))
    return examples


def _matrix(candidates: list[FigureCandidate]) -> np.ndarray:
    return np.vstack([c.features for c in candidates]) if candidates else np.zeros((0, len(FEATURES)), np.float32)


def _fit(examples: list[Example]) -> Any:
    """A logistic regression over the candidates; each question weighs the same whatever its candidate count."""
    used = [e for e in examples if len(e.labels)]
    x = np.vstack([e.features for e in used])
    y = np.concatenate([e.labels for e in used])
    weight = np.concatenate([np.full(len(e.labels), 1.0 / len(e.labels)) for e in used])
    model = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=5000))
    model.fit(x, y, logisticregression__sample_weight=weight * len(used))
    return model


def _scores(outcomes: list[tuple[Example, float, bool]], threshold: float) -> dict[str, Any]:
    answerable = [(p, ok) for e, p, ok in outcomes if e.answerable]
    unanswerable = [p for e, p, _ in outcomes if not e.answerable]
    return {
        "n": len(outcomes),
        "answer_accuracy": round(sum(ok and p >= threshold for p, ok in answerable) / len(answerable), 4) if answerable else None,
        "false_refusal_rate": round(sum(p < threshold for p, _ in answerable) / len(answerable), 4) if answerable else None,
        "abstention_accuracy": round(sum(p < threshold for p in unanswerable) / len(unanswerable), 4) if unanswerable else None,
    }


def choose_threshold(outcomes: list[tuple[Example, float, bool]]) -> tuple[float, bool]:
    """(threshold, whether it meets both targets), from held-out outcomes: the most right answers among
    the thresholds meeting both; when none does, false refusals stay within their bound (an official's
    question that has an answer is the product's promise) and abstention is as high as that allows."""
    thresholds = sorted({0.0, *(p for _, p, _ in outcomes)})
    feasible, refusing_within = [], []
    for t in thresholds:
        s = _scores(outcomes, t)
        refusals, abstention = s["false_refusal_rate"], s["abstention_accuracy"]
        if refusals is not None and refusals > MAX_FALSE_REFUSALS:
            continue
        refusing_within.append((abstention or 0.0, s["answer_accuracy"] or 0.0, -t))
        if abstention is None or abstention >= MIN_ABSTENTION:
            feasible.append((s["answer_accuracy"] or 0.0, -t))
    if feasible:
        return -max(feasible)[1], True
    return -max(refusing_within)[2], False


def _answer_rows(examples: list[Example], probabilities: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The answer model's rows: each example with candidates, its best one's features and whether it is right."""
    rows = [answer_features(p, e.features) for e, p in zip(examples, probabilities, strict=True)]
    right = [e.answerable and bool(e.correct[int(np.argmax(p))]) for e, p in zip(examples, probabilities, strict=True)]
    return np.vstack(rows), np.array(right, dtype=bool)


def _fit_answers(x: np.ndarray, y: np.ndarray) -> Any:
    return make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=5000)).fit(x, y)


def _held_out_ranks(examples: list[Example], splits: list[tuple[np.ndarray, np.ndarray]]) -> list[np.ndarray]:
    """Every example's candidate probabilities from a ranker fit without its report family."""
    probabilities: list[np.ndarray] = [np.zeros(0)] * len(examples)
    for train, test in splits:
        model = _fit([examples[i] for i in train])
        for i in test:
            if len(examples[i].labels):
                probabilities[i] = model.predict_proba(examples[i].features)[:, 1]
    return probabilities


def cross_validate(examples: list[Example]) -> tuple[list[tuple[Example, float, bool]], list[list[str]], Any]:
    """Held-out outcomes (example, probability it is answered, best candidate right) of the gold questions,
    both models fit on folds without its report family; the folds' families; the answer model fit on
    every held-out row (what ships beside the ranker fit on everything)."""
    families = np.array([e.family for e in examples])
    splits = list(GroupKFold(n_splits=min(FOLDS, len(set(families)))).split(np.zeros(len(examples)), groups=families))
    probabilities = _held_out_ranks(examples, splits)
    # The answer model learns from the gold questions, their unnamed variants and the foreign questions:
    # the moved ones, one per question, would teach it little beyond "a year no report covers" and drown
    # the rest.
    ranked = [i for i, e in enumerate(examples) if len(e.labels) and e.variant != "moved"]
    x, y = _answer_rows([examples[i] for i in ranked], [probabilities[i] for i in ranked])
    row_of = {i: k for k, i in enumerate(ranked)}
    outcomes: list[tuple[Example, float, bool]] = []
    for train, test in splits:
        rows = [row_of[i] for i in train if i in row_of]
        model = _fit_answers(x[rows], y[rows])
        for i in test:
            e = examples[i]
            if e.variant:
                continue
            if i not in row_of:
                outcomes.append((e, 0.0, False))
                continue
            p = float(model.predict_proba(x[row_of[i]].reshape(1, -1))[0, 1])
            outcomes.append((e, p, bool(e.correct[int(np.argmax(probabilities[i]))])))
    folds = [sorted(set(families[test])) for _, test in splits]
    return outcomes, folds, _fit_answers(x, y)


def collect_all(pairs: list[tuple[Path, Path]], settings: Settings) -> list[Example]:
    """The examples of every (docs, gold) pair; a folder of reports is indexed once. Each folder is also
    asked up to FOREIGN questions of the other folders' gold (answered by none of its reports, and often
    sharing none of their words): what a question about something else entirely looks like."""
    indexes: dict[Path, Path] = {}
    gold = {gold_path: load_gold(gold_path) for _, gold_path in pairs}
    examples: list[Example] = []
    for docs, gold_path in pairs:
        first = docs not in indexes
        if first:
            indexes[docs] = build_index(docs, settings)
        others = [q for d, g in pairs if d != docs for q in gold[g] if q.answerable]
        foreign = others[:: max(1, len(others) // FOREIGN)][:FOREIGN] if first else []
        examples += collect(gold[gold_path], settings, indexes[docs], foreign)
    return examples


def fit_ranker(examples: list[Example], pairs: list[tuple[Path, Path]], settings: Settings) -> dict[str, Any]:
    """The weights document: the model fit on every example, its threshold and its cross-validated report."""
    outcomes, folds, answers = cross_validate(examples)
    threshold, feasible = choose_threshold(outcomes)
    by_fold = []
    for families in folds:
        held = [o for o in outcomes if o[0].family in families]
        by_fold.append({"families": families, **_scores(held, threshold)})
    sets = list(dict.fromkeys(e.gold_set for e in examples))
    real = [e for e in examples if not e.variant]
    return {
        "features": list(FEATURES),
        **_weights(_fit(examples)),
        "answer": {"features": list(ANSWER_FEATURES), **_weights(answers)},
        "threshold": threshold,
        "fitted": {
            "date": datetime.date.today().isoformat(),
            "model": f"two LogisticRegression(C={C}): ranker and answer model (stacked on held-out ranks), "
                     f"scikit-learn {sklearn.__version__}",
            "embedding_model": settings.embedding_model,
            "data": [{"docs": str(d), "gold": str(g), "sha256": hashlib.sha256(g.read_bytes()).hexdigest()}
                     for d, g in pairs],
            "n_questions": len(real),
            "n_variants": len(examples) - len(real),
            "n_candidates": int(sum(len(e.labels) for e in examples)),
        },
        "cross_validation": {
            "grouping": "report family (a report and the same office's report of another year), GroupKFold",
            "threshold_meets_targets": feasible,
            "overall": _scores(outcomes, threshold),
            "by_set": {s: _scores([o for o in outcomes if o[0].gold_set == s], threshold) for s in sets},
            "by_fold": by_fold,
        },
    }


def _weights(model: Any) -> dict[str, Any]:
    scaler, regression = model[0], model[-1]
    return {"mean": scaler.mean_.tolist(), "scale": scaler.scale_.tolist(), "coef": regression.coef_[0].tolist(),
            "intercept": float(regression.intercept_[0])}


def report_markdown(weights: dict[str, Any]) -> str:
    """The cross-validated report as a Markdown table: per question set, then per fold."""
    cv = weights["cross_validation"]
    lines = [f"# Figure ranker, cross-validated by {cv['grouping']}", "",
             f"threshold {weights['threshold']:.3f} (meets both targets: {cv['threshold_meets_targets']}); "
             f"{weights['fitted']['n_questions']} questions (and {weights['fitted']['n_variants']} variants, trained on "
             f"only), {weights['fitted']['n_candidates']} candidates", "",
             "| held out | questions | answer accuracy | false refusals | abstention |", "|---|---|---|---|---|"]
    rows = [(name, s) for name, s in cv["by_set"].items()] + [("all", cv["overall"])]
    rows += [(", ".join(f["families"]), f) for f in cv["by_fold"]]
    for name, s in rows:
        lines.append(f"| {name} | {s['n']} | {s['answer_accuracy']} | {s['false_refusal_rate']} | {s['abstention_accuracy']} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.fit", description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=Path, action="append", required=True, help="a folder of reports")
    parser.add_argument("--gold", type=Path, action="append", required=True, help="its gold questions (.jsonl)")
    parser.add_argument("--out", type=Path, default=RANKER_PATH, help="where the weights go")
    parser.add_argument("--report", type=Path, help="also write the cross-validated report (Markdown) here")
    args = parser.parse_args(argv)
    if len(args.docs) != len(args.gold):
        parser.error("give one --docs for each --gold, in the same order")
    missing = [str(p) for p in [*args.docs, *args.gold] if not p.exists()]
    if missing:
        parser.error(f"not found: {', '.join(missing)}")
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    pairs = list(zip(args.docs, args.gold, strict=True))
    settings = get_settings()
    weights = fit_ranker(collect_all(pairs, settings), pairs, settings)
    args.out.write_text(json.dumps(weights, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    report = report_markdown(weights)
    if args.report:
        args.report.write_text(report, encoding="utf-8")
    sys.stdout.write(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
