"""Eval outputs: results.jsonl, summary.json, and a readable report.md with a latency chart."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from .runner import QuestionResult

SUMMARY_ROWS = [
    ("answer_accuracy", "answer accuracy"),
    ("citation_accuracy", "citation accuracy"),
    ("evidence_hit_at_1", "evidence hit@1"),
    ("evidence_hit_at_5", "evidence hit@5"),
    ("mrr", "MRR"),
    ("abstention_accuracy", "abstention (unanswerable refused)"),
    ("false_refusal_rate", "false refusals (answerable refused)"),
    ("unsupported_numbers", "unsupported numbers"),
    ("latency_p50_ms", "latency p50 (ms)"),
    ("latency_p95_ms", "latency p95 (ms)"),
]
SET_ROWS = [  # the scores summary["by_set"] gives each question set
    ("answer_accuracy", "answer accuracy"),
    ("abstention_accuracy", "abstention"),
    ("false_refusal_rate", "false refusals"),
]


def write_outputs(out: Path, summary: dict[str, Any], results: list[QuestionResult], title: str) -> None:
    """Write the three outputs (and latency.png) into `out`."""
    out.mkdir(parents=True, exist_ok=True)
    with (out / "results.jsonl").open("w", encoding="utf-8") as fh:
        for r in results:
            fh.write(json.dumps(asdict(r), ensure_ascii=False) + "\n")
    (out / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8")
    _latency_chart(out / "latency.png", results)
    (out / "report.md").write_text(render_report(summary, results, title), encoding="utf-8")


def _latency_chart(path: Path, results: list[QuestionResult]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 2.5), dpi=100)
    ax.hist([r.latency_ms for r in results], bins=20, color="#3b6ea8")
    ax.set_xlabel("latency per question (ms)")
    ax.set_ylabel("questions")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _fmt(value: Any) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def render_report(summary: dict[str, Any], results: list[QuestionResult], title: str) -> str:
    lines = [f"# Eval: {title}", "", f"{summary['n_questions']} questions ({summary['n_answerable']} answerable), "
             f"{summary['n_broken_gold']} broken gold rows.", ""]
    baselines = summary.get("baselines") or {}
    header = "| metric | reportqa |" + "".join(f" {name} |" for name in baselines)
    lines += [header, "|---|---|" + "---|" * len(baselines)]
    for key, label in SUMMARY_ROWS:
        row = f"| {label} | {_fmt(summary[key])} |"
        row += "".join(f" {_fmt(b[key]) if key in b else '–'} |" for b in baselines.values())
        lines.append(row)
    if "by_set" in summary:
        lines += ["", "## By question set", "", "| set | questions |" + "".join(f" {label} |" for _, label in SET_ROWS),
                  "|---|---|" + "---|" * len(SET_ROWS)]
        for name, scores in summary["by_set"].items():
            lines.append(f"| {name} | {scores['n_questions']} |" + "".join(f" {_fmt(scores[k])} |" for k, _ in SET_ROWS))
    lines += ["", "![latency](latency.png)", ""]
    if summary["broken_gold"]:
        lines += ["## Broken gold rows", ""] + [f"- {b['id']}: {b['why']}" for b in summary["broken_gold"]] + [""]
    lines += ["## Per question", "", "| id | ok | reason | rank | gold | answer | question |", "|---|---|---|---|---|---|---|"]
    for r in results:
        lines.append(f"| {r.id} | {'✔' if r.correct else '✘'} | {r.reason} | {r.evidence_rank or '–'} | "
                     f"{r.gold or '(none)'} | {r.answer or '(not found)'} | {r.question} |")
    misses = [r for r in results if not r.correct]
    lines += ["", "## Misses with their passages", ""]
    if not misses:
        lines.append("None.")
    for r in misses[:10]:
        lines += [f"### {r.id} ({r.reason})", "", f"Q: {r.question}", f"Gold: {r.gold} · Answer: {r.answer}", ""]
        lines += [f"> {c['quote']}" for c in r.citations[:2]] or ["> (no citation)"]
        lines.append("")
    return "\n".join(lines) + "\n"
