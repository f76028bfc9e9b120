"""Fit the figure ranker (service/figure_ranking.py) on gold question sets, and say how well it does on
reports it was not fit on.

    python -m eval.fit --docs DIR --gold FILE [--docs DIR --gold FILE ...] [--out FILE] [--report FILE]

Each --gold is read with the --docs at the same position (a folder given twice is indexed once). Every
figure question's candidates come from the code path /ask runs; a candidate is right when it is the
gold figure's record. A logistic regression (scikit-learn) is cross-validated by report family: every
question of a report, and of the same office's report of another year (which shares most of its
wording), is scored by a model fit without them. The abstention threshold is chosen on those held-out
scores: the most right answers with false refusals <= 5% and abstention on unanswerable >= 90%, or, when
no threshold meets both, the most questions handled right. The weights fit on all the data ship with
the threshold, the data they came from, the date and the cross-validated report.
"""

from __future__ import annotations

import argparse
import datetime
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
from core.index import open_index
from service.extractive import ANSWER_CHUNKS
from service.figure_ranking import FEATURES, RANKER_PATH, FigureEvidence
from service.retrieval import Retriever
from service.wording import question_core

from .gold import GoldQuestion, evidence_span, load_gold
from .runner import broken_gold_rows, build_index
from .scoring import gold_record, score_answer

log = logging.getLogger(__name__)
MAX_FALSE_REFUSALS = 0.05
MIN_ABSTENTION = 0.90
FOLDS = 5
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


def family_of(doc_name: str) -> str:
    """A report's family: its file name without the year (fujian_2025.txt and fujian_2026.txt are one)."""
    return _YEAR_TAIL.sub("", Path(doc_name).stem)


def collect(gold: list[GoldQuestion], settings: Settings, index_dir: Path) -> list[Example]:
    """The examples of `gold` over an index of `docs`: the figure questions /ask would rank candidates for."""
    snapshot = open_index(index_dir)
    retriever = Retriever(snapshot, get_embedder(settings))
    evidence = FigureEvidence(retriever)
    broken = {b["id"] for b in broken_gold_rows(gold, snapshot, retriever.documents)}
    by_name = {Path(d.source).name: d.doc_id for d in retriever.documents.values()}
    name_of = {doc_id: name for name, doc_id in by_name.items()}
    examples = []
    for q in gold:
        if q.id in broken or (q.answerable and q.value is None):
            continue  # a text answer is not ranked among figures
        question = retriever.parse(q.question)
        if not question.asks_for_figure:
            continue
        hits = retriever.retrieve(question, max(settings.default_top_k, ANSWER_CHUNKS))
        candidates = evidence.candidates(question, question_core(question), hits)
        expected = None
        doc_id = by_name.get(q.doc or "")
        if doc_id and q.evidence:
            span = evidence_span(snapshot.text_of(doc_id), q.evidence)
            expected = gold_record(q, evidence.records_of(doc_id), span) if span else None
        labels = np.array([expected is not None and c.record.doc_id == expected.doc_id
                           and c.record.char_start == expected.char_start for c in candidates], dtype=bool)
        correct = np.array([score_answer(q, {"found": True, "figure": {
            "value": c.record.sign * c.record.value, "unit": c.record.scale_unit}}).correct for c in candidates], dtype=bool)
        where = q.doc or next((name_of[d] for d in question.place_docs if d in name_of), q.id)
        features = np.vstack([c.features for c in candidates]) if candidates else np.zeros((0, len(FEATURES)), np.float32)
        examples.append(Example(q.id, q.gold_set, family_of(where), q.answerable, features, labels, correct))
    return examples


def _fit(examples: list[Example]) -> Any:
    """A logistic regression over the candidates; each question weighs the same whatever its candidate count."""
    used = [e for e in examples if len(e.labels)]
    x = np.vstack([e.features for e in used])
    y = np.concatenate([e.labels for e in used])
    weight = np.concatenate([np.full(len(e.labels), 1.0 / len(e.labels)) for e in used])
    model = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=5000))
    model.fit(x, y, logisticregression__sample_weight=weight * len(used))
    return model


def _best(model: Any, example: Example) -> tuple[float, bool]:
    """(probability, right) of the candidate the model ranks first; (0, False) without candidates."""
    if not len(example.labels):
        return 0.0, False
    probabilities = model.predict_proba(example.features)[:, 1]
    k = int(np.argmax(probabilities))
    return float(probabilities[k]), bool(example.correct[k])


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
    """(threshold, whether it meets both targets), from held-out outcomes (see the module's docstring)."""
    candidates = sorted({0.0, *(p for _, p, _ in outcomes)})
    feasible, fallback = [], []
    for t in candidates:
        s = _scores(outcomes, t)
        right = sum(ok and p >= t if e.answerable else p < t for e, p, ok in outcomes)
        fallback.append((right, -t))
        refusals, abstention = s["false_refusal_rate"], s["abstention_accuracy"]
        if (refusals is None or refusals <= MAX_FALSE_REFUSALS) and (abstention is None or abstention >= MIN_ABSTENTION):
            feasible.append((s["answer_accuracy"] or 0.0, -t))
    if feasible:
        return -max(feasible)[1], True
    return -max(fallback)[1], False


def cross_validate(examples: list[Example]) -> tuple[list[tuple[Example, float, bool]], list[list[str]]]:
    """Held-out outcomes of every example, fit on folds without its report family, and the folds' families."""
    families = np.array([e.family for e in examples])
    n_folds = min(FOLDS, len(set(families)))
    outcomes: list[tuple[Example, float, bool] | None] = [None] * len(examples)
    folds = []
    for train, test in GroupKFold(n_splits=n_folds).split(np.zeros(len(examples)), groups=families):
        model = _fit([examples[i] for i in train])
        for i in test:
            outcomes[i] = (examples[i], *_best(model, examples[i]))
        folds.append(sorted(set(families[test])))
    return [o for o in outcomes if o is not None], folds


def collect_all(pairs: list[tuple[Path, Path]], settings: Settings) -> list[Example]:
    """The examples of every (docs, gold) pair; a folder of reports is indexed once."""
    indexes: dict[Path, Path] = {}
    examples: list[Example] = []
    for docs, gold_path in pairs:
        if docs not in indexes:
            indexes[docs] = build_index(docs, settings)
        examples += collect(load_gold(gold_path), settings, indexes[docs])
    return examples


def fit_ranker(examples: list[Example], pairs: list[tuple[Path, Path]], settings: Settings) -> dict[str, Any]:
    """The weights document: the model fit on every example, its threshold and its cross-validated report."""
    outcomes, folds = cross_validate(examples)
    threshold, feasible = choose_threshold(outcomes)
    by_fold = []
    for families in folds:
        held = [o for o in outcomes if o[0].family in families]
        by_fold.append({"families": families, **_scores(held, threshold)})
    sets = list(dict.fromkeys(e.gold_set for e in examples))
    model = _fit(examples)
    scaler, regression = model[0], model[-1]
    return {
        "features": list(FEATURES),
        "mean": scaler.mean_.tolist(),
        "scale": scaler.scale_.tolist(),
        "coef": regression.coef_[0].tolist(),
        "intercept": float(regression.intercept_[0]),
        "threshold": threshold,
        "fitted": {
            "date": datetime.date.today().isoformat(),
            "model": f"LogisticRegression(C={C}), scikit-learn {sklearn.__version__}",
            "embedding_model": settings.embedding_model,
            "data": [{"docs": str(d), "gold": str(g), "sha256": hashlib.sha256(g.read_bytes()).hexdigest()}
                     for d, g in pairs],
            "n_questions": len(examples),
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


def report_markdown(weights: dict[str, Any]) -> str:
    """The cross-validated report as a Markdown table: per question set, then per fold."""
    cv = weights["cross_validation"]
    lines = [f"# Figure ranker, cross-validated by {cv['grouping']}", "",
             f"threshold {weights['threshold']:.3f} (meets both targets: {cv['threshold_meets_targets']}); "
             f"{weights['fitted']['n_questions']} questions, {weights['fitted']['n_candidates']} candidates", "",
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
