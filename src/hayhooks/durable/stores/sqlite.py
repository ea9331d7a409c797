"""Embedded store: one SQLite file in WAL mode, shared safely by every worker process of one host.

It survives restarts and crashes with no server to run. Every write is a short transaction; lifecycle changes
are compare-and-set on the record version, so two workers never both claim or finish the same execution.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Collection
from pathlib import Path

from hayhooks.durable.config import StoreConfig
from hayhooks.durable.errors import StoreUnavailableError
from hayhooks.durable.models import Chunk, ExecutionRecord, now_ms
from hayhooks.durable.stores.base import ExecutionStore, idempotency_scope

_SCHEMA = """
CREATE TABLE IF NOT EXISTS executions (
    id TEXT PRIMARY KEY,
    ord INTEGER NOT NULL,
    pipeline TEXT NOT NULL,
    owner TEXT,
    status TEXT NOT NULL,
    version INTEGER NOT NULL,
    available_at INTEGER NOT NULL,
    lease_expires_at INTEGER,
    expires_at INTEGER,
    idem_scope TEXT UNIQUE,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS executions_active ON executions (status, available_at);
CREATE INDEX IF NOT EXISTS executions_by_pipeline ON executions (pipeline, ord);
CREATE INDEX IF NOT EXISTS executions_expiry ON executions (expires_at);
CREATE TABLE IF NOT EXISTS chunks (
    execution_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    stamp INTEGER NOT NULL,
    attempt INTEGER NOT NULL,
    payload TEXT NOT NULL,
    PRIMARY KEY (execution_id, seq)
);
CREATE TABLE IF NOT EXISTS chunk_heads (
    execution_id TEXT PRIMARY KEY,
    last_seq INTEGER NOT NULL,
    dropped_upto INTEGER NOT NULL
);
"""


class SQLiteExecutionStore(ExecutionStore):
    name = "sqlite"

    def __init__(self, path: str | Path, deployment: str | None = None, *, config: StoreConfig | None = None) -> None:
        self.bind(deployment, config)
        self.path = Path(path).expanduser()
        self._local = threading.local()
        self._schema_ready = False
        self._schema_lock = threading.Lock()

    def describe(self) -> str:
        return f"sqlite ({self.path})"

    # --- connections ---------------------------------------------------------------------------------------
    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
                conn.execute("PRAGMA busy_timeout=30000")
                with self._schema_lock:
                    if not self._schema_ready:
                        conn.executescript(_SCHEMA)
                        self._schema_ready = True
            except (sqlite3.Error, OSError) as exc:
                raise StoreUnavailableError(f"SQLite store {self.path} cannot be opened: {exc}") from exc
            self._local.conn = conn
        return conn

    def _execute(self, sql: str, params: tuple = ()) -> sqlite3.Cursor:
        try:
            return self._conn().execute(sql, params)
        except sqlite3.Error as exc:
            raise StoreUnavailableError(f"SQLite store {self.path} failed: {exc}") from exc

    # --- records -------------------------------------------------------------------------------------------
    def insert(self, record: ExecutionRecord) -> tuple[ExecutionRecord, bool]:
        scope = idempotency_scope(record)
        conn = self._conn()
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                if scope is not None:
                    row = conn.execute("SELECT data FROM executions WHERE idem_scope = ?", (scope,)).fetchone()
                    if row is not None:
                        conn.execute("COMMIT")
                        return ExecutionRecord.from_json(row[0]), False
                conn.execute(
                    "INSERT INTO executions (id, ord, pipeline, owner, status, version, available_at, "
                    "lease_expires_at, expires_at, idem_scope, data) VALUES "
                    "(?, (SELECT COALESCE(MAX(ord), 0) + 1 FROM executions), ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        record.execution_id,
                        record.pipeline,
                        record.owner_id,
                        record.status,
                        record.version,
                        record.available_at,
                        record.lease_expires_at,
                        record.expires_at,
                        scope,
                        record.to_json(),
                    ),
                )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise StoreUnavailableError(f"SQLite store {self.path} failed: {exc}") from exc
        return record, True

    def get(self, execution_id: str) -> ExecutionRecord | None:
        row = self._execute("SELECT data FROM executions WHERE id = ?", (execution_id,)).fetchone()
        return None if row is None else ExecutionRecord.from_json(row[0])

    def compare_and_set(self, record: ExecutionRecord, expected_version: int) -> bool:
        cursor = self._execute(
            "UPDATE executions SET status = ?, version = ?, available_at = ?, lease_expires_at = ?, expires_at = ?, "
            "data = ? WHERE id = ? AND version = ?",
            (
                record.status,
                record.version,
                record.available_at,
                record.lease_expires_at,
                record.expires_at,
                record.to_json(),
                record.execution_id,
                expected_version,
            ),
        )
        return cursor.rowcount == 1

    def claimable(self, pipelines: Collection[str], now: int, limit: int) -> list[str]:
        names = list(pipelines)
        if not names:
            return []
        marks = ",".join("?" * len(names))
        rows = self._execute(
            f"SELECT id FROM executions WHERE pipeline IN ({marks}) AND ("
            "(status = 'queued' AND available_at <= ?) OR (status = 'running' AND lease_expires_at < ?)"
            ") ORDER BY ord LIMIT ?",
            (*names, now, now, limit),
        ).fetchall()
        return [row[0] for row in rows]

    def list(
        self, pipeline: str, owner_id: str | None, limit: int, cursor: str | None
    ) -> tuple[list[ExecutionRecord], str | None]:
        sql = "SELECT data, ord FROM executions WHERE pipeline = ?"
        params: list = [pipeline]
        if owner_id is not None:
            sql += " AND owner = ?"
            params.append(owner_id)
        if cursor is not None:
            sql += " AND ord < ?"
            params.append(int(cursor) if cursor.isdigit() else 0)
        sql += " ORDER BY ord DESC LIMIT ?"
        params.append(limit + 1)
        rows = self._execute(sql, tuple(params)).fetchall()
        page = [ExecutionRecord.from_json(row[0]) for row in rows[:limit]]
        next_cursor = str(rows[limit - 1][1]) if len(rows) > limit else None
        return page, next_cursor

    def count_by_status(self) -> dict[str, int]:
        rows = self._execute("SELECT status, COUNT(*) FROM executions GROUP BY status").fetchall()
        return {status: count for status, count in rows}

    # --- chunks --------------------------------------------------------------------------------------------
    def append_chunk(self, execution_id: str, attempt: int, payload: str, max_chunks: int) -> str:
        conn = self._conn()
        stamp = now_ms()
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                row = conn.execute(
                    "SELECT last_seq, dropped_upto FROM chunk_heads WHERE execution_id = ?", (execution_id,)
                ).fetchone()
                last_seq, dropped = row if row else (0, 0)
                seq = last_seq + 1
                conn.execute(
                    "INSERT INTO chunks (execution_id, seq, stamp, attempt, payload) VALUES (?, ?, ?, ?, ?)",
                    (execution_id, seq, stamp, attempt, payload),
                )
                if seq - dropped > max_chunks:
                    dropped = seq - max_chunks
                    conn.execute("DELETE FROM chunks WHERE execution_id = ? AND seq <= ?", (execution_id, dropped))
                conn.execute(
                    "INSERT OR REPLACE INTO chunk_heads (execution_id, last_seq, dropped_upto) VALUES (?, ?, ?)",
                    (execution_id, seq, dropped),
                )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise StoreUnavailableError(f"SQLite store {self.path} failed: {exc}") from exc
        return f"{stamp}-{seq}"

    def read_chunks(self, execution_id: str, after: tuple[int, int] | None) -> tuple[list[Chunk], bool]:
        after_seq = after[1] if after else 0
        rows = self._execute(
            "SELECT stamp, seq, attempt, payload FROM chunks WHERE execution_id = ? AND seq > ? ORDER BY seq",
            (execution_id, after_seq),
        ).fetchall()
        gap = False
        if after is not None:
            head = self._execute(
                "SELECT dropped_upto FROM chunk_heads WHERE execution_id = ?", (execution_id,)
            ).fetchone()
            gap = head is not None and head[0] > after_seq
        return [Chunk(f"{s}-{n}", a, json.loads(p)) for s, n, a, p in rows], gap

    # --- housekeeping --------------------------------------------------------------------------------------
    def purge_expired(self, now: int) -> int:
        conn = self._conn()
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                ids = [r[0] for r in conn.execute("SELECT id FROM executions WHERE expires_at <= ?", (now,))]
                for execution_id in ids:
                    conn.execute("DELETE FROM chunks WHERE execution_id = ?", (execution_id,))
                    conn.execute("DELETE FROM chunk_heads WHERE execution_id = ?", (execution_id,))
                    conn.execute("DELETE FROM executions WHERE id = ?", (execution_id,))
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise StoreUnavailableError(f"SQLite store {self.path} failed: {exc}") from exc
        return len(ids)

    def ping(self) -> None:
        self._execute("SELECT 1").fetchone()

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
