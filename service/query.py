"""What a question says about where to look: years and the places or offices it names."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ingest.normalize import normalize_str
from ingest.store import DocumentRecord

_YEAR = re.compile(r"((?:19|20)\d{2})\s*年")
_PLACE = re.compile(r"([\u4e00-\u9fff]{2,8}?)(街道|镇|乡|区|县|市|街)")
_GENERIC_CORES = {"全区", "全市", "本区", "新区", "城区", "街道", "社区", "辖区", "地区", "市区", "市民", "区级"}


@dataclass(frozen=True)
class QueryHints:
    """Years and matching documents a question names; both only boost, never exclude."""

    years: set[int] = field(default_factory=set)
    place_docs: dict[str, int] = field(default_factory=dict)  # doc_id -> length of the matched name


def question_years(question: str) -> set[int]:
    return {int(y) for y in _YEAR.findall(normalize_str(question))}


def place_names(doc: DocumentRecord) -> set[str]:
    """Every place-like name inside a document's issuer and title (金杨新村街道, 金杨新村, 静海区 …)."""
    names: set[str] = set()
    for source in (doc.metadata.issuer or "", doc.metadata.title or ""):
        text = normalize_str(source)
        for start in range(len(text)):
            m = _PLACE.match(text, start)
            if not m:
                continue
            core, suffix = m.group(1), m.group(2)
            if core + suffix in _GENERIC_CORES or len(core) < 2:
                continue
            names.add(core + suffix)
            if len(core) >= 3:  # 金杨新村, 胡家园; two-character cores (人民, 新村) are too common alone
                names.add(core)
    return names


def understand(question: str, documents: dict[str, set[str]]) -> QueryHints:
    """Years in the question, and the documents whose place names it mentions (longest match wins)."""
    q = normalize_str(question)
    matches: dict[str, int] = {}
    for doc_id, names in documents.items():
        best = max((len(n) for n in names if n in q), default=0)
        if best >= 2:
            matches[doc_id] = best
    if matches:
        longest = max(matches.values())
        matches = {d: n for d, n in matches.items() if n == longest}
    return QueryHints(question_years(question), matches)
