"""Several reports side by side: the metrics they share (调解成功率 by year or by street), cited."""

from __future__ import annotations

from .citations import CitationBook
from .document import DocumentView
from .extractive import figure_row
from .key_figures import KeyFigure, key_figures, metric_key
from .schemas import Comparison, ComparisonRow

MIN_SHARED_CHARS = 4  # shorter metric words (罚金, 处罚) are too vague to match reports on


def column_labels(views: list[DocumentView]) -> list[str]:
    """Years when one issuer's reports are compared, issuers when one year's, both otherwise."""
    metas = [v.record.metadata for v in views]
    issuers = {m.issuer for m in metas}
    years = {m.year for m in metas}
    labels = []
    for v, m in zip(views, metas):
        if len(issuers) == 1 and m.year and len(years) == len(views):
            labels.append(f"{m.year}年")
        elif len(years) == 1 and m.issuer and len(issuers) == len(views):
            labels.append(m.issuer)
        else:
            labels.append(" ".join(str(p) for p in (m.issuer, m.year and f"{m.year}年") if p) or v.title)
    return labels


def _groups(tables: list[list[KeyFigure]]) -> dict[tuple[str, str], str]:
    """Each (metric key, unit) mapped to the metric it is compared as: the shortest key of any
    report that ends it (各级调解组织调解成功率 and 调解成功率 are one metric), at least
    MIN_SHARED_CHARS long."""
    keys = {(metric_key(r.metric), r.figure.unit) for table in tables for r in table if not r.figure.negative}
    by_unit: dict[str, list[str]] = {}
    for key, unit in keys:
        by_unit.setdefault(unit, []).append(key)
    groups = {}
    for key, unit in keys:
        ends = [k for k in by_unit[unit] if len(k) >= MIN_SHARED_CHARS and key.endswith(k)]
        groups[(key, unit)] = min(ends, key=len) if ends else key
    return groups


def _first_by_metric(rows: list[KeyFigure], groups: dict[tuple[str, str], str]) -> dict[tuple[str, str], KeyFigure]:
    found: dict[tuple[str, str], KeyFigure] = {}
    for row in rows:
        key = (metric_key(row.metric), row.figure.unit)
        if key[0] and not row.figure.negative:
            found.setdefault((groups[key], key[1]), row)
    return found


def compare(views: list[DocumentView], book: CitationBook) -> Comparison:
    """A row per metric that at least two of the reports state in the same unit, in the first
    report's order; a cell per report (None where it does not say)."""
    figures = [key_figures(v) for v in views]
    groups = _groups(figures)
    tables = [_first_by_metric(rows, groups) for rows in figures]
    order: list[tuple[str, str]] = []
    for table in tables:
        order += [k for k in table if k not in order]
    rows = []
    for key in order:
        cells = [table.get(key) for table in tables]
        if sum(c is not None for c in cells) < 2:
            continue
        rows.append(ComparisonRow(metric=key[0], unit=key[1],
                                  cells=[figure_row(c, book.number(c.citation)) if c else None for c in cells]))
    return Comparison(columns=column_labels(views), doc_ids=[v.doc_id for v in views], rows=rows)
