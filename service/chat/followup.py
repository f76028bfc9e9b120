"""Follow-up questions resolved against the previous turn into a question that stands alone.

Rule-based (the embedded default, no model): "那2020年呢?" swaps the year of the previous
question, "金桥镇呢?" swaps its place, "调解成功率呢?" asks the new thing in the previous
year and place, "这个数字在哪一节?" asks where the previous answer came from. With an LLM,
`condense_with_llm` asks the model with the prompts/condense_question.md template and falls
back to the rules when the model's reply is not a usable question.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Literal, cast

from core.normalize import normalize_str
from core.prompts import load_prompt, render
from core.vocabulary import FOLLOW_UP_PLACE_SUFFIXES, YEAR, YEAR_LOOSE

from ..llm import ChatModel
from ..query import place_mentions

log = logging.getLogger(__name__)

RewriteKind = Literal["standalone", "year", "place", "topic", "where", "llm"]

_PLACE = re.compile(r"^[\u4e00-\u9fff]{2,12}(?:" + "|".join(FOLLOW_UP_PLACE_SUFFIXES) + ")$")
_LEAD = re.compile(r"^(?:那么|那|还有|换成|如果是|要是|改成|再问一下|再问|请问)\s*")
_TRAIL = re.compile(r"(?:的情况|情况|怎么样|如何|又是多少|是多少|呢|吗|的)+$")
_AT = re.compile(r"^(?:在|到|换到|对于)")
_PUNCT = re.compile(r"[??!!。,,、\s]+$")
_WHERE = re.compile(r"哪一?[节章段部篇处条]|哪个(?:章节|部分|段落|地方|位置)|哪部分|出处|出自|来自哪|来源|原文在哪")
_DEICTIC = re.compile(r"这|该|此|它|上述|刚才|上面|那个")
_ASKS = re.compile(r"多少|几|什么|哪|吗|如何|怎么|是否")
MAX_CONDENSED_CHARS = 300


@dataclass(frozen=True)
class Rewrite:
    """The question actually answered, and which rule (or the LLM) produced it."""

    question: str
    kind: RewriteKind


def refers_to_source(message: str) -> bool:
    """Does the message ask where the previous answer stands ("这个数字在哪一节?")?"""
    m = normalize_str(message)
    return bool(_WHERE.search(m)) and (bool(_DEICTIC.search(m)) or len(_PUNCT.sub("", m)) <= 8)


def _core(message: str) -> str | None:
    """The new part of an elliptical follow-up ("那2020年呢?" -> "2020年"), or None for a full question."""
    m = _PUNCT.sub("", normalize_str(message).strip())
    led = bool(_LEAD.match(m))
    trailed = m.endswith("呢")
    if not (led or trailed):
        return None
    core = _TRAIL.sub("", _LEAD.sub("", m)).strip()
    return core or None


def _place_in(question: str, places: set[str]) -> str | None:
    """The place a question names: a known report place (longest) or a street/town-like mention."""
    known = [p for p in places if p in question]
    if known:
        return max(known, key=len)
    mentions = place_mentions(question)
    return mentions[0] if mentions else None


def rewrite(message: str, previous: str | None, places: set[str]) -> Rewrite:
    """Resolve `message` against the previous (already resolved) question.

    `places` are the place names of the indexed reports, used to find the place the
    previous question named. A message that is a full question is returned as it is.
    """
    message = message.strip()
    if refers_to_source(message):
        return Rewrite(f"上一问“{previous}”的答案出自报告哪一节?" if previous else message, "where")
    if previous is None:
        return Rewrite(message, "standalone")
    core = _core(message)
    if core is None or len(core) > 40:
        return Rewrite(message, "standalone")
    years = YEAR_LOOSE.findall(core)
    rest = _AT.sub("", YEAR_LOOSE.sub("", core).strip(" 的"))
    new_place = rest if rest and (_PLACE.match(rest) or rest in places or place_mentions(rest) == [rest]) else None
    if new_place:
        rest = ""
    prev_year = YEAR.search(previous)
    prev_place = _place_in(previous, places)
    if rest:
        year = f"{years[0]}年" if years else (f"{prev_year.group(1)}年" if prev_year else "")
        place = new_place or prev_place or ""
        ending = "" if _ASKS.search(rest) else "是多少"
        return Rewrite(f"{year}{place}{'的' if year or place else ''}{rest}{ending}?", "topic")
    question, kind = previous, cast(RewriteKind, "standalone")
    if years:
        question = YEAR.sub(f"{years[0]}年", question) if prev_year else f"{years[0]}年{question}"
        kind = "year"
    if new_place:
        question = question.replace(prev_place, new_place) if prev_place else f"{new_place}{question}"
        kind = "place" if kind == "standalone" else kind
    if kind == "standalone":
        return Rewrite(message, "standalone")
    return Rewrite(question, kind)


def condense_with_llm(chat_model: ChatModel, message: str, history: list[tuple[str, str]], places: set[str]) -> Rewrite:
    """Ask the LLM to rewrite the follow-up as a standalone question (prompts/condense_question.md);
    the rules answer when the model fails or its reply is not a usable question."""
    previous = history[-1][0] if history else None
    ruled = rewrite(message, previous, places)
    if previous is None or ruled.kind == "where":
        return ruled
    turns = "\n".join(f"问:{q}\n答:{a}" for q, a in history[-3:])
    messages = [("system", load_prompt("condense_question")),
                ("human", render("condense_question_user", history=turns, message=message))]
    try:
        reply = str(chat_model.invoke(messages).content).strip()
    except Exception as exc:  # any endpoint failure: the rules still resolve the follow-up
        log.warning("LLM condensing failed: %s: %s", type(exc).__name__, exc)
        return ruled
    reply = reply.splitlines()[0].strip().strip("\"“”") if reply else ""
    if not reply or len(reply) > MAX_CONDENSED_CHARS:
        return ruled
    return Rewrite(reply, "llm")
