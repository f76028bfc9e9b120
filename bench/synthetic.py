"""Synthetic report corpora for benchmarks, assembled from real reports' headings and sentences.

Each synthetic report keeps the seed's header-table format (so metadata parses), gets its
own issuer and year (so every file has its own content hash), and is made of real
sentences under real headings, shuffled.
"""

from __future__ import annotations

import random
import re
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SOURCES = [ROOT / "data" / "samples", ROOT.parent / "shared" / "corpus" / "devreal"]
_HEADING = re.compile(r"^(?:[一二三四五六七八九十]+、|[(（][一二三四五六七八九十]+[)）])")
_SENTENCE = re.compile(r"[^。!?;]+[。!?;]")
STREETS = ["金杨新村", "金桥", "洋泾", "陆家嘴", "塘桥", "潍坊新村", "花木", "张江", "川沙", "高桥", "东明", "上钢新村"]


def material() -> tuple[list[str], list[str], list[str]]:
    tops, subs, sentences = [], [], []
    for folder in SOURCES:
        for path in sorted(folder.glob("*.txt")) if folder.exists() else []:
            for line in path.read_text(encoding="utf-8").splitlines():
                line = line.strip()
                if _HEADING.match(line) and len(line) < 40:
                    (tops if "、" in line[:4] else subs).append(re.sub(r"^\S+?[、)）]", "", line))
                else:
                    sentences.extend(s.strip() for s in _SENTENCE.findall(line) if len(s.strip()) > 12)
    return tops, subs, sentences


def sentences() -> list[str]:
    """The real reports' sentences, in file order."""
    return material()[2]


def write_corpus(folder: Path, n_reports: int, seed: int = 7) -> list[Path]:
    """Write `n_reports` synthetic reports into `folder`; returns their paths."""
    rng = random.Random(seed)
    tops, subs, sentences = material()
    folder.mkdir(parents=True, exist_ok=True)
    cn = "一二三四五六七八九十"
    paths = []
    for i in range(n_reports):
        street = f"{rng.choice(STREETS)}{i}街道"
        year = 2015 + i % 10
        title = f"{street}关于{year}年度法治政府建设情况的报告"
        lines = [
            f"索引号 | SYN-{year}-{i:05d} | ||",
            f"信息名称 | {title} | ||",
            f"文件编号 | 浦街〔{year + 1}〕{i % 50 + 1}号 | 发布机构 | {street} |",
            f"公开类别 | 主动公开 | 发布时间 | {year + 1}-01-{i % 28 + 1:02d} |",
            title,
        ]
        for t in range(4):
            lines.append(f"{cn[t]}、{rng.choice(tops)}")
            for s in range(rng.randint(2, 4)):
                lines.append(f"({cn[s]}){rng.choice(subs)}")
                lines.append("".join(rng.sample(sentences, k=min(len(sentences), rng.randint(2, 5)))))
        path = folder / f"syn_{i:05d}.txt"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        paths.append(path)
    return paths


def report_docx(text: str, path: Path) -> Path:
    """The report as Word holds one: 一、 headings in Heading 1, (一) headings in Heading 2, 'a | b' lines as
    a table, the rest as paragraphs, and the first other line as the title in its properties."""
    from docx import Document

    doc = Document()
    rows: list[list[str]] = []

    def table() -> None:
        if rows:
            grid = doc.add_table(rows=len(rows), cols=max(map(len, rows)))
            for r, row in enumerate(rows):
                for c, cell in enumerate(row):
                    grid.cell(r, c).text = cell
            rows.clear()

    for line in text.splitlines():
        if " | " in line:
            rows.append([cell.strip() for cell in line.split("|")][:4])
            continue
        table()
        if _HEADING.match(line):
            doc.add_heading(line, 1 if "、" in line[:4] else 2)
        else:
            doc.add_paragraph(line)
    table()
    doc.core_properties.title = next(line for line in text.splitlines() if line.strip() and " | " not in line)
    doc.save(str(path))
    return path


CJK_FONT = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")  # Debian fonts-wqy-microhei
A4_INCHES = (8.27, 11.69)


def scan_pages(text: str, dpi: int, font_pt: float = 12.0) -> list[Any]:
    """`text` printed on A4 pages as a scanner would return them: greyscale images at `dpi`, one
    paragraph a line wrapped at the margins, no text layer (PIL images in mode L)."""
    from PIL import Image, ImageDraw, ImageFont

    width, height = (round(inches * dpi) for inches in A4_INCHES)
    font = ImageFont.truetype(str(CJK_FONT), round(font_pt * dpi / 72))
    margin, line_height = round(0.8 * dpi), round(font_pt * dpi / 72 * 1.6)
    pages: list[Any] = []
    y = height
    for paragraph in text.splitlines():
        lines = [""]
        for ch in paragraph:
            if font.getlength(lines[-1] + ch) > width - 2 * margin:
                lines.append("")
            lines[-1] += ch
        for line in lines:
            if y + line_height > height - margin:
                pages.append(Image.new("L", (width, height), 255))
                y = margin
            ImageDraw.Draw(pages[-1]).text((margin, y), line, font=font, fill=0)
            y += line_height
    return pages


def write_scanned_pdf(path: Path, text: str, dpi: int) -> int:
    """`text` as an image-only PDF (a scanned report); returns its pages."""
    pages = scan_pages(text, dpi)
    pages[0].save(path, save_all=True, append_images=pages[1:], resolution=dpi)
    return len(pages)
