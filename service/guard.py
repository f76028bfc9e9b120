"""The number guard: every number reportqa says must stand in a passage it cites."""

from __future__ import annotations

import logging
import re

from reportqa.figures import numbers_in

from .metrics import GUARD_REJECTIONS
from .schemas import Answer

log = logging.getLogger(__name__)
_MARKER = re.compile(r"\[(\d{1,3})\]")  # a summary may cite more than 99 passages


def same_number(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-6 * max(1.0, abs(a), abs(b))


def unsupported_numbers(text: str, sources: list[str]) -> list[str]:
    """Numbers in `text` that none of `sources` contains (after normalising 万, %, spaces).

    [n] citation markers are not numbers of the answer.
    """
    allowed = [n for source in sources for n in numbers_in(source)]
    said = numbers_in(_MARKER.sub(" ", text))
    bad = [f"{v:g}" for v in dict.fromkeys(said) if not any(same_number(v, a) for a in allowed)]
    if bad:
        GUARD_REJECTIONS.inc()
    return bad


def cited_sources(answer: Answer) -> list[str]:
    """The texts an answer may take numbers from: its quotes and the titles of their reports."""
    return [c.quote for c in answer.citations] + [c.title or "" for c in answer.citations]


def enforce_traceable(answer: Answer) -> Answer:
    """Last line of defence: an answer whose sentence states a number no citation holds is
    reduced to the cited quote itself (and the slip is logged, since it is a bug)."""
    if not answer.found:
        return answer
    bad = unsupported_numbers(f"{answer.answer or ''}\n{answer.text}", cited_sources(answer))
    if not bad:
        return answer
    log.error("answer to %r stated numbers without a source: %s", answer.question, bad)
    first = answer.citations[0]
    return answer.model_copy(update={"text": f"根据《{first.title or ''}》:{first.quote}"})
