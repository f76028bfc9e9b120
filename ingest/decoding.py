"""Bytes to text: UTF-8, GB18030/GBK and UTF-16 files are all common in government archives."""

from __future__ import annotations

import codecs
import re

from charset_normalizer import from_bytes

from .errors import ReportReadError

_BOMS = [
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
]
_GB_FAMILY = {"gb2312", "gbk", "gb18030", "hz", "cp936"}
MAX_CONTROL_SHARE = 0.02
# UTF-16 without BOM: the seed report (UTF-16LE) has 747 NULs on the odd side and 66 on the even.
UTF16_NUL_SKEW = 4
MIN_UTF16_NULS = 8
MIN_PLAIN_SHARE = 0.95  # random bytes decode to ~35 % CJK and ASCII
_PLAIN_TEXT = re.compile(r"[\t\n\r\x20-\x7e\u00a0-\u024f\u2000-\u206f\u2460-\u24ff\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")


def _control_share(text: str) -> float:
    bad = sum(1 for ch in text if (ord(ch) < 32 and ch not in "\n\r\t\f") or ch == "\ufffd")
    return bad / max(1, len(text))


def _finish(text: str, encoding: str) -> tuple[str, str]:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if _control_share(text) > MAX_CONTROL_SHARE:
        raise ReportReadError("binary or undecodable content")
    if not text.strip():
        raise ReportReadError("empty file")
    return text, encoding


def _utf16_without_bom(data: bytes) -> tuple[str, str] | None:
    """UTF-16 saved without a byte order mark, when the bytes leave no doubt; None otherwise.

    ASCII characters (digits, newlines, spaces) put a NUL byte on one side of each code unit:
    the odd side in little-endian, the even side in big-endian; CJK characters rarely do (一 is
    U+4E00). So NULs mostly on one side, a strict decode, and text that is nearly all Chinese,
    ASCII and punctuation is UTF-16; binary data has NULs on both sides and decodes to noise.
    """
    if len(data) % 2:
        return None
    even, odd = data[0::2].count(0), data[1::2].count(0)
    if max(even, odd) < UTF16_NUL_SKEW * min(even, odd) or max(even, odd) < MIN_UTF16_NULS:
        return None
    try:
        text = data.decode("utf-16-le" if odd > even else "utf-16-be")
    except UnicodeDecodeError:
        return None
    plain = len(_PLAIN_TEXT.findall(text))
    return (text, "utf-16") if "\x00" not in text and plain >= MIN_PLAIN_SHARE * len(text) else None


def decode_text(data: bytes) -> tuple[str, str]:
    """The text of a file and the encoding it was in; raises ReportReadError if it is not text."""
    if not data.strip():
        raise ReportReadError("empty file")
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return _finish(data.decode(encoding), encoding.replace("-sig", ""))
            except UnicodeDecodeError as exc:
                raise ReportReadError(f"undecodable text ({encoding}): {exc.reason}") from exc
    if b"\x00" in data:
        utf16 = _utf16_without_bom(data)
        if utf16 is None:
            raise ReportReadError("binary or undecodable content")
        return _finish(*utf16)
    try:
        return _finish(data.decode("utf-8"), "utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return _finish(data.decode("gb18030"), "gb18030")
    except UnicodeDecodeError:
        pass
    best = from_bytes(data).best()
    if best is None:
        raise ReportReadError("binary or undecodable content")
    encoding = "gb18030" if best.encoding.lower() in _GB_FAMILY else best.encoding
    return _finish(str(best), encoding)
