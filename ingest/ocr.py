"""Chinese OCR of scanned pages (Tesseract with its Simplified Chinese data), page by page, with word boxes.

Offices publish stamped reports as scanned PDFs and images; their pages have no text layer. Each
such page is rendered (pypdfium2) or decoded (Pillow) and read by the `tesseract` binary in a pool
of `REPORTQA_OCR_WORKERS` threads, each waiting on its own tesseract process (one OpenMP thread
each: the pool is the parallelism). Tesseract's output is normalised (`normalize_ocr_line`: the
spaces it puts between Chinese characters and around numbers, full-width digits, O/l read inside
numbers) while every word keeps the span of the final text it became, so each `TextBox` points into
the stored text. Limits: pages to OCR per file, pixels per page, seconds per page; the process
reading the file (ingest/isolation.py) bounds memory and total time.
"""

from __future__ import annotations

import csv
import io
import logging
import os
import shutil
import subprocess
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from functools import lru_cache
from statistics import median
from typing import Any

from core.config import Settings
from core.models import Page, TextBox
from core.normalize import normalize_str
from core.vocabulary import PARAGRAPH_END

from .errors import ReportReadError
from .sections import starts_with_heading

log = logging.getLogger(__name__)

LANG = "chi_sim"
# Page segmentation mode 6 (one uniform block of text). Measured on the seed report rendered at
# 12 pt (4 A4 pages, 4961 characters; tests/test_ocr.py builds it): psm 6 read 99.7% of the
# characters at 100 dpi and 99.8% at 150 dpi, psm 3 (automatic layout, the default) 97.8% and
# 94.4%, psm 4 97.8% at 100 dpi; psm 6 was also the fastest.
PSM = "6"
POINTS_PER_INCH = 72.0
A4_POINTS = (595.0, 842.0)
# A line running to within this many character heights of the page's right text edge, without
# ending a sentence, was wrapped: its paragraph continues on the next line (as _unwrap in readers).
WRAP_SLACK_CHARS = 1.5
_BRACKETS = {"{": "(", "}": ")"}  # how Tesseract reads the full-width （ ） of (一) headings
_ZERO_LIKE = frozenset("OoＯｏ〇")  # read inside a number, these are 0
_ONE_LIKE = frozenset("lIｌＩ")  # and these are 1
_KEEP_SPACE_BESIDE = frozenset("|")  # table cells ("a | b") keep their separators
Progress = Callable[[int, int], None]  # (pages done, pages to do)


@dataclass(frozen=True)
class _PageImage:
    """A page to read: its image, the dpi to tell tesseract (None: unknown), page units per pixel and size."""

    image: Any  # a PIL image in mode L
    dpi: int | None
    unit: float
    width: float
    height: float


def _default(name: str) -> Any:
    return Settings.model_fields[name].default


@dataclass(frozen=True)
class OcrOptions:
    """How OCR runs for one file (defaults: the settings' defaults), and whom to tell of its progress."""

    tesseract_cmd: str = _default("tesseract_cmd")
    workers: int = _default("ocr_workers")
    dpi: int = _default("ocr_dpi")
    max_pages: int = _default("ocr_max_pages")
    page_timeout_s: float = _default("ocr_page_timeout_s")
    max_page_pixels: int = int(_default("ocr_max_page_megapixels") * 1_000_000)
    progress: Progress | None = field(default=None, compare=False)

    @classmethod
    def from_settings(cls, settings: Settings, progress: Progress | None = None) -> OcrOptions:
        return cls(settings.tesseract_cmd, settings.ocr_workers, settings.ocr_dpi, settings.ocr_max_pages,
                   settings.ocr_page_timeout_s, int(settings.ocr_max_page_megapixels * 1_000_000), progress)


@dataclass(frozen=True)
class PageText:
    """One page's text (ending in a line break, or empty), its size and its boxes, whose spans
    index this page's text (`assemble` moves them into the report's and numbers their page)."""

    text: str
    width: float  # PDF points for a PDF page (text layer or rendered); pixels for an image
    height: float
    boxes: tuple[TextBox, ...]
    wraps: bool = False  # OCR: its last line runs to the right edge mid-sentence, the paragraph goes on overleaf


# --- availability ---------------------------------------------------------------------------

@lru_cache(maxsize=8)
def unavailable_reason(cmd: str) -> str | None:
    """Why OCR cannot run with this tesseract command (binary or its chi_sim data missing), or None
    when it can; asked once a process. Tests skip on it."""
    path = shutil.which(cmd)
    if path is None:
        return f"tesseract not found ('{cmd}')"
    try:
        listed = subprocess.run([path, "--list-langs"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"tesseract ('{cmd}') does not run: {exc}"
    if LANG not in listed.stdout.split():
        return f"tesseract has no Simplified Chinese data ({LANG})"
    return None


def require_tesseract(cmd: str) -> None:
    """Raise a plain ReportReadError when OCR cannot run, naming what to install or set."""
    reason = unavailable_reason(cmd)
    if reason is not None:
        raise ReportReadError(f"OCR is unavailable: {reason}; install the Debian packages tesseract-ocr and "
                              "tesseract-ocr-chi-sim (make install), or set REPORTQA_TESSERACT_CMD")


# --- which pages need it ----------------------------------------------------------------------

def pdf_needs_ocr(data: bytes) -> bool:
    """Whether a PDF has a page without a text layer (pdfium's text of each page until one is empty;
    nothing is rendered), so an upload can tell it needs OCR before the file is read."""
    import pypdfium2

    try:
        pdf = pypdfium2.PdfDocument(data)
    except Exception as exc:  # pdfium raises PdfiumError on anything it cannot open
        raise ReportReadError(f"cannot read PDF: {type(exc).__name__}: {exc}") from exc
    try:
        for i in range(len(pdf)):
            page = pdf[i]
            textpage = page.get_textpage()
            blank = not textpage.get_text_range().strip()
            textpage.close()
            page.close()
            if blank:
                return True
        return False
    finally:
        pdf.close()


def check_page_count(pages: int, options: OcrOptions) -> None:
    """Refuse, before any page is read, a file with more pages to OCR than the limit."""
    if pages > options.max_pages:
        raise ReportReadError(f"refused: {pages} pages need OCR (limit REPORTQA_OCR_MAX_PAGES = {options.max_pages}); "
                              "split the scan or raise the limit")


# --- reading pages ------------------------------------------------------------------------------

def ocr_pdf_pages(data: bytes, indices: Sequence[int], options: OcrOptions) -> dict[int, PageText]:
    """OCR the PDF pages `indices` (0-based), rendered at `options.dpi` (less for a page too large for
    `max_page_pixels`); boxes and sizes in PDF points, like the text layer's."""
    import pypdfium2

    check_page_count(len(indices), options)
    require_tesseract(options.tesseract_cmd)
    pdf = pypdfium2.PdfDocument(data)

    def images() -> Iterator[_PageImage]:
        for i in indices:  # pdfium is not thread-safe: pages are rendered here, one after another
            page = pdf[i]
            width, height = page.get_size()
            scale = min(options.dpi / POINTS_PER_INCH, (options.max_page_pixels / max(1.0, width * height)) ** 0.5)
            image = page.render(scale=scale, grayscale=True).to_pil()
            page.close()
            yield _PageImage(image, round(scale * POINTS_PER_INCH), 1 / scale, width, height)

    try:
        return dict(zip(indices, _ocr_all(images(), len(indices), options), strict=True))
    finally:
        pdf.close()


def ocr_image(data: bytes, options: OcrOptions) -> list[PageText]:
    """OCR every frame of an image file (a TIFF may hold many pages); sizes and boxes in pixels."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        image = Image.open(io.BytesIO(data))
        frames = getattr(image, "n_frames", 1)
        check_page_count(frames, options)
        width, height = image.size
        if width * height > options.max_page_pixels:
            raise ReportReadError(f"refused: the image has {width * height / 1e6:.0f} million pixels (limit "
                                  f"REPORTQA_OCR_MAX_PAGE_MEGAPIXELS = {options.max_page_pixels / 1e6:g})")
        require_tesseract(options.tesseract_cmd)

        def images() -> Iterator[_PageImage]:
            for n in range(frames):
                image.seek(n)
                frame = ImageOps.exif_transpose(image).convert("L")  # a phone photo stands as it was taken
                size = frame.width * frame.height
                if size > options.max_page_pixels:
                    raise ReportReadError(f"refused: page {n + 1} of the image is too large (limit "
                                          f"REPORTQA_OCR_MAX_PAGE_MEGAPIXELS = {options.max_page_pixels / 1e6:g})")
                dpi = _image_dpi(image)
                # A scan below the OCR resolution is read enlarged, as a PDF page would be rendered, but
                # no larger than an A4 page at that resolution: many large images claim 72 dpi.
                a4 = A4_POINTS[0] * A4_POINTS[1] * (options.dpi / POINTS_PER_INCH) ** 2
                scale = min(options.dpi / dpi, (min(a4, options.max_page_pixels) / size) ** 0.5) if dpi else 1.0
                if dpi and scale > 1:
                    enlarged = frame.resize((round(frame.width * scale), round(frame.height * scale)), Image.Resampling.LANCZOS)
                    yield _PageImage(enlarged, round(dpi * scale), 1 / scale, float(frame.width), float(frame.height))
                else:
                    yield _PageImage(frame, dpi, 1.0, float(frame.width), float(frame.height))

        return _ocr_all(images(), frames, options)
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise ReportReadError(f"cannot read the image: {type(exc).__name__}: {exc}") from exc


def _ocr_all(images: Iterator[_PageImage], total: int, options: OcrOptions) -> list[PageText]:
    """Each page image through tesseract in the worker pool, in page order; at most two pages a
    worker wait rendered, so memory stays flat for long scans."""
    done = 0
    if options.progress is not None:
        options.progress(0, total)
    results: list[PageText] = []
    with ThreadPoolExecutor(max_workers=options.workers, thread_name_prefix="ocr") as pool:
        queue: list[Future[PageText]] = []

        def collect(future: Future[PageText]) -> None:
            nonlocal done
            results.append(future.result())
            done += 1
            if options.progress is not None:
                options.progress(done, total)

        try:
            for page in images:
                queue.append(pool.submit(_ocr_page, page, options))
                while len(queue) >= 2 * options.workers:
                    collect(queue.pop(0))
            while queue:
                collect(queue.pop(0))
        finally:
            for future in queue:
                future.cancel()
    return results


def _image_dpi(image: Any) -> int | None:
    dpi = image.info.get("dpi")
    return round(float(dpi[0])) if dpi and float(dpi[0]) > 1 else None


def _ocr_page(page: _PageImage, options: OcrOptions) -> PageText:
    """One page image through tesseract: its lines, normalised, joined into paragraphs."""
    buffer = io.BytesIO()
    page.image.save(buffer, format="PPM")  # uncompressed: the fastest to write and for tesseract to read
    command = [options.tesseract_cmd, "stdin", "stdout", "-l", LANG, "--psm", PSM]
    if page.dpi:
        command += ["--dpi", str(page.dpi)]
    try:
        done = subprocess.run([*command, "tsv"], input=buffer.getvalue(), capture_output=True,
                              timeout=options.page_timeout_s, env={**os.environ, "OMP_THREAD_LIMIT": "1"})
    except subprocess.TimeoutExpired as exc:
        raise ReportReadError(f"refused: OCR of one page ran past {options.page_timeout_s:g} s "
                              "(limit REPORTQA_OCR_PAGE_TIMEOUT_S)") from exc
    if done.returncode != 0:
        raise ReportReadError(f"OCR failed: tesseract exit code {done.returncode}: "
                              f"{done.stderr.decode(errors='replace').strip()[-300:]}")
    lines = [_line(words, page.unit) for words in _tsv_lines(done.stdout.decode("utf-8", errors="replace"))]
    return _page(lines, page.width, page.height)


def _tsv_lines(tsv: str) -> list[list[dict[str, str]]]:
    """Tesseract's TSV words, grouped by line in reading order (empty words dropped)."""
    lines: dict[tuple[str, str, str], list[dict[str, str]]] = {}
    for row in csv.DictReader(io.StringIO(tsv), delimiter="\t", quoting=csv.QUOTE_NONE):
        if row.get("level") == "5" and (row.get("text") or "").strip():
            lines.setdefault((row["block_num"], row["par_num"], row["line_num"]), []).append(row)
    return list(lines.values())


# --- normalisation with the map back to words ----------------------------------------------------

@dataclass(frozen=True)
class _Line:
    text: str
    spans: list[tuple[int, int]]  # each word's span of `text` (empty when the word normalised away)
    boxes: list[tuple[float, float, float, float]]  # each word's box in page units
    x1: float
    height: float


def _line(words: list[dict[str, str]], unit: float) -> _Line:
    boxes = []
    for w in words:
        x0, top = float(w["left"]) * unit, float(w["top"]) * unit
        boxes.append((x0, top, x0 + float(w["width"]) * unit, top + float(w["height"]) * unit))
    text, spans = normalize_ocr_line([w["text"].strip() for w in words])
    return _Line(text, spans, boxes, max(b[2] for b in boxes), median(b[3] - b[1] for b in boxes))


def _alnum(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


def _fold_width(ch: str) -> str:
    """Full-width digits, letters and ％ as ASCII, braces as the brackets they were; Chinese
    punctuation stays as printed."""
    if "０" <= ch <= "９" or "Ａ" <= ch <= "Ｚ" or "ａ" <= ch <= "ｚ" or ch == "％":
        return unicodedata.normalize("NFKC", ch)
    return _BRACKETS.get(ch, ch)


def normalize_ocr_line(words: Sequence[str]) -> tuple[str, list[tuple[int, int]]]:
    """One OCR line's words as text, and each word's span of it.

    The words are joined by spaces, then a space is kept only between two Latin letters or digits
    (APP 2.0) or beside a table's '|'; the spaces Tesseract puts between Chinese characters and
    around numbers (2019 年, 98.3 %) go. Full-width digits and letters become ASCII, { } become
    ( ). O, o and 〇
    read inside a number (beside a digit, not beside a Latin letter) become 0, and l and I become 1.
    """
    chars: list[tuple[str, int]] = []  # (character, the word it came from; -1 for a joining space)
    for n, word in enumerate(words):
        if chars:
            chars.append((" ", -1))
        chars.extend((_fold_width(ch), n) for ch in " ".join(word.split()))
    kept: list[tuple[str, int]] = []
    for i, (ch, n) in enumerate(chars):
        if ch == " ":
            before = kept[-1][0] if kept else ""
            after = chars[i + 1][0] if i + 1 < len(chars) else ""
            if not before or before == " " or after == " ":
                continue
            if not (_alnum(before) and _alnum(after)) and not {before, after} & _KEEP_SPACE_BESIDE:
                continue
        kept.append((ch, n))
    fixed = _digits_read_as_letters([ch for ch, _ in kept])
    text = "".join(fixed)
    spans = []
    for n in range(len(words)):
        positions = [i for i, (_, w) in enumerate(kept) if w == n]
        spans.append((positions[0], positions[-1] + 1) if positions else (0, 0))
    return text, spans


def _digits_read_as_letters(chars: list[str]) -> list[str]:
    """O/o/〇 -> 0 and l/I -> 1 where they stand inside a number (repeated, so 1OO% becomes 100%)."""
    out = list(chars)
    changed = True
    while changed:
        changed = False
        for i, ch in enumerate(out):
            if ch not in _ZERO_LIKE and ch not in _ONE_LIKE:
                continue
            left = out[i - 1] if i > 0 else ""
            right = out[i + 1] if i + 1 < len(out) else ""
            beside_digit = left.isascii() and left.isdigit() or right.isascii() and right.isdigit()
            beside_letter = any(c.isascii() and c.isalpha() and c not in _ZERO_LIKE | _ONE_LIKE for c in (left, right))
            if beside_digit and not beside_letter:
                out[i] = "0" if ch in _ZERO_LIKE else "1"
                changed = True
    return out


def _page(lines: list[_Line], width: float, height: float) -> PageText:
    """Lines into paragraphs (a wrapped line continues its paragraph), one paragraph a line of text."""
    lines = [ln for ln in lines if ln.text]
    slack = WRAP_SLACK_CHARS * median([ln.height for ln in lines] or [0.0])
    right_edge = max((ln.x1 for ln in lines), default=0.0)
    if sum(ln.x1 >= right_edge - slack for ln in lines) < 2:
        right_edge = float("inf")  # no margin two lines reach: the longest line is no proof of a wrap
    wraps = bool(lines) and _wrapped(lines[-1], right_edge, slack)
    text = io.StringIO()
    pos = 0
    boxes: list[TextBox] = []
    for k, ln in enumerate(lines):
        if k and not _continues(lines[k - 1], ln, right_edge, slack):
            text.write("\n")
            pos += 1
        text.write(ln.text)
        boxes.extend(TextBox(pos + s, pos + e, 0, *box) for (s, e), box in zip(ln.spans, ln.boxes, strict=True) if e > s)
        pos += len(ln.text)
    if lines:
        text.write("\n")
    return PageText(text.getvalue(), width, height, tuple(boxes), wraps)


def _wrapped(line: _Line, right_edge: float, slack: float) -> bool:
    return line.x1 >= right_edge - slack and not line.text.endswith(PARAGRAPH_END)


def _continues(line: _Line, following: _Line, right_edge: float, slack: float) -> bool:
    return _wrapped(line, right_edge, slack) and not starts_with_heading(normalize_str(following.text))


# --- the report's text, pages and boxes ----------------------------------------------------------

def page_text(text: str, page: Page, boxes: Sequence[TextBox]) -> PageText:
    """A page of a PDF's text layer as a part for `assemble`: its span of `text` and its boxes."""
    shift = page.char_start
    return PageText(text[page.char_start:page.char_end], page.width, page.height,
                    tuple(replace(b, char_start=b.char_start - shift, char_end=b.char_end - shift)
                          for b in boxes if b.page == page.number))


def assemble(parts: Sequence[PageText]) -> tuple[str, tuple[Page, ...], tuple[TextBox, ...]]:
    """Pages in order (text-layer pages and OCR pages) as one text with its pages and boxes.

    A paragraph an OCR page leaves open goes on at the top of the next page.
    """
    out = io.StringIO()
    pos = 0
    pages: list[Page] = []
    boxes: list[TextBox] = []
    for number, part in enumerate(parts, start=1):
        text = part.text
        following = parts[number] if number < len(parts) else None
        if (part.wraps and following is not None and following.text
                and not starts_with_heading(normalize_str(following.text.split("\n", 1)[0]))):
            text = text.removesuffix("\n")
        boxes.extend(replace(b, char_start=pos + b.char_start, char_end=pos + b.char_end, page=number)
                     for b in part.boxes)
        out.write(text)
        pages.append(Page(number, pos, pos + len(text), part.width, part.height))
        pos += len(text)
    return out.getvalue(), tuple(pages), tuple(boxes)
