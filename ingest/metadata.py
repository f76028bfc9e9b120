"""What a report says about itself: title, issuer, number, date, index number, year.

Government pages carry a header table (`索引号 | … | 信息名称 | … |`) or a line such as
`发布机构:… 发布日期:…`; other files get what can be inferred from the title line and
the body. User overrides win over everything.
"""

from __future__ import annotations

import re

from core.models import ReportMetadata
from core.normalize import normalize_str

_FIELDS = {
    "索引号": "index_number",
    "信息名称": "title",
    "标题": "title",
    "文件编号": "doc_number",
    "发文字号": "doc_number",
    "文号": "doc_number",
    "发布机构": "issuer",
    "发文机关": "issuer",
    "发布时间": "publish_date",
    "发布日期": "publish_date",
    "成文日期": "publish_date",
}
_KEYS = "|".join(sorted(_FIELDS, key=len, reverse=True))
_KV_INLINE = re.compile(rf"({_KEYS})\s*[:]\s*(.+?)(?=\s{{2,}}|\s+(?:{_KEYS}|文章来源|更新时间|来源)\s*:|$)")
_DOC_NUMBER = re.compile(r"[\u4e00-\u9fff]{1,10}\s*[〔\[]\s*\d{4}\s*[〕\]]\s*\d{1,4}\s*号")
_DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")
_YEAR = re.compile(r"(\d{4})\s*年")
_PARENTHETICAL = re.compile(r"\([^)]*\)$")
HEADER_LINES = 12


def _iso_date(value: str) -> str | None:
    m = _DATE.search(value)
    if not m:
        return None
    y, mo, d = (int(g) for g in m.groups())
    if not (1 <= mo <= 12 and 1 <= d <= 31):
        return None
    return f"{y:04d}-{mo:02d}-{d:02d}"


def _plausible_year(value: str) -> int | None:
    for m in _YEAR.finditer(value):
        year = int(m.group(1))
        if 1949 <= year <= 2100:
            return year
    return None


def _table_pairs(line: str) -> list[tuple[str, str]]:
    cells = [c.strip() for c in line.split("|")]
    pairs = []
    for i, cell in enumerate(cells[:-1]):
        if cell in _FIELDS and cells[i + 1]:
            pairs.append((cell, cells[i + 1]))
    return pairs


def _header_fields(lines: list[str]) -> dict[str, str]:
    """Key/value pairs from header-table rows and `key:value` lines at the top."""
    found: dict[str, str] = {}
    for line in lines[:HEADER_LINES]:
        pairs = _table_pairs(line) if "|" in line else [(k, v.strip()) for k, v in _KV_INLINE.findall(line)]
        for key, value in pairs:
            found.setdefault(_FIELDS[key], value)
    return found


def _is_header_line(line: str) -> bool:
    return bool(_table_pairs(line)) or bool(_KV_INLINE.search(line)) or line.startswith(("首页", "当前位置"))


def _title_line(lines: list[str]) -> str | None:
    for line in lines[:HEADER_LINES]:
        cleaned = line.strip(" |")
        if cleaned and not _is_header_line(line) and len(cleaned) <= 80:
            return cleaned
    return None


def _standalone_doc_number(lines: list[str]) -> str | None:
    for line in lines[: HEADER_LINES * 2]:
        m = _DOC_NUMBER.fullmatch(line.strip())
        if m:
            return m.group(0)
    return None


def _closing_date(lines: list[str]) -> str | None:
    for line in reversed(lines[-5:]):
        if _DATE.fullmatch(line.strip()):
            return _iso_date(line)
    return None


def extract_metadata(text: str, title_hint: str | None = None) -> ReportMetadata:
    """Metadata of a report from its own text; fields it does not state stay None."""
    lines = [normalize_str(line).strip() for line in text.split("\n")]
    lines = [line for line in lines if line]
    fields = _header_fields(lines)
    title = fields.get("title") or title_hint or _title_line(lines)
    issuer = fields.get("issuer")
    if issuer:
        issuer = _PARENTHETICAL.sub("", issuer).strip() or issuer
    publish_date = _iso_date(fields["publish_date"]) if "publish_date" in fields else _closing_date(lines)
    doc_number = fields.get("doc_number") or _standalone_doc_number(lines)
    year = _plausible_year(title or "")
    if year is None:
        year = _plausible_year(" ".join(lines[:HEADER_LINES])[:400])
    if year is None and publish_date:
        year = int(publish_date[:4])
    return ReportMetadata(
        title=title,
        issuer=issuer,
        doc_number=doc_number.replace(" ", "") if doc_number else None,
        publish_date=publish_date,
        index_number=fields.get("index_number"),
        year=year,
    )


def apply_overrides(meta: ReportMetadata, issuer: str | None = None, year: int | None = None) -> ReportMetadata:
    """The user's --issuer/--year win over what the report says."""
    if issuer:
        meta.issuer = issuer
    if year:
        meta.year = year
    return meta
