"""Parse one file in a child process under a time and memory limit, so a hostile file cannot hold its caller.

A file can keep a parser busy for minutes and gigabytes within every size limit (a 1.5 MB DOCX
inflating to 150 MB held an upload for over 6 minutes at 1.5 GB). Parsed in a child, it costs the
caller nothing while it runs: the child has an address-space limit (setrlimit), and is killed when
it runs past the time limit or the caller cancels. The embedding model stays in the parent; the
children fork from a forkserver that has the readers imported (~2 s once, then 10-50 ms a file).
A file that needs OCR tells its caller its pages' progress over the same pipe, and its first such
message moves the deadline out by `REPORTQA_OCR_TIMEOUT_S`; the tesseract processes it starts
inherit its memory limit and share its process group, so a cancel or a timeout kills them too.
As with any multiprocessing, a script that ingests keeps its top level under `if __name__ == "__main__"`.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import resource
import signal
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path

from core.config import Settings
from core.models import Report

from .errors import IngestCancelled, ReportReadError

_CONTEXT = multiprocessing.get_context("forkserver")
_CONTEXT.set_forkserver_preload(["ingest.pipeline", "ingest.office", "ingest.ofd", "docx", "pdfplumber", "bs4",
                                 "lxml.etree", "pypdfium2", "olefile", "ofdkit"])
POLL_S = 0.05  # how soon a cancel or a finished child is noticed
CPU_GRACE_S = 5  # the child's own CPU limit, past the timeout: it ends even when its parent was killed
_PROGRESS = "progress"  # a message (_PROGRESS, pages done, pages to do); the last message is (ok, value)


def read_isolated(path: Path, settings: Settings, issuer: str | None = None, year: int | None = None,
                  source: str | None = None, cancel: threading.Event | None = None,
                  progress: Callable[[int, int], None] | None = None) -> Report:
    """`load_report` in a child process; raises ReportReadError (past a limit) or IngestCancelled.

    `progress` hears (pages done, pages to do) while the file's scanned pages are read by OCR.
    """
    receiver, sender = _CONTEXT.Pipe(duplex=False)
    child = _CONTEXT.Process(target=_parse, args=(sender, path, settings, issuer, year, source), daemon=True)
    child.start()
    sender.close()
    limit_s = settings.parse_timeout_s
    started = time.monotonic()
    try:
        while True:
            while not receiver.poll(POLL_S):
                if cancel is not None and cancel.is_set():
                    raise IngestCancelled("while a file was parsing")
                if time.monotonic() > started + limit_s:
                    raise ReportReadError(f"refused: still parsing after {limit_s:g} s (limit REPORTQA_PARSE_TIMEOUT_S"
                                          + (" + REPORTQA_OCR_TIMEOUT_S)" if limit_s > settings.parse_timeout_s else ")"))
            try:
                message = receiver.recv()
            except EOFError:
                child.join()
                raise ReportReadError(f"the parser stopped without an answer (exit code {child.exitcode}); "
                                      f"limit REPORTQA_PARSE_MEMORY_MB is {settings.parse_memory_mb}") from None
            if message[0] != _PROGRESS:
                break
            limit_s = settings.parse_timeout_s + settings.ocr_timeout_s
            if progress is not None:
                progress(message[1], message[2])
        ok, value = message
    finally:
        _kill_group(child.pid)
        if child.is_alive():
            child.kill()
        child.join()
        receiver.close()
    if not ok:
        raise ReportReadError(value)
    return value


def _parse(sender: Connection, path: Path, settings: Settings, issuer: str | None, year: int | None,
           source: str | None) -> None:
    """The child: limit its own memory and CPU time, read the file, send (True, Report) or (False, reason)."""
    from .pipeline import load_report

    os.setpgid(0, 0)  # its own process group, with the tesseract processes OCR starts: killed together
    _limit(resource.RLIMIT_AS, settings.parse_memory_mb * 1024 * 1024)
    _limit(resource.RLIMIT_CPU, math.ceil(settings.parse_timeout_s) + CPU_GRACE_S)  # even if the parent was killed

    def progress(done: int, total: int) -> None:
        if done == 0:  # OCR begins: its time is the parent's deadline too
            _limit(resource.RLIMIT_CPU, math.ceil(settings.parse_timeout_s + settings.ocr_timeout_s) + CPU_GRACE_S)
        sender.send((_PROGRESS, done, total))

    try:
        result: tuple[bool, object] = (True, load_report(path, settings, issuer, year, source, progress))
    except ReportReadError as exc:
        result = (False, str(exc))
    except MemoryError:
        result = (False, f"refused: parsing needed more than {settings.parse_memory_mb} MB "
                         "(limit REPORTQA_PARSE_MEMORY_MB)")
    except Exception as exc:  # a broken file must never abort the rest of the batch
        result = (False, f"unexpected error: {type(exc).__name__}: {exc}")
    sender.send(result)
    sender.close()


def _kill_group(pid: int | None) -> None:
    """Kill what is left of a child's process group (the tesseract processes of a cancelled or timed-out
    OCR); nothing when the child never made its group or all of it has ended."""
    if pid is None:
        return
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _limit(kind: int, value: int) -> None:
    """Lower a resource limit of this process (never above its hard limit)."""
    _, hard = resource.getrlimit(kind)
    resource.setrlimit(kind, (value if hard == resource.RLIM_INFINITY else min(value, hard), hard))
