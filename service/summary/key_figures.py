"""The figures a report states, one row per distinct (metric, value, unit), each cited to its sentence."""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.figures import Figure
from core.vocabulary import YEAR

from ..schemas import Citation
from .document import DocumentView

_SPACE = re.compile(r"\s+")
_EDGE = re.compile(r"^[的和与及、,,::]+|[的和与及、,,::]+$")
_QUOTES = re.compile(r"[\"“”'‘’]")
MAX_METRIC_CHARS = 24


@dataclass(frozen=True)
class KeyFigure:
    figure: Figure
    metric: str
    section: str
    citation: Citation


def _clean(words: str) -> str:
    return _EDGE.sub("", _QUOTES.sub("", _SPACE.sub("", words)))


def display_metric(figure: Figure) -> str:
    """What the figure measures, as the report words it (or the words after it when none come
    before); a long clause keeps its end (after the last 《…》 list when there is one)."""
    metric = _clean(figure.metric or "")
    if len(metric) < 2 and figure.after:
        metric = f"{metric}…{_clean(figure.after)}".lstrip("…")
    if len(metric) > MAX_METRIC_CHARS:
        tail = _EDGE.sub("", metric.rsplit("》", 1)[-1])
        head = metric.split("《", 1)[0]
        if 2 <= len(tail.rstrip("等")) <= MAX_METRIC_CHARS:
            metric = tail
        elif "《" in metric and 2 <= len(head) <= MAX_METRIC_CHARS:
            metric = f"{head}《…》{tail}"  # 修订完善《A》《B》等 26 项: the verb and the list's end
        else:
            metric = "…" + metric[-MAX_METRIC_CHARS:]
    return metric


def display_value(figure: Figure, metric: str) -> str:
    """The figure as written; a 未发生… statement without the words of its metric."""
    if figure.negative:
        return _SPACE.sub("", figure.raw).replace(_SPACE.sub("", figure.metric), "") or figure.raw
    return figure.raw


def metric_key(metric: str) -> str:
    """The metric without its year and spaces: what two reports' figures must share to be compared."""
    return _EDGE.sub("", YEAR.sub("", _SPACE.sub("", metric)))


def key_figures(view: DocumentView) -> list[KeyFigure]:
    """Every figure of the report, deduplicated, in the report's order."""
    rows: list[KeyFigure] = []
    seen: set[tuple[str, float, str]] = set()
    for figure in view.figures:
        metric = display_metric(figure)
        key = (metric_key(metric), figure.value, figure.unit)
        if key in seen:
            continue
        seen.add(key)
        sentence = view.sentence_at(figure.char_start)
        start, end = (sentence.start, sentence.end) if sentence.start <= figure.char_start < sentence.end else (
            figure.char_start, figure.char_end)
        citation = view.citation(start, max(end, figure.char_end))
        rows.append(KeyFigure(figure, metric, " > ".join(citation.section_path), citation))
    return rows
