"""Draw one page of a kept PDF or scan as a PNG, so a citation can be shown boxed on the page it is printed on."""

from __future__ import annotations

import io
import threading
from pathlib import Path

from .errors import RequestError

# pdfium is not thread-safe: one page is drawn at a time in this process (an A4 page at scale 2
# takes tens of milliseconds).
_PDFIUM = threading.Lock()


def render_page(path: Path, number: int, scale: float, max_pixels: int, is_pdf: bool = True) -> bytes:
    """Page `number` (1-based) of the PDF at `path` (`scale` pixels a point) or of the scanned image
    (`scale` pixels a pixel of the scan; a TIFF's frames are its pages), as PNG bytes; a 422
    RequestError when the image would have more than `max_pixels` pixels."""
    if not is_pdf:
        return _render_scan(path, number, scale, max_pixels)
    import pypdfium2 as pdfium

    with _PDFIUM:
        pdf = pdfium.PdfDocument(str(path))
        try:
            page = pdf[number - 1]
            width, height = page.get_size()
            pixels = round(width * scale) * round(height * scale)
            _check_size(number, scale, pixels, max_pixels)
            image = page.render(scale=scale).to_pil()
        finally:
            pdf.close()
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def _render_scan(path: Path, number: int, scale: float, max_pixels: int) -> bytes:
    from PIL import Image, ImageOps

    with Image.open(path) as scan:
        scan.seek(number - 1)
        page = ImageOps.exif_transpose(scan)  # as OCR read it
        size = (round(page.width * scale), round(page.height * scale))
        _check_size(number, scale, size[0] * size[1], max_pixels)
        out = io.BytesIO()
        page.convert("RGB").resize(size, Image.Resampling.LANCZOS).save(out, format="PNG")
    return out.getvalue()


def _check_size(number: int, scale: float, pixels: int, max_pixels: int) -> None:
    if pixels > max_pixels:
        raise RequestError(422, f"page {number} at scale {scale:g} would be {pixels:,} pixels, over the "
                                f"limit REPORTQA_PAGE_IMAGE_MAX_PIXELS = {max_pixels:,}: ask a smaller scale")
