"""Summaries as text: each report's part as plain text (what max_chars bounds), the whole
summary as Markdown, and as a Word briefing (python-docx) an official can forward."""

from __future__ import annotations

import io
from datetime import date

from docx import Document
from docx.shared import Pt

from .schemas import CitedText, Comparison, FigureRow, ReportSummary, Summary

STYLE_TITLES = {"briefing": "简报", "key_figures": "主要数据", "sections": "分节摘要"}
FIGURE_HEADER = ["指标", "数值", "章节", "出处"]
# OOXML core properties hold at most 255 characters (python-docx raises past it); a comparison
# of many reports has a longer title, which the heading still shows whole.
CORE_PROPERTY_MAX = 255


def _cited(items: list[CitedText], sep: str = "") -> str:
    return sep.join(f"{c.text}[{c.citation}]" for c in items)


def _figure(row: FigureRow) -> str:
    return f"{row.metric} {row.raw}[{row.citation}]"


def briefing_text(r: ReportSummary) -> str:
    lines = [f"《{r.title}》"]
    if r.headline:
        lines.append(f"概要:{_cited(r.headline)}")
    if r.key_figures:
        lines.append(f"主要数据:{';'.join(_figure(f) for f in r.key_figures)}")
    if r.problems:
        lines.append(f"存在的主要问题:{_cited(r.problems)}")
    if r.plans:
        lines.append(f"下一步工作:{_cited(r.plans)}")
    return "\n".join(lines)


def sections_text(r: ReportSummary) -> str:
    lines = [f"《{r.title}》"]
    for section in r.sections:
        lines.append(section.heading)
        if section.sentences:
            lines.append(_cited(section.sentences))
    return "\n".join(lines)


def key_figures_text(r: ReportSummary) -> str:
    return "\n".join([f"《{r.title}》", *(_figure(f) for f in r.key_figures)])


REPORT_TEXT = {"briefing": briefing_text, "sections": sections_text, "key_figures": key_figures_text}


def _md_table(header: list[str], rows: list[list[str]]) -> list[str]:
    def cell(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header),
            *("| " + " | ".join(cell(c) for c in row) + " |" for row in rows)]


def _figure_rows(rows: list[FigureRow]) -> list[list[str]]:
    return [[f.metric, f.raw, f.section or "(正文开头)", f"[{f.citation}]"] for f in rows]


def comparison_rows(c: Comparison) -> list[list[str]]:
    return [[row.metric, *(f"{cell.raw}[{cell.citation}]" if cell else "—" for cell in row.cells)] for row in c.rows]


def _meta(r: ReportSummary) -> str:
    parts = [p for p in (r.issuer, r.publish_date and f"发布日期 {r.publish_date}") if p]
    return " · ".join(parts)


def markdown(s: Summary) -> str:
    """The summary as Markdown: title, per report its parts, the comparison, the sources last."""
    out = [f"# {s.title}", ""]
    if s.note:
        out += [f"> 注:{s.note}", ""]
    for r in s.reports:
        out += [f"## 《{r.title}》", ""]
        if _meta(r):
            out += [_meta(r), ""]
        if r.headline:
            out += ["### 概要", "", _cited(r.headline), ""]
        if r.key_figures:
            out += ["### 主要数据", "", *_md_table(FIGURE_HEADER, _figure_rows(r.key_figures)), ""]
        for heading, items in (("存在的主要问题", r.problems), ("下一步工作", r.plans)):
            if items:
                out += [f"### {heading}", "", *(f"- {c.text}[{c.citation}]" for c in items), ""]
        if r.sections:
            out += ["### 分节要点", ""]
            for section in r.sections:
                out += [f"**{section.heading}**", "", _cited(section.sentences) or "(本节无可摘录的句子)", ""]
    if s.comparison and s.comparison.rows:
        out += ["## 对比", "", *_md_table(["指标", *s.comparison.columns], comparison_rows(s.comparison)), ""]
    out += ["## 来源", ""]
    for n, c in enumerate(s.citations, 1):
        out.append(f"[{n}] 《{c.title or c.doc_id}》 {' > '.join(c.section_path)}:“{c.quote}”")
    return "\n".join(out).rstrip() + "\n"


def _table(doc: Document, header: list[str], rows: list[list[str]]) -> None:
    table = doc.add_table(rows=1, cols=len(header))
    table.style = "Table Grid"
    for cell, text in zip(table.rows[0].cells, header):
        cell.text = text
        for run in cell.paragraphs[0].runs:
            run.bold = True
    for row in rows:
        for cell, text in zip(table.add_row().cells, row):
            cell.text = text


def docx_bytes(s: Summary, today: date | None = None) -> bytes:
    """A Word briefing: title, date, per report headline, figure table, problems, plans and
    sections, the comparison table, and the sources at the end."""
    doc = Document()
    doc.styles["Normal"].font.size = Pt(11)
    doc.core_properties.title = s.title if len(s.title) <= CORE_PROPERTY_MAX else s.title[:CORE_PROPERTY_MAX - 1] + "…"
    doc.add_heading(s.title, level=0)
    doc.add_paragraph(f"生成日期:{(today or date.today()).isoformat()}")
    if s.note:
        doc.add_paragraph(f"注:{s.note}")
    for r in s.reports:
        doc.add_heading(f"《{r.title}》", level=1)
        if _meta(r):
            doc.add_paragraph(_meta(r))
        if r.headline:
            doc.add_heading("概要", level=2)
            doc.add_paragraph(_cited(r.headline))
        if r.key_figures:
            doc.add_heading("主要数据", level=2)
            _table(doc, FIGURE_HEADER, _figure_rows(r.key_figures))
        for heading, items in (("存在的主要问题", r.problems), ("下一步工作", r.plans)):
            if items:
                doc.add_heading(heading, level=2)
                for c in items:
                    doc.add_paragraph(f"{c.text}[{c.citation}]", style="List Bullet")
        if r.sections:
            doc.add_heading("分节要点", level=2)
            for section in r.sections:
                doc.add_heading(section.heading, level=3)
                doc.add_paragraph(_cited(section.sentences) or "(本节无可摘录的句子)")
    if s.comparison and s.comparison.rows:
        doc.add_heading("对比", level=1)
        _table(doc, ["指标", *s.comparison.columns], comparison_rows(s.comparison))
    doc.add_heading("来源", level=1)
    for n, source in enumerate(s.citations, 1):
        doc.add_paragraph(f"[{n}] 《{source.title or source.doc_id}》 {' > '.join(source.section_path)}:“{source.quote}”")
    buffer = io.BytesIO()
    doc.save(buffer)
    return buffer.getvalue()
