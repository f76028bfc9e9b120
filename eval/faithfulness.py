"""Is a summary faithful to its sources? Figures it states that no source contains are
unsupported (must be none); gold figures of those sources that it states are covered."""

from __future__ import annotations

from dataclasses import dataclass

from core.figures import extract_figures
from service.guard import same_number, unsupported_numbers

from .gold import GoldQuestion
from .scoring import normalize_figure


@dataclass(frozen=True)
class Faithfulness:
    unsupported: list[str]  # numbers in the summary that no source states
    covered: list[str]  # ids of gold rows whose figure the summary states
    missed: list[str]  # ids of gold rows (of these sources) whose figure it leaves out

    @property
    def faithful(self) -> bool:
        return not self.unsupported


def check_summary(summary: str, sources: list[str], gold: list[GoldQuestion]) -> Faithfulness:
    """Compare the summary's figures with the source texts and with the sources' gold figures."""
    said = [normalize_figure(f.value, f.unit) for f in extract_figures(summary) if not f.negative]
    covered: list[str] = []
    missed: list[str] = []
    for q in gold:
        if not q.answerable or q.value is None or not any(q.evidence and q.evidence in s for s in sources):
            continue
        value, unit = normalize_figure(q.value, q.unit, q.question)
        hit = any(same_number(value, v) and unit == u for v, u in said)
        (covered if hit else missed).append(q.id)
    return Faithfulness(unsupported_numbers(summary, sources), covered, missed)
