"""Several reports side by side: the metrics they share (调解成功率 by year or by street), cited."""

from __future__ import annotations

from .citations import CitationBook
from .document import DocumentView
from .extractive import figure_row
from .key_figures import KeyFigure, key_figures, metric_key
from .schemas import Comparison, ComparisonRow


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


def _first_by_metric(rows: list[KeyFigure]) -> dict[tuple[str, str], KeyFigure]:
    found: dict[tuple[str, str], KeyFigure] = {}
    for row in rows:
        key = (metric_key(row.metric), row.figure.unit)
        if key[0] and not row.figure.negative:
            found.setdefault(key, row)
    return found


def compare(views: list[DocumentView], book: CitationBook) -> Comparison:
    """A row per metric that at least two of the reports state in the same unit, in the first
    report's order; a cell per report (None where it does not say)."""
    tables = [_first_by_metric(key_figures(v)) for v in views]
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
