"""What a file really is, judged by its bytes, and whether it is safe to parse.

Uploads arrive with names anyone can choose, so the format comes from the content
(magic bytes): PDF, DOCX (a zip holding word/document.xml), OFD (a zip holding OFD.xml),
an old Word file (an OLE compound file holding a WordDocument stream: .doc, and WPS
Office's .wps), a scan (PNG, JPEG, TIFF) or text (HTML is text that looks like markup).
Executables, other archives, other OLE files (spreadsheets, installers) and other binary
formats are refused. A PDF with more pages than allowed, or a DOCX or OFD whose zip would inflate far beyond its
size (a zip bomb), is refused from its page count and zip directory alone, before
any parser walks it; a DOCX whose text runs past the character limit is refused while
its document.xml inflates, before python-docx loads it whole; an encrypted Word file is
refused before LibreOffice is started. The CLI and the API both go through `check_content`.
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from dataclasses import dataclass

from core.config import Settings

from .errors import ReportReadError

# (magic prefix, what it is): refused before any parser sees them.
_EXECUTABLES = [
    (b"MZ", "a Windows executable"),
    (b"\x7fELF", "an ELF executable"),
    (b"\xcf\xfa\xed\xfe", "a Mach-O executable"),
    (b"\xce\xfa\xed\xfe", "a Mach-O executable"),
    (b"\xca\xfe\xba\xbe", "a Mach-O or Java class file"),
    (b"#!", "a script"),
    (b"\x00asm", "a WebAssembly module"),
]
_ARCHIVES = [
    (b"\x1f\x8b", "a gzip archive"),
    (b"BZh", "a bzip2 archive"),
    (b"\xfd7zXZ\x00", "an xz archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7z archive"),
    (b"Rar!\x1a\x07", "a RAR archive"),
    (b"\x28\xb5\x2f\xfd", "a zstd archive"),
]
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# (magic prefix, kind): the scans OCR reads (ingest/ocr.py); the kind is also the upload's suffix.
_IMAGES = [
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpg"),
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
]
_DOCX_MAIN = "word/document.xml"
_OFD_MAIN = "OFD.xml"
_WORD_STREAM = "WordDocument"
_FIB_FLAGS = slice(10, 12)  # the Word 97 file header's flags (MS-DOC 2.5.2, FibBase)
_FIB_ENCRYPTED = 0x0100  # fEncrypted: the document is password-protected (XOR or RC4)
_W_TEXT = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}t"
_HTML_HINT = re.compile(rb"^\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body|meta|title|div|p|table)\b", re.I | re.S)
_KINDS_BY_FORMAT = {"txt": "text", "md": "text", "html": "text", "docx": "docx", "pdf": "pdf", "doc": "doc", "wps": "doc",
                    "ofd": "ofd", "png": "png", "jpg": "jpg", "tiff": "tiff"}
_KIND_NAMES = {"pdf": "a PDF", "docx": "a DOCX (zip) file", "text": "text", "doc": "an old Word (OLE) file",
               "ofd": "an OFD (zip) file", "png": "a PNG image", "jpg": "a JPEG image", "tiff": "a TIFF image"}


def _default(name: str) -> float:
    return float(Settings.model_fields[name].default)


@dataclass(frozen=True)
class FileLimits:
    """How much a single file may ask of the parsers (defaults: the settings' defaults)."""

    max_bytes: int
    max_pdf_pages: int = int(_default("max_pdf_pages"))
    max_docx_uncompressed_bytes: int = int(_default("max_docx_uncompressed_mb") * 1024 * 1024)
    max_docx_ratio: float = _default("max_docx_ratio")
    max_docx_entries: int = 5000
    max_text_chars: int = int(_default("max_text_chars"))
    convert_timeout_s: float = _default("convert_timeout_s")

    @classmethod
    def from_settings(cls, settings: Settings) -> FileLimits:
        return cls(
            max_bytes=int(settings.max_file_mb * 1024 * 1024),
            max_pdf_pages=settings.max_pdf_pages,
            max_docx_uncompressed_bytes=int(settings.max_docx_uncompressed_mb * 1024 * 1024),
            max_docx_ratio=settings.max_docx_ratio,
            max_text_chars=settings.max_text_chars,
            convert_timeout_s=settings.convert_timeout_s,
        )


def sniff(data: bytes) -> str:
    """'pdf', 'docx', 'ofd', 'doc', 'png', 'jpg', 'tiff' or 'text' from the bytes; raises ReportReadError for anything else."""
    head = data[:16]
    if head.startswith(b"%PDF"):
        return "pdf"
    for magic, kind in _IMAGES:
        if head.startswith(magic):
            return kind
    if head.startswith(_ZIP_MAGIC):
        return _zip_kind(data)
    if head.startswith(_OLE_MAGIC):
        if _ole_has_word(data):
            return "doc"
        _refuse("an OLE file that is not a Word document (a spreadsheet, a presentation, an installer or a Microsoft "
                "Works file?)")
    if len(data) > 262 and data[257:262] == b"ustar":
        _refuse("a tar archive")
    for magic, what in _EXECUTABLES:
        if head.startswith(magic):
            _refuse(what)
    for magic, what in _ARCHIVES:
        if head.startswith(magic):
            _refuse(what)
    return "text"


def looks_like_html(data: bytes) -> bool:
    """Text that opens with markup (a saved web page), whatever its name."""
    start = data[:4096]
    for bom in (b"\xef\xbb\xbf",):
        start = start.removeprefix(bom)
    return bool(_HTML_HINT.match(start))


def check_content(data: bytes, declared_format: str, limits: FileLimits) -> None:
    """Refuse a file whose bytes are not the format its name declares, or that exceeds the limits."""
    kind = sniff(data)
    expected = _KINDS_BY_FORMAT[declared_format]
    if kind != expected:
        fmt = declared_format.upper()
        raise ReportReadError(f"cannot read {fmt}: not a {fmt} file (the content is {_KIND_NAMES[kind]})")
    if kind in ("docx", "ofd"):
        check_zip(data, limits, kind.upper())
    if kind == "docx":
        check_docx_text(data, limits.max_text_chars)
    elif kind == "pdf":
        check_pdf_pages(data, limits.max_pdf_pages)
    elif kind == "doc":
        check_word_unencrypted(data, declared_format)


def _refuse(what: str) -> str:
    raise ReportReadError(f"refused: the file is {what}; only report files (PDF, DOCX, DOC, WPS, OFD, HTML, text, "
                          "scans as PNG, JPEG or TIFF) are accepted")


def _zip_kind(data: bytes) -> str:
    """'docx' or 'ofd' for a zip holding a report's main part; any other zip is refused."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = set(zf.namelist())
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise ReportReadError(f"cannot read DOCX or OFD: broken zip file ({exc})") from exc
    if _DOCX_MAIN in names:
        return "docx"
    if _OFD_MAIN in names:
        return "ofd"
    return _refuse("an archive (zip) that is not a DOCX or OFD report")


def _ole_has_word(data: bytes) -> bool:
    """Whether an OLE compound file holds a Word 97 document stream (what .doc and WPS's .wps hold)."""
    import olefile

    try:
        with olefile.OleFileIO(io.BytesIO(data)) as ole:
            return bool(ole.exists(_WORD_STREAM))
    except Exception as exc:  # olefile raises assorted errors (OSError, struct.error, IndexError) on a broken file
        raise ReportReadError(f"cannot read DOC: broken OLE file ({type(exc).__name__}: {exc})") from exc


def check_word_unencrypted(data: bytes, declared_format: str) -> None:
    """Refuse a password-protected Word file from its header's fEncrypted flag, before LibreOffice
    is started (headless, it cannot ask for the password)."""
    import olefile

    try:
        with olefile.OleFileIO(io.BytesIO(data)) as ole, ole.openstream(_WORD_STREAM) as stream:
            header = stream.read(_FIB_FLAGS.stop)
    except Exception as exc:  # as in _ole_has_word
        raise ReportReadError(f"cannot read {declared_format.upper()}: broken OLE file ({type(exc).__name__}: {exc})") from exc
    if len(header) < _FIB_FLAGS.stop:
        raise ReportReadError(f"cannot read {declared_format.upper()}: its Word document stream is truncated")
    if int.from_bytes(header[_FIB_FLAGS], "little") & _FIB_ENCRYPTED:
        raise ReportReadError(f"cannot read {declared_format.upper()}: it is password-protected; "
                              "save a copy without a password and ingest that")


def check_zip(data: bytes, limits: FileLimits, fmt: str) -> None:
    """Refuse a zip bomb (a DOCX or an OFD) from its directory: too many entries, too much inflated,
    or inflating too steeply.

    Python's zipfile stops inflating an entry at its declared size, so the declared
    sizes checked here bound what the DOCX and OFD parsers can ever read.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise ReportReadError(f"cannot read {fmt}: broken zip file ({exc})") from exc
    if len(infos) > limits.max_docx_entries:
        raise ReportReadError(f"refused: {fmt} holds {len(infos)} zip entries (limit {limits.max_docx_entries})")
    total = sum(i.file_size for i in infos)
    if total > limits.max_docx_uncompressed_bytes:
        raise ReportReadError(
            f"refused: {fmt} would inflate to {total / 1e6:.0f} MB "
            f"(limit {limits.max_docx_uncompressed_bytes / 1e6:.0f} MB): a zip bomb?"
        )
    for info in infos:
        ratio = info.file_size / max(1, info.compress_size)
        if info.file_size > 1024 * 1024 and ratio > limits.max_docx_ratio:
            raise ReportReadError(
                f"refused: {fmt} entry {info.filename} inflates {ratio:.0f}x (limit {limits.max_docx_ratio:.0f}x): a zip bomb?"
            )


def too_much_text(chars: int, limit: int) -> ReportReadError:
    """The refusal of a file whose text runs past the character limit (named so an admin can raise it)."""
    return ReportReadError(f"refused: the text runs past {limit:,} characters (limit REPORTQA_MAX_TEXT_CHARS); "
                           f"at least {chars:,} found")


def check_docx_text(data: bytes, max_chars: int) -> None:
    """Refuse a DOCX whose text runs past `max_chars`, counted while word/document.xml inflates.

    A zip under the ratio limit can still inflate to hundreds of MB of text, which python-docx
    would load whole (minutes and GBs); streaming stops at the limit after reading about that much.
    """
    from lxml import etree

    chars = 0
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf, zf.open(_DOCX_MAIN) as xml:
            for _, element in etree.iterparse(xml, events=("end",), resolve_entities=False, no_network=True):
                if element.tag == _W_TEXT:
                    chars += len(element.text or "")
                    if chars > max_chars:
                        raise too_much_text(chars, max_chars)
                element.clear(keep_tail=True)  # keep memory flat: drop what was counted
                while element.getprevious() is not None:
                    del element.getparent()[0]
    except (zipfile.BadZipFile, KeyError, OSError, EOFError, zlib.error, etree.LxmlError) as exc:
        raise ReportReadError(f"cannot read DOCX: {type(exc).__name__}: {exc}") from exc


def pdf_page_count(data: bytes) -> int:
    """Pages of a PDF from its page tree (pdfium; no page is parsed)."""
    import pypdfium2

    try:
        pdf = pypdfium2.PdfDocument(data)
    except Exception as exc:  # pdfium raises PdfiumError on anything it cannot open
        raise ReportReadError(f"cannot read PDF: {type(exc).__name__}: {exc}") from exc
    try:
        return len(pdf)
    finally:
        pdf.close()


def check_pdf_pages(data: bytes, max_pages: int) -> None:
    pages = pdf_page_count(data)
    if pages > max_pages:
        raise ReportReadError(f"refused: PDF has {pages} pages (limit {max_pages})")
