"""Bytes to text: UTF-8, GB18030/GBK and UTF-16 files are all common in government archives."""

from __future__ import annotations

import codecs

from charset_normalizer import from_bytes

from .errors import ReportReadError

_BOMS = [
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
]
_GB_FAMILY = {"gb2312", "gbk", "gb18030", "hz", "cp936"}
MAX_CONTROL_SHARE = 0.02


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
        raise ReportReadError("binary or undecodable content")
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
