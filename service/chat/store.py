"""Conversations in SQLite under the service's state folder, so they survive a restart.

Each conversation has an owner (the caller's key id); listing and reading take an optional
owner filter, so the auth layer can show readers only their own and admins all of them.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

DB_NAME = "conversations.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    title TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS conversations_owner ON conversations(owner, updated_at);
CREATE TABLE IF NOT EXISTS turns (
    conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    ordinal INTEGER NOT NULL,
    message TEXT NOT NULL,
    rewritten TEXT NOT NULL,
    answer TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (conversation_id, ordinal)
);
"""


@dataclass(frozen=True)
class Turn:
    """One exchange: what the user typed, the question answered, and the answer (its API JSON)."""

    ordinal: int
    message: str
    rewritten: str
    answer: dict[str, Any]
    created_at: str

    def to_dict(self) -> dict[str, Any]:
        return {"ordinal": self.ordinal, "message": self.message, "rewritten_question": self.rewritten,
                "answer": self.answer, "created_at": self.created_at}


@dataclass(frozen=True)
class Conversation:
    id: str
    owner: str
    title: str
    created_at: str
    updated_at: str
    n_turns: int

    def to_dict(self) -> dict[str, Any]:
        return {"conversation_id": self.id, "owner": self.owner, "title": self.title,
                "created_at": self.created_at, "updated_at": self.updated_at, "n_turns": self.n_turns}


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class ConversationStore:
    """Conversations and their turns in `state_dir/conversations.sqlite` (one connection per call,
    so FastAPI's worker threads never share one)."""

    def __init__(self, state_dir: Path) -> None:
        state_dir.mkdir(parents=True, exist_ok=True)
        self.path = state_dir / DB_NAME
        with self._connect() as conn:
            conn.executescript(_SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self.path, timeout=30)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA foreign_keys=ON")
        try:
            with conn:
                yield conn
        finally:
            conn.close()

    def create(self, owner: str, title: str) -> Conversation:
        now = _now()
        conversation_id = uuid.uuid4().hex
        with self._connect() as conn:
            conn.execute("INSERT INTO conversations VALUES (?, ?, ?, ?, ?)", (conversation_id, owner, title, now, now))
        return Conversation(conversation_id, owner, title, now, now, 0)

    def get(self, conversation_id: str, owner: str | None = None) -> Conversation | None:
        """The conversation, or None when it does not exist (or belongs to another owner than `owner`)."""
        rows = self._select("WHERE c.id = ?", (conversation_id,), owner)
        return rows[0] if rows else None

    def conversations(self, owner: str | None = None, limit: int = 100, offset: int = 0) -> list[Conversation]:
        """Most recently active first; `owner=None` lists everyone's."""
        return self._select("", (), owner, f"ORDER BY c.updated_at DESC LIMIT {int(limit)} OFFSET {int(offset)}")

    def _select(self, where: str, params: tuple, owner: str | None, tail: str = "") -> list[Conversation]:
        if owner is not None:
            where = f"{where} AND c.owner = ?" if where else "WHERE c.owner = ?"
            params = (*params, owner)
        sql = ("SELECT c.*, (SELECT COUNT(*) FROM turns t WHERE t.conversation_id = c.id) AS n_turns "
               f"FROM conversations c {where} {tail}")
        with self._connect() as conn:
            return [Conversation(r["id"], r["owner"], r["title"], r["created_at"], r["updated_at"], r["n_turns"])
                    for r in conn.execute(sql, params)]

    def turns(self, conversation_id: str) -> list[Turn]:
        with self._connect() as conn:
            rows = conn.execute("SELECT * FROM turns WHERE conversation_id = ? ORDER BY ordinal", (conversation_id,))
            return [Turn(r["ordinal"], r["message"], r["rewritten"], json.loads(r["answer"]), r["created_at"])
                    for r in rows]

    def add_turn(self, conversation_id: str, message: str, rewritten: str, answer: dict[str, Any]) -> Turn:
        """Append a turn (ordinals count from 1) in one transaction."""
        now = _now()
        with self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            ordinal = conn.execute("SELECT COALESCE(MAX(ordinal), 0) + 1 FROM turns WHERE conversation_id = ?",
                                   (conversation_id,)).fetchone()[0]
            conn.execute("INSERT INTO turns VALUES (?, ?, ?, ?, ?, ?)",
                         (conversation_id, ordinal, message, rewritten, json.dumps(answer, ensure_ascii=False), now))
            conn.execute("UPDATE conversations SET updated_at = ? WHERE id = ?", (now, conversation_id))
        return Turn(ordinal, message, rewritten, answer, now)

    def delete(self, conversation_id: str, owner: str | None = None) -> bool:
        """Delete a conversation and its turns; False when there was none (for this owner)."""
        with self._connect() as conn:
            params: tuple = (conversation_id,) if owner is None else (conversation_id, owner)
            where = "id = ?" if owner is None else "id = ? AND owner = ?"
            return conn.execute(f"DELETE FROM conversations WHERE {where}", params).rowcount > 0
