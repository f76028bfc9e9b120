"""API keys: created once, shown once, stored only as SHA-256 hashes.

Keys come from two places: `REPORTQA_API_KEYS` (entries `NAME:ROLE:SHA256`) and the keys
file (`api_keys.json` in the state folder, written by `reportqa keys create`). A key is
32 random bytes, so a plain SHA-256 is as strong as a slow hash here and costs nothing
per request. The file is re-read when it changes, so a key created or revoked with the
CLI takes effect in a running server at its next request.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
import threading
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

Role = Literal["reader", "admin"]
ROLES: tuple[Role, ...] = ("reader", "admin")
KEY_PREFIX = "rqa_"
log = logging.getLogger(__name__)
_UNREAD = object()


class KeyFileError(ValueError):
    """A keys file or a key setting that cannot be used (the message says why)."""


@dataclass(frozen=True)
class KeyRecord:
    """What is kept of a key: never the key itself."""

    key_id: str
    name: str
    role: Role
    sha256: str
    created_at: str
    revoked_at: str | None = None
    origin: str = "file"  # "file" or "settings"

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _check_role(role: str) -> Role:
    if role not in ROLES:
        raise KeyFileError(f"unknown role '{role}': use one of {', '.join(ROLES)}")
    return role


def new_key(role: str, name: str | None = None) -> tuple[str, KeyRecord]:
    """A fresh key and its record (the key is not stored anywhere)."""
    key_id = secrets.token_hex(4)
    key = f"{KEY_PREFIX}{secrets.token_urlsafe(32)}"
    return key, KeyRecord(key_id, name or key_id, _check_role(role), hash_key(key), _now())


def settings_entry(record: KeyRecord) -> str:
    """The `REPORTQA_API_KEYS` entry for a key."""
    return f"{record.name}:{record.role}:{record.sha256}"


def parse_settings_entries(entries: list[str]) -> list[KeyRecord]:
    """Records from `NAME:ROLE:SHA256` entries; raises KeyFileError naming a malformed one."""
    records = []
    for entry in entries:
        parts = entry.strip().split(":")
        if len(parts) != 3 or len(parts[2]) != 64 or any(c not in "0123456789abcdef" for c in parts[2].lower()):
            raise KeyFileError(f"REPORTQA_API_KEYS entry must be NAME:ROLE:SHA256 (64 hex digits), got '{parts[0]}:…'")
        name, role, digest = parts
        records.append(KeyRecord(f"env-{name}", name, _check_role(role), digest.lower(), "", None, "settings"))
    return records


def read_keys_file(path: Path) -> list[KeyRecord]:
    if not path.exists():
        return []
    try:
        text = path.read_text(encoding="utf-8")
        if not text.strip():  # emptied by hand: no keys (a server that had keys stays locked)
            return []
        data = json.loads(text)
        return [KeyRecord(**{**item, "origin": "file"}) for item in data.get("keys", [])]
    except (json.JSONDecodeError, TypeError, AttributeError) as exc:
        raise KeyFileError(f"the keys file {path} is broken: {exc}") from exc


def _write_keys_file(path: Path, records: list[KeyRecord]) -> None:
    """Write the whole file atomically, readable by its owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    payload = {"keys": [{k: v for k, v in asdict(r).items() if k != "origin"} for r in records]}
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(payload, fh, ensure_ascii=False, indent=2)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def add_key(path: Path, role: str, name: str | None = None) -> tuple[str, KeyRecord]:
    """Create a key, store its hash in the keys file, and return the key (shown once)."""
    key, record = new_key(role, name)
    _write_keys_file(path, [*read_keys_file(path), record])
    return key, record


def revoke_key(path: Path, key_id_or_name: str) -> KeyRecord:
    """Mark a key revoked (kept in the file so the audit log's key ids stay explained)."""
    records = read_keys_file(path)
    hits = [r for r in records if key_id_or_name in (r.key_id, r.name) and r.active]
    if not hits:
        raise KeyFileError(f"no active key with id or name '{key_id_or_name}' in {path}")
    if len(hits) > 1:
        raise KeyFileError(f"'{key_id_or_name}' names {len(hits)} keys: revoke by key id")
    revoked = KeyRecord(**{**asdict(hits[0]), "revoked_at": _now()})
    _write_keys_file(path, [revoked if r is hits[0] else r for r in records])
    return revoked


class KeyStore:
    """The active keys by hash, from settings and the keys file (re-read when it changes)."""

    def __init__(self, settings_entries: list[str], path: Path) -> None:
        self.path = path
        self._from_settings = parse_settings_entries(settings_entries)
        self._lock = threading.Lock()
        self._stamp: object = _UNREAD
        self._by_hash: dict[str, KeyRecord] = {}
        self._ever_had_keys = False
        self._reload()

    def _file_stamp(self) -> tuple[int, int] | None:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return None
        return st.st_mtime_ns, st.st_size

    def _reload(self) -> None:
        stamp = self._file_stamp()
        with self._lock:
            if stamp == self._stamp:
                return
            try:
                records = [*self._from_settings, *read_keys_file(self.path)]
            except KeyFileError:
                if self._stamp is _UNREAD:
                    raise  # at start-up: refuse to start on a broken keys file
                log.exception("keeping the keys read before; the keys file changed and cannot be read")
                self._stamp = stamp
                return
            self._by_hash = {r.sha256: r for r in records if r.active}
            self._ever_had_keys = self._ever_had_keys or bool(records)
            self._stamp = stamp

    def has_keys(self) -> bool:
        self._reload()
        return bool(self._by_hash)

    def ever_had_keys(self) -> bool:
        """Whether any key, active or revoked, has been seen since this store opened: revoking the
        last key or emptying or deleting the file must lock the service, never open it."""
        self._reload()
        return self._ever_had_keys

    def lookup(self, key: str) -> KeyRecord | None:
        """The active record of a presented key, or None."""
        self._reload()
        return self._by_hash.get(hash_key(key))
