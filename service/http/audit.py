"""The audit log: who (key id, never the key) asked what, when, what was cited, and every admin change.

One SQLite file (`audit.sqlite` in the state folder), appended by the service's
middleware for every API request and read by `reportqa audit`.
"""

from __future__ import annotations

import getpass
import json
import logging
import re
import sqlite3
import threading
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from core.index import version_manifests

log = logging.getLogger(__name__)
AUDIT_FILE = "audit.sqlite"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    key_id TEXT NOT NULL,
    role TEXT,
    method TEXT NOT NULL,
    route TEXT NOT NULL,
    status INTEGER NOT NULL,
    question TEXT,
    cited TEXT NOT NULL,
    change TEXT
);
CREATE INDEX IF NOT EXISTS audit_at ON audit(at);
"""
_RELATIVE = re.compile(r"^(\d+)\s*([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


@dataclass
class AuditEntry:
    """One request as the audit log keeps it."""

    key_id: str
    role: str | None
    method: str
    route: str
    status: int
    question: str | None = None
    cited: list[str] = field(default_factory=list)
    change: dict[str, Any] | None = None
    at: str = ""


def _storable(text: str | None) -> str | None:
    """`text` as valid UTF-8 for SQLite: a lone surrogate (which JSON may carry as \\ud800) would make
    the insert fail and the request go unlogged, so it becomes U+FFFD."""
    if text is None:
        return None
    return text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")


def parse_since(value: str, now: datetime | None = None) -> datetime:
    """'2026-11-25', '2026-11-25T09:00', or relative '30m', '2h', '7d' -> an aware UTC time."""
    now = now or datetime.now(UTC)
    m = _RELATIVE.match(value.strip())
    if m:
        return now - timedelta(**{_UNITS[m.group(2)]: int(m.group(1))})
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise ValueError(f"--since '{value}' is neither a date/time (2026-11-25T09:00) nor an age (30m, 2h, 7d)") from exc
    return when if when.tzinfo else when.replace(tzinfo=UTC)


class AuditLog:
    """Append-only log in SQLite; safe to share between threads of one process."""

    def __init__(self, state_path: Path) -> None:
        state_path.mkdir(parents=True, exist_ok=True)
        self.path = state_path / AUDIT_FILE
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(self.path, check_same_thread=False, timeout=10)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")  # no fsync per request; WAL keeps the file consistent
        self._conn.executescript(_SCHEMA)

    def record(self, entry: AuditEntry) -> None:
        at = entry.at or datetime.now(UTC).isoformat(timespec="milliseconds")
        change = json.dumps(entry.change, ensure_ascii=False) if entry.change else None
        with self._lock, self._conn:
            self._conn.execute(
                "INSERT INTO audit (at, key_id, role, method, route, status, question, cited, change)"
                " VALUES (?,?,?,?,?,?,?,?,?)",
                (at, entry.key_id, entry.role, entry.method, entry.route, entry.status,
                 _storable(entry.question), json.dumps(entry.cited), _storable(change)),
            )

    def entries(self, since: datetime | None = None, key_id: str | None = None,
                changes_only: bool = False, limit: int = 1000) -> list[AuditEntry]:
        """Entries in time order, newest last."""
        where, args = [], []
        if since is not None:
            where.append("at >= ?")
            args.append(since.astimezone(UTC).isoformat(timespec="milliseconds"))
        if key_id:
            where.append("key_id = ?")
            args.append(key_id)
        if changes_only:
            where.append("change IS NOT NULL")
        sql = "SELECT * FROM audit" + (f" WHERE {' AND '.join(where)}" if where else "")
        sql += " ORDER BY id DESC LIMIT ?"
        with self._lock:
            self._conn.row_factory = sqlite3.Row
            rows = self._conn.execute(sql, [*args, limit]).fetchall()
        return [
            AuditEntry(r["key_id"], r["role"], r["method"], r["route"], r["status"], r["question"],
                       json.loads(r["cited"]), json.loads(r["change"]) if r["change"] else None, r["at"])
            for r in reversed(rows)
        ]

    def logged_versions(self) -> set[int]:
        """The index versions whose change has a row."""
        with self._lock:
            rows = self._conn.execute("SELECT json_extract(change, '$.index_version') FROM audit"
                                      " WHERE change IS NOT NULL").fetchall()
        return {int(r[0]) for r in rows if isinstance(r[0], int)}

    def recover_changes(self, index_dir: Path) -> int:
        """Log the changes of index versions on disk that have no row: a writer killed after it
        switched to its version and before its caller logged the change. Returns how many."""
        logged = self.logged_versions()
        recovered = 0
        for manifest in version_manifests(index_dir):
            change = manifest.get("change")
            if not change or change["actor"] is None or manifest["version"] in logged:
                continue
            self.record(AuditEntry(change["actor"], None, "RECOVERED", "index version", 0, at=manifest["updated_at"],
                                   change={"action": "recovered", "index_version": manifest["version"],
                                           "added": change["added"], "removed": change["removed"]}))
            recovered += 1
        if recovered:
            log.warning("recovered %d index change(s) missing from the audit log", recovered)
        return recovered

    def close(self) -> None:
        self._conn.close()


def cli_actor() -> str:
    """Who makes a change on the command line: cli:<OS user>."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no passwd entry (containers)
        return "cli:unknown"


def record_cli_change(state_path: Path, command: str, change: dict[str, Any]) -> None:
    """An index change made on the command line, logged under the OS user's name."""
    audit = AuditLog(state_path)
    try:
        audit.record(AuditEntry(cli_actor(), "admin", "CLI", command, 0, change=change))
    finally:
        audit.close()


def entry_dict(entry: AuditEntry) -> dict[str, Any]:
    return asdict(entry)
