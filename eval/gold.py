"""Gold question files: one JSON object a line, as documented in eval/README.md."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class GoldQuestion:
    """A question with its known answer; `answer is None` marks one no report answers."""

    id: str
    doc: str | None
    question: str
    answer: str | None
    value: float | None
    unit: str | None
    evidence: str | None
    gold_set: str = ""  # the file it came from (its stem), so accuracy can be told per question set

    @property
    def answerable(self) -> bool:
        return self.answer is not None


def load_gold(path: Path) -> list[GoldQuestion]:
    """Read a gold .jsonl file (blank lines ignored)."""
    rows: list[GoldQuestion] = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        data: dict[str, Any] = json.loads(line)
        try:
            rows.append(
                GoldQuestion(
                    id=str(data["id"]),
                    doc=data.get("doc"),
                    question=data["question"],
                    answer=data.get("answer"),
                    value=data.get("value"),
                    unit=data.get("unit"),
                    evidence=data.get("evidence"),
                    gold_set=path.stem,
                )
            )
        except KeyError as exc:
            raise ValueError(f"{path}:{n}: gold row lacks {exc}") from exc
    return rows


def load_gold_sets(paths: list[Path]) -> list[GoldQuestion]:
    """Read several gold files as one run; an id two of them share would mix their results, so it is refused."""
    rows = [q for path in paths for q in load_gold(path)]
    seen: dict[str, str] = {}
    for q in rows:
        if q.id in seen:
            raise ValueError(f"gold id {q.id!r} is in both {seen[q.id]} and {q.gold_set}")
        seen[q.id] = q.gold_set
    return rows


def evidence_span(text: str, evidence: str) -> tuple[int, int] | None:
    """Where the gold evidence stands in a document's original text (None: broken gold row)."""
    start = text.find(evidence)
    return None if start < 0 else (start, start + len(evidence))
