"""The history index: one SQLite file in the user data directory, shared by every kernel, the CLI
and the API. WAL mode and a busy timeout make many concurrent writers safe; FTS5 searches
questions and SQL. A file that is not (or no longer) a readable database is moved aside once
and a new index started, so a damaged history never stops a question or `querygpt history`."""
from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
import time
from typing import Callable, Iterator, TypeVar

from ..paths import data_home
from .records import TurnRecord, normalize_question

SCHEMA = """
CREATE TABLE IF NOT EXISTS turns (
    id TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL,
    created_at REAL NOT NULL,
    question TEXT,
    question_key TEXT,
    sql TEXT,
    connection TEXT,
    fingerprint TEXT,
    model TEXT,
    status TEXT NOT NULL,
    error_code TEXT,
    row_count INTEGER,
    source TEXT,
    notebook TEXT,
    feedback_kind TEXT,
    feedback_text TEXT,
    record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS turns_created ON turns (created_at);
CREATE INDEX IF NOT EXISTS turns_replay ON turns (question_key, fingerprint, status);
CREATE INDEX IF NOT EXISTS turns_examples ON turns (connection, feedback_kind);
CREATE VIRTUAL TABLE IF NOT EXISTS turns_fts USING fts5 (question, sql, content='turns', content_rowid='rowid');
CREATE TRIGGER IF NOT EXISTS turns_ai AFTER INSERT ON turns BEGIN
    INSERT INTO turns_fts (rowid, question, sql) VALUES (new.rowid, new.question, new.sql);
END;
CREATE TRIGGER IF NOT EXISTS turns_ad AFTER DELETE ON turns BEGIN
    INSERT INTO turns_fts (turns_fts, rowid, question, sql) VALUES ('delete', old.rowid, old.question, old.sql);
END;
"""

_COLUMNS = "record, feedback_kind, feedback_text"
# SQLite's result codes for a damaged file: SQLITE_CORRUPT, SQLITE_NOTADB (and the FTS index's own)
_CORRUPT_CODES = {11, 26, 267, 523}
_CORRUPT_WORDS = ("malformed", "not a database", "corrupt", "vtable constructor failed")

log = logging.getLogger("querygpt")
T = TypeVar("T")


class HistoryIndex:
    def __init__(self, path: str | None = None):
        self.path = path or os.path.join(data_home(), "history.sqlite")
        self._local = threading.local()
        self._generation = 0          # bumped when a damaged file is replaced: threads reconnect
        self._recover_lock = threading.Lock()

    def _con(self) -> sqlite3.Connection:
        con = getattr(self._local, "con", None)
        if con is not None and getattr(self._local, "generation", 0) != self._generation:
            con.close()
            con = None
        if con is None:
            con = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            try:
                con.execute("PRAGMA journal_mode=WAL")
                con.execute("PRAGMA synchronous=NORMAL")
                con.execute("PRAGMA busy_timeout=30000")
                con.executescript(SCHEMA)  # idempotent; each statement waits on the busy timeout
            except BaseException:
                con.close()
                raise
            self._local.con, self._local.generation = con, self._generation
            self._local.inode = _inode(self.path)
        return con

    def _run(self, work: "Callable[[sqlite3.Connection], T]") -> T:
        """`work` on this thread's connection; a damaged file is moved aside once, then retried."""
        seen = _inode(self.path)
        try:
            return work(self._con())
        except sqlite3.DatabaseError as exc:
            if not _is_corrupt(exc):
                raise
            self._replace_damaged(exc, getattr(self._local, "inode", None) or seen)
            return work(self._con())

    def _replace_damaged(self, exc: BaseException, inode: int | None) -> None:
        with self._recover_lock:
            con = getattr(self._local, "con", None)
            if con is not None:
                con.close()
                self._local.con = None
            if _inode(self.path) != inode:
                self._generation += 1   # another thread (or process) replaced it already
                return
            aside = f"{self.path}.damaged-{time.strftime('%Y%m%d-%H%M%S')}"
            for suffix in ("", "-wal", "-shm"):
                if os.path.exists(self.path + suffix):
                    os.replace(self.path + suffix, aside + suffix)
            self._generation += 1
        log.warning("querygpt: the history index %s could not be read (%s); it was moved to %s and a new one "
                    "started.", self.path, str(exc).splitlines()[0] if str(exc) else type(exc).__name__, aside)

    def add(self, record: TurnRecord) -> None:
        self._run(lambda con: self._add(con, record))

    def _add(self, con: sqlite3.Connection, record: TurnRecord) -> None:
        feedback = record.feedback or {}
        with _transaction(con):
            con.execute(
                "INSERT OR REPLACE INTO turns (id, conversation_id, created_at, question, question_key, sql, connection, "
                "fingerprint, model, status, error_code, row_count, source, notebook, feedback_kind, feedback_text, record) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (record.id, record.conversation_id, record.created_at, record.question, normalize_question(record.question),
                 record.sql, record.connection, record.fingerprint, record.model, record.status, record.error_code,
                 record.row_count, record.source, record.notebook, feedback.get("kind"), feedback.get("text"),
                 json.dumps(record.to_dict(), default=str)),
            )

    def set_feedback(self, turn_id: str, kind: str, text: str | None = None) -> bool:
        def work(con: sqlite3.Connection) -> bool:
            with _transaction(con):
                cursor = con.execute("UPDATE turns SET feedback_kind = ?, feedback_text = ? WHERE id = ?",
                                     (kind, text, turn_id))
            return cursor.rowcount == 1

        return self._run(work)

    def _select(self, sql: str, args: tuple = ()) -> list[TurnRecord]:
        return _records(self._run(lambda con: con.execute(sql, args).fetchall()))

    def recent(self, limit: int = 20, notebook: str | None = None) -> list[TurnRecord]:
        where, args = ("WHERE notebook = ?", [notebook]) if notebook else ("", [])
        return self._select(f"SELECT {_COLUMNS} FROM turns {where} ORDER BY created_at DESC LIMIT ?", (*args, limit))

    def all(self) -> Iterator[TurnRecord]:
        yield from self._select(f"SELECT {_COLUMNS} FROM turns ORDER BY created_at")

    def search(self, text: str, limit: int = 20) -> list[TurnRecord]:
        query = _fts_query(text)
        if not query:
            return []
        return self._select(
            f"SELECT {', '.join('t.' + c.strip() for c in _COLUMNS.split(','))} FROM turns_fts f JOIN turns t ON t.rowid = f.rowid "
            "WHERE turns_fts MATCH ? ORDER BY bm25(turns_fts), t.created_at DESC LIMIT ?", (query, limit))

    def count(self) -> int:
        return self._run(lambda con: con.execute("SELECT count(*) FROM turns").fetchone()[0])

    def replay_candidates(self, question: str, fingerprint: str | None = None) -> list[TurnRecord]:
        """Answered turns of the same question, newest first (same schema first)."""
        return self._select(
            f"SELECT {_COLUMNS} FROM turns WHERE question_key = ? AND status = 'ok' AND sql IS NOT NULL AND model IS NOT NULL "
            "ORDER BY (fingerprint = ?) DESC, created_at DESC LIMIT 5",
            (normalize_question(question), fingerprint or ""))

    def examples(self, question: str, connection: str, limit: int = 3) -> list[TurnRecord]:
        """Question→SQL pairs marked correct on this connection, most similar to `question` first."""
        query = _fts_query(question, any_word=True)
        if not query:
            return []
        records = self._select(
            f"SELECT {', '.join('t.' + c.strip() for c in _COLUMNS.split(','))} FROM turns_fts f JOIN turns t ON t.rowid = f.rowid "
            "WHERE turns_fts MATCH ? AND t.connection = ? AND t.feedback_kind = 'correct' AND t.sql IS NOT NULL "
            "ORDER BY bm25(turns_fts) LIMIT ?", (query, connection, limit * 3))
        seen, out = set(), []
        for record in records:
            key = normalize_question(record.question)
            if key not in seen and key != normalize_question(question):
                seen.add(key)
                out.append(record)
        return out[:limit]


def _records(rows) -> list[TurnRecord]:
    """Rows as records; a row whose JSON is not a well-formed record is skipped."""
    records = []
    for row in rows:
        try:
            data = json.loads(row[0])
            if row[1]:
                data["feedback"] = {"kind": row[1], "text": row[2]}
            records.append(TurnRecord.from_dict(data))
        except (TypeError, ValueError, RecursionError):
            log.debug("querygpt: skipped a malformed record in the history index")
    return records


def _is_corrupt(exc: BaseException) -> bool:
    return (getattr(exc, "sqlite_errorcode", None) in _CORRUPT_CODES
            or any(word in str(exc).lower() for word in _CORRUPT_WORDS))


def _inode(path: str) -> int | None:
    try:
        return os.stat(path).st_ino
    except OSError:
        return None


def _fts_query(text: str, any_word: bool = False) -> str:
    """FTS5 query from free text: each word quoted (no operators from user text), prefix match."""
    words = [w for w in "".join(ch if ch.isalnum() else " " for ch in text.lower()).split() if len(w) > 1]
    if not words:
        return ""
    terms = [f'"{w}"*' for w in words]
    return (" OR " if any_word else " ").join(terms)


class _transaction:
    """BEGIN IMMEDIATE … COMMIT: writers queue on the busy timeout instead of failing."""

    def __init__(self, con: sqlite3.Connection):
        self.con = con

    def __enter__(self):
        self.con.execute("BEGIN IMMEDIATE")
        return self.con

    def __exit__(self, kind, value, tb):
        self.con.execute("COMMIT" if kind is None else "ROLLBACK")
        return False


_default: HistoryIndex | None = None


def default_index() -> HistoryIndex:
    """The index of the current QUERYGPT_HOME (re-created when that changes, e.g. in tests)."""
    global _default
    path = os.path.join(data_home(), "history.sqlite")
    if _default is None or _default.path != path:
        _default = HistoryIndex(path)
    return _default
