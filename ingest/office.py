"""Old Word files (.doc, and WPS Office's .wps: the same Word 97 binary in an OLE file) read as DOCX.

Kingsoft's .wps is the Word 97 format with extensions of its own, which LibreOffice reads as a .doc
and whose extensions it ignores (a LibreOffice developer on its mailing list, July 2025); Microsoft
Works' older .wps is another format and is refused by ingest/safety.py.

LibreOffice, headless, converts the file to DOCX and the DOCX reader reads that, tables and all.
Each conversion gets its own throw-away profile folder: LibreOffice runs one instance per profile,
so conversions sharing one collide (the second hands its file to the first and exits). A conversion
runs in its own process group, killed whole at the time limit (soffice starts soffice.bin below it).
Where LibreOffice is absent, catdoc's text is read instead: it keeps paragraphs and table rows
(cells split by tabs) but drops a table that ends the document; antiword keeps tables too but
refuses short files ("the text stream of this file is too small to handle"), so it is not used.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import tempfile
from dataclasses import replace
from pathlib import Path

from .errors import ReportReadError
from .readers import ReadResult, _collapse, _join, _read_docx, table_lines
from .safety import FileLimits, check_content

log = logging.getLogger(__name__)

LIBREOFFICE_COMMANDS = ("soffice", "libreoffice")
CATDOC = "catdoc"
_NOT_LOADED = "source file could not be loaded"  # what soffice prints (exit code 0) for a file it cannot open


def libreoffice() -> str | None:
    """The LibreOffice command on PATH, or None."""
    return next((found for name in LIBREOFFICE_COMMANDS if (found := shutil.which(name))), None)


def read_word97(path: Path, fmt: str, limits: FileLimits) -> ReadResult:
    """Read a .doc or .wps: LibreOffice to DOCX, then the DOCX reader; catdoc where LibreOffice is absent."""
    soffice = libreoffice()
    if soffice is not None:
        with tempfile.TemporaryDirectory(prefix="reportqa-office-") as tmp:
            converted = convert_to_docx(soffice, path, Path(tmp), limits.convert_timeout_s)
            data = converted.read_bytes()
            check_content(data, "docx", limits)  # what LibreOffice wrote is held to the DOCX limits too
            return replace(_read_docx(converted, data), format=fmt)
    catdoc = shutil.which(CATDOC)
    if catdoc is not None:
        log.info("LibreOffice is not installed: reading %s with catdoc", path.name)
        return ReadResult(_catdoc_text(catdoc, path, limits.convert_timeout_s, fmt), fmt, None)
    raise ReportReadError(f"cannot read .{fmt}: LibreOffice is not installed (Debian package libreoffice-writer-nogui)")


def convert_to_docx(soffice: str, path: Path, work: Path, timeout_s: float) -> Path:
    """The DOCX LibreOffice makes of `path`, written under `work` (with its private profile)."""
    source = work / "in" / f"report{path.suffix.lower()}"  # a plain name: nothing in it reads as an option
    source.parent.mkdir()
    shutil.copyfile(path, source)
    out = work / "out"
    argv = [soffice, f"-env:UserInstallation={(work / 'profile').as_uri()}", "--headless", "--norestore",
            "--convert-to", "docx:MS Word 2007 XML", "--outdir", str(out), str(source)]
    done = _run(argv, timeout_s)
    converted = out / "report.docx"
    if not converted.is_file():
        said = f"LibreOffice: {_NOT_LOADED}" if _NOT_LOADED in done.stdout + done.stderr else \
            f"LibreOffice wrote no DOCX, exit code {done.returncode}"
        raise ReportReadError(f"cannot read {path.suffix.lstrip('.').upper()}: the file is damaged or not a Word "
                              f"document ({said})")
    return converted


def _run(argv: list[str], timeout_s: float) -> subprocess.CompletedProcess[str]:
    """Run a converter in its own process group; what it printed, or a refusal past the time limit."""
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                            start_new_session=True, text=True, encoding="utf-8", errors="replace")
    try:
        stdout, stderr = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise ReportReadError(f"refused: still converting after {timeout_s:g} s "
                              "(limit REPORTQA_CONVERT_TIMEOUT_S)") from None
    return subprocess.CompletedProcess(argv, proc.returncode, stdout, stderr)


def _catdoc_text(catdoc: str, path: Path, timeout_s: float, fmt: str) -> str:
    """catdoc's text of a Word file: a paragraph a line, table rows as tab-separated cells."""
    done = _run([catdoc, "-d", "utf-8", "-w", str(path)], timeout_s)
    if done.returncode != 0:
        raise ReportReadError(f"cannot read {fmt.upper()}: catdoc failed ({done.stderr.strip()[:200]})")
    lines: list[str] = []
    rows: list[list[str]] = []
    for line in done.stdout.splitlines():
        if "\t" in line:
            rows.append(line.split("\t"))
            continue
        if not line.strip():
            continue  # catdoc puts a blank line after every paragraph and row
        lines.extend(table_lines(rows))
        rows = []
        lines.append(_collapse(line))
    lines.extend(table_lines(rows))
    if not any(lines):
        raise ReportReadError(f"cannot read {fmt.upper()}: catdoc found no text (damaged, or not a Word document)")
    return _join(lines)
