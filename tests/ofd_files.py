"""OFD files (GB/T 33190) written the way office converters write them, for tests of the OFD reader.

A report is laid out on A4 pages like a 公文 (GB/T 9704): 16 pt type, 156 mm lines, full lines
justified (their DeltaX stretched to the right margin), paragraphs indented two characters, one
TextObject per visual line whose Boundary holds it (mm), and table rows in columns.
"""

from __future__ import annotations

import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path

NS = "http://www.ofdspec.org/2016"
PAGE_W, PAGE_H = 210.0, 297.0
LEFT, TOP, WIDTH, BOTTOM = 27.0, 37.0, 156.0, 262.0
SIZE = 5.6444  # 16 pt
LEADING = 10.2
TABLE_SIZE = 3.7042  # 10.5 pt
TABLE_COLUMNS = (0.0, 22.0, 120.0, 142.0)  # mm from the left margin


@dataclass(frozen=True)
class Placed:
    """One visual line as written: its text, page (1-based), left edge and baseline in mm."""

    text: str
    page: int
    x: float
    baseline: float


def _advance(char: str, size: float) -> float:
    return size if unicodedata.east_asian_width(char) in ("W", "F") else size / 2


def _wrap(paragraph: str, first_indent: float) -> list[tuple[str, float, list[float]]]:
    """The paragraph's visual lines: text, indent and the advance of each character; a full line's advances
    stretched so it ends at the right margin, and no line starting or ending in a space."""
    lines = []
    start, indent = 0, first_indent
    while start < len(paragraph):
        end, used = start, indent
        while end < len(paragraph) and used + _advance(paragraph[end], SIZE) <= WIDTH:
            used += _advance(paragraph[end], SIZE)
            end += 1
        while end < len(paragraph) and (paragraph[end - 1] == " " or paragraph[end] == " "):
            end -= 1
        text = paragraph[start:end]
        advances = [_advance(c, SIZE) for c in text]
        if end < len(paragraph):  # justified: the gaps take up what the line lacks
            extra = (WIDTH - indent - sum(advances[:-1]) - _advance(text[-1], SIZE)) / max(1, len(text) - 1)
            advances = [a + extra for a in advances[:-1]] + advances[-1:]
        lines.append((text, indent, advances))
        start, indent = end, 0.0
    return lines


def _text_object(object_id: int, text: str, x: float, baseline: float, size: float, advances: list[float]) -> str:
    width = sum(advances[:-1]) + _advance(text[-1], size)
    deltas = " ".join(f"{a:.4f}" for a in advances[:-1])
    delta = f' DeltaX="{deltas}"' if deltas else ""
    return (f'<ofd:TextObject ID="{object_id}" Boundary="{x:.4f} {baseline - size:.4f} {width:.4f} {size * 1.2:.4f}" '
            f'Font="2" Size="{size}"><ofd:FillColor Value="0 0 0"/>'
            f'<ofd:TextCode X="0" Y="{size:.4f}"{delta}>{_escape(text)}</ofd:TextCode></ofd:TextObject>')


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def layout(text: str) -> list[list[tuple[str, float, float, float, list[float]]]]:
    """Pages of (text, x, baseline, size, advances): 'a | b' lines as table rows, others as wrapped paragraphs."""
    pages: list[list[tuple[str, float, float, float, list[float]]]] = [[]]
    y = TOP
    for paragraph in text.splitlines():
        if " | " in paragraph:
            cells = [c.strip() for c in paragraph.split("|")]
            y += TABLE_SIZE * 2
            for column, cell in zip(TABLE_COLUMNS, cells):
                if cell:
                    pages[-1].append((cell, LEFT + column, y, TABLE_SIZE, [_advance(c, TABLE_SIZE) for c in cell]))
            continue
        if not paragraph.strip():
            continue
        for line, indent, advances in _wrap(paragraph.strip(), 2 * SIZE):
            y += LEADING
            if y > BOTTOM:
                pages.append([])
                y = TOP + LEADING
            pages[-1].append((line, LEFT + indent, y, SIZE, advances))
    return pages


def write_ofd(path: Path, text: str, title: str, per_character: bool = False) -> list[Placed]:
    """Write `text` as an OFD package at `path`; what was placed where. `per_character` writes a TextObject
    per character at its advance (as some converters do) instead of one per line."""
    pages = layout(text)
    placed = []
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("OFD.xml", f'<?xml version="1.0" encoding="UTF-8"?>\n<ofd:OFD xmlns:ofd="{NS}" Version="1.1" '
                    f'DocType="OFD"><ofd:DocBody><ofd:DocInfo><ofd:DocID>0c6f1a2b3d4e5f60718293a4b5c6d7e8</ofd:DocID>'
                    f'<ofd:Title>{_escape(title)}</ofd:Title><ofd:CreationDate>2020-01-16</ofd:CreationDate>'
                    f'<ofd:Creator>reportqa tests</ofd:Creator></ofd:DocInfo><ofd:DocRoot>Doc_0/Document.xml'
                    f'</ofd:DocRoot></ofd:DocBody></ofd:OFD>')
        page_refs = "".join(f'<ofd:Page ID="{10 + n}" BaseLoc="Pages/Page_{n}/Content.xml"/>' for n in range(len(pages)))
        zf.writestr("Doc_0/Document.xml", f'<?xml version="1.0" encoding="UTF-8"?>\n<ofd:Document xmlns:ofd="{NS}">'
                    f'<ofd:CommonData><ofd:MaxUnitID>100000</ofd:MaxUnitID><ofd:PageArea><ofd:PhysicalBox>0 0 {PAGE_W} '
                    f'{PAGE_H}</ofd:PhysicalBox></ofd:PageArea><ofd:PublicRes>PublicRes.xml</ofd:PublicRes>'
                    f'</ofd:CommonData><ofd:Pages>{page_refs}</ofd:Pages></ofd:Document>')
        zf.writestr("Doc_0/PublicRes.xml", f'<?xml version="1.0" encoding="UTF-8"?>\n<ofd:Res xmlns:ofd="{NS}" '
                    f'BaseLoc="Res"><ofd:Fonts><ofd:Font ID="2" FontName="仿宋" FamilyName="仿宋"/></ofd:Fonts>'
                    f'</ofd:Res>')
        object_id = 1000
        for n, lines in enumerate(pages):
            objects = []
            for line, x, baseline, size, advances in lines:
                pieces = [(c, x + sum(advances[:k]), [a]) for k, (c, a) in enumerate(zip(line, advances))
                          if c != " "] if per_character else [(line, x, advances)]
                for piece, left, piece_advances in pieces:
                    object_id += 1
                    objects.append(_text_object(object_id, piece, left, baseline, size, piece_advances))
                placed.append(Placed(line, n + 1, x, baseline))
            zf.writestr(f"Doc_0/Pages/Page_{n}/Content.xml",
                        f'<?xml version="1.0" encoding="UTF-8"?>\n<ofd:Page xmlns:ofd="{NS}"><ofd:Content>'
                        f'<ofd:Layer ID="{20 + n}">{"".join(objects)}</ofd:Layer></ofd:Content></ofd:Page>')
    return placed
