"""What a question says about where to look: years and the places or offices it names."""

from __future__ import annotations

import re
from collections import defaultdict
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


class PlaceIndex:
    """Documents by place name, so a question's places are found by looking up its substrings
    (a few hundred) instead of testing every document's names (70k reports at 1M chunks)."""

    def __init__(self, documents: dict[str, set[str]]) -> None:
        self.by_name: dict[str, list[str]] = defaultdict(list)
        for doc_id, names in documents.items():
            for name in names:
                self.by_name[name].append(doc_id)
        self.longest = max(map(len, self.by_name), default=0)
        self.names = set(self.by_name)
        self._long_names = "\n".join(n for n in self.names if len(n) >= 3)

    def mentioned(self, q: str) -> dict[str, int]:
        """doc_id -> length of the longest of its names that occurs in the (normalised) text `q`."""
        best: dict[str, int] = {}
        for i in range(len(q)):
            for j in range(i + 2, min(len(q), i + self.longest) + 1):
                for doc_id in self.by_name.get(q[i:j], ()):
                    best[doc_id] = max(best.get(doc_id, 0), j - i)
        return best

    def known(self, mention: str) -> bool:
        """Whether some name of 3+ characters lies inside `mention` or holds it."""
        if mention in self._long_names:
            return True
        return any(mention[i:j] in self.names for i in range(len(mention)) for j in range(i + 3, len(mention) + 1))


def _place_index(documents: dict[str, set[str]] | PlaceIndex) -> PlaceIndex:
    return documents if isinstance(documents, PlaceIndex) else PlaceIndex(documents)


def understand(question: str, documents: dict[str, set[str]] | PlaceIndex) -> QueryHints:
    """Years in the question, and the documents whose place names it mentions (longest match wins).

    `documents` is doc_id -> place names, or a PlaceIndex built from them once (faster)."""
    q = normalize_str(question)
    matches = _place_index(documents).mentioned(q)
    if matches:
        longest = max(matches.values())
        matches = {d: n for d, n in matches.items() if n == longest}
    return QueryHints(question_years(question), matches)


_ASK_COUNTER = re.compile(r"(?:多少|几)\s*(" + "|".join(sorted(
    "人次 户次 场次 件次 万元 元 起 件 项 次 名 个 场 处 户 家 天 宗 份 条 篇 类 人 期 批 座 所 套 台 辆 间 本 张 部 吨 亩 米".split(),
    key=len, reverse=True)) + ")")
_RATE = re.compile(r"率|[意晓与成盖]度|比例|百分|占比|权重|同比|环比|增长|上升|下降")
_RATE_HEAD = re.compile(r"([\u4e00-\u9fff])(率|度)")
_MONEY = re.compile(r"金额|罚款|罚金|罚没|资金|经费|收入|支出|多少钱|多少元|万元")
_FIGURE_CUE = re.compile(r"多少|几|率|比例|金额|数量|总数|总额|规模")
_PLACE_MENTION = re.compile(r"([\u4e00-\u9fff]{2,8}?)(街道|镇|乡|县)")
_NOT_PLACE = re.compile(r"[多少几各全个每些年月日在的了和与及对从向该本其]")
# Words that end like a place but name none (统筹城乡, 乡镇街道, 区县两级).
_NOT_PLACE_WORDS = {"城乡", "乡镇", "城镇", "村镇", "集镇", "街镇", "镇街", "乡村", "区县", "市县", "县乡", "县镇"}


def place_mentions(text: str) -> list[str]:
    """Street, town and county names in a normalised text, with the words before them cut off
    (2019年金桥镇 -> 金桥镇); the name needs two characters before its suffix."""
    mentions = []
    for m in _PLACE_MENTION.finditer(text):
        core, suffix = _NOT_PLACE.split(m.group(1))[-1], m.group(2)
        if len(core) < 2 or core[-2:] in _NOT_PLACE_WORDS or core[-1] + suffix[0] in _NOT_PLACE_WORDS:
            continue
        mentions.append(core + suffix)
    return mentions


def expected_unit(question: str) -> str | None:
    """The unit a question asks for: 多少起 -> 起, 成功率 -> %, 金额 -> 元; None when unsaid."""
    q = normalize_str(question)
    m = _ASK_COUNTER.search(q)
    if m:
        unit = m.group(1)
        return "元" if unit == "万元" else unit
    if _MONEY.search(q):
        return "元"
    if _RATE.search(q):
        return "%"
    return None


def rate_heads(question: str) -> set[str]:
    """The rates a question asks for, as bigrams (满意率 -> 意率): another rate is no answer."""
    q = normalize_str(question)
    if not _RATE.search(q):
        return set()
    return {m.group(0) for m in _RATE_HEAD.finditer(q) if m.group(0) not in {"频率", "效率", "概率"}}


def asks_for_figure(question: str) -> bool:
    return bool(_FIGURE_CUE.search(normalize_str(question)))


def unknown_places(question: str, documents: dict[str, set[str]] | PlaceIndex) -> list[str]:
    """Street/town names in the question that no indexed report is from (金龙街道 when only 金杨新村街道 is indexed)."""
    q = normalize_str(question)
    places = _place_index(documents)
    return [mention for mention in place_mentions(q) if not places.known(mention)]
