"""The number guard: every number reportqa says must stand in a passage it cites."""

from __future__ import annotations

import logging
import re

from core.figures import SHARES, Stated, stated_numbers
from core.vocabulary import CITATION_MARKER

from .metrics import GUARD_REJECTIONS
from .schemas import Answer, Citation

log = logging.getLogger(__name__)


# Counter words the reports use for the same count (件/起/宗 of cases, 项/份, 人/名 of people) and
# two names of one measure; every other unit is its own (98.3起 is not 98.3 %).
_SAME_UNIT = {"起": "件", "宗": "件", "份": "项", "名": "人", "千克": "公斤", "千米": "公里"}
_SHARES = {*SHARES, "分之"}  # a share written without its unit is another number
_ABOVE = {"余", "多", "以上", "超过", "逾"}
_BELOW = {"以下", "接近", "将近", "不到", "不足"}


# Links and images in a model's reply: an image is fetched by the user's browser the moment it is
# shown (a tracking pixel, or data sent out in its URL), a link sends the user off the reports.
# reportqa cites by [n]; the model has no link of its own to give.
_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)|<img\b[^>]*>", re.IGNORECASE)
_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_LINK_TAG = re.compile(r"</?a\b[^>]*>", re.IGNORECASE)
_LINK_DEFINITION = re.compile(r"^[ \t]*\[[^\]]+\]:[ \t]*\S+.*$", re.MULTILINE)
_URL = re.compile(r"<?(?:(?:https?:)?//|\bwww\.)[A-Za-z0-9\-._~:/?#@!$&'*+,;=%]+>?", re.IGNORECASE)


def strip_links(text: str) -> str:
    """The model's reply without its images, links (their text is kept) and URLs."""
    text = _IMAGE.sub("", text)
    text = _LINK.sub(lambda m: f"[{m[1]}]" if m[1].isdigit() else m[1], text)  # [1](…) stays a citation
    text = _LINK_TAG.sub("", _LINK_DEFINITION.sub("", text))
    return _URL.sub("", text)


def same_number(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-6 * max(1.0, abs(a), abs(b))


def _direction(qualifier: str | None) -> str | None:
    return "above" if qualifier in _ABOVE else "below" if qualifier in _BELOW else None


def _same_unit(said: str, cited: str) -> bool:
    if not said or not cited:  # a bare number: any cited one of its value, but a share needs its unit
        return said not in _SHARES and cited not in _SHARES or said == cited
    return _SAME_UNIT.get(said, said) == _SAME_UNIT.get(cited, cited)


def backs(cited: Stated, said: Stated) -> bool:
    """Does a cited number support a said one: the same signed value, a unit that measures the same
    thing, and no stronger claim (超过/接近 must stand in the source; 约 or none may restate it)?"""
    direction = _direction(said.qualifier)
    return (same_number(said.value, cited.value) and _same_unit(said.unit, cited.unit)
            and direction in (None, _direction(cited.qualifier)))


def unsupported_numbers(text: str, sources: list[str]) -> list[str]:
    """The numbers of `text`, as written, that no number of `sources` backs (see `backs`).

    [n] citation markers are not numbers of the answer.
    """
    allowed = [n for source in sources for n in stated_numbers(source)]
    said = stated_numbers(CITATION_MARKER.sub(" ", text))
    bad = list(dict.fromkeys(s.raw for s in said if not any(backs(a, s) for a in allowed)))
    if bad:
        GUARD_REJECTIONS.inc()
    return bad


def cited_sources(citations: list[Citation]) -> list[str]:
    """The texts an answer may take numbers from: its quotes, the titles of their reports, and the
    reports' years (an answer may say 2019年 for a report filed as 2019 whose title omits it)."""
    return ([c.quote for c in citations] + [c.title or "" for c in citations]
            + [f"{c.year}年" for c in citations if c.year])


def enforce_traceable(answer: Answer) -> Answer:
    """Last line of defence: an answer whose sentence states a number no citation holds is
    reduced to the cited quote itself (and the slip is logged, since it is a bug)."""
    if not answer.found:
        return answer
    bad = unsupported_numbers(f"{answer.answer or ''}\n{answer.text}", cited_sources(answer.citations))
    if not bad:
        return answer
    log.error("answer to %r stated numbers without a source: %s", answer.question, bad)
    first = answer.citations[0]
    return answer.model_copy(update={"text": f"根据《{first.title or ''}》:{first.quote}"})
