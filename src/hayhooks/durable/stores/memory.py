"""In-process store: fast, lost on restart, not shared between workers (``HAYHOOKS_DURABLE_STORE=memory``)."""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Collection
from typing import NamedTuple

from hayhooks.durable.config import StoreConfig
from hayhooks.durable.models import Chunk, ExecutionRecord, now_ms
from hayhooks.durable.stores.base import ExecutionStore, idempotency_scope


class _Meta(NamedTuple):
    """What scans need, kept beside the JSON so they never decode records."""

    pipeline: str
    owner_id: str | None
    status: str
    version: int
    available_at: int
    lease_expires_at: int | None
    expires_at: int | None


def _meta(record: ExecutionRecord) -> _Meta:
    return _Meta(
        record.pipeline,
        record.owner_id,
        record.status,
        record.version,
        record.available_at,
        record.lease_expires_at,
        record.expires_at,
    )


class MemoryExecutionStore(ExecutionStore):
    name = "memory"
    blocking = False

    def __init__(self, deployment: str | None = None, *, config: StoreConfig | None = None) -> None:
        self.bind(deployment, config)
        self._records: dict[str, str] = {}  # id -> JSON, so readers never share mutable objects with writers
        self._meta: dict[str, _Meta] = {}  # insertion order = submission order
        self._active: dict[str, None] = {}  # unfinished executions, oldest first: what workers scan
        self._counts: dict[str, int] = {}
        self._idempotency: dict[str, str] = {}
        self._chunks: dict[str, deque[tuple[int, int, int, str]]] = {}
        self._chunk_seq: dict[str, int] = {}
        self._dropped: dict[str, int] = {}
        self._lock = threading.Lock()

    def _count(self, status: str, delta: int) -> None:
        self._counts[status] = self._counts.get(status, 0) + delta

    def insert(self, record: ExecutionRecord) -> tuple[ExecutionRecord, bool]:
        scope = idempotency_scope(record)
        with self._lock:
            if scope is not None and scope in self._idempotency:
                existing = self._records.get(self._idempotency[scope])
                if existing is not None:
                    return ExecutionRecord.from_json(existing), False
            self._records[record.execution_id] = record.to_json()
            self._meta[record.execution_id] = _meta(record)
            self._active[record.execution_id] = None
            self._count(record.status, 1)
            if scope is not None:
                self._idempotency[scope] = record.execution_id
        return record, True

    def get(self, execution_id: str) -> ExecutionRecord | None:
        text = self._records.get(execution_id)
        return None if text is None else ExecutionRecord.from_json(text)

    def compare_and_set(self, record: ExecutionRecord, expected_version: int) -> bool:
        with self._lock:
            old = self._meta.get(record.execution_id)
            if old is None or old.version != expected_version:
                return False
            self._records[record.execution_id] = record.to_json()
            self._meta[record.execution_id] = _meta(record)
            if old.status != record.status:
                self._count(old.status, -1)
                self._count(record.status, 1)
            if record.terminal:
                self._active.pop(record.execution_id, None)
        return True

    def claimable(self, pipelines: Collection[str], now: int, limit: int) -> list[str]:
        found = []
        for execution_id in list(self._active):
            meta = self._meta.get(execution_id)
            if meta is None or meta.pipeline not in pipelines:
                continue
            due = meta.status == "queued" and meta.available_at <= now
            expired = meta.status == "running" and (meta.lease_expires_at or 0) < now
            if due or expired:
                found.append(execution_id)
                if len(found) >= limit:
                    break
        return found

    def list(
        self, pipeline: str, owner_id: str | None, limit: int, cursor: str | None
    ) -> tuple[list[ExecutionRecord], str | None]:
        ids = list(reversed(self._meta))
        if cursor is not None:
            ids = ids[ids.index(cursor) + 1 :] if cursor in ids else []
        page: list[ExecutionRecord] = []
        for execution_id in ids:
            meta = self._meta.get(execution_id)
            if meta is None or meta.pipeline != pipeline or (owner_id is not None and meta.owner_id != owner_id):
                continue
            if len(page) == limit:
                return page, page[-1].execution_id
            record = self.get(execution_id)
            if record is not None:
                page.append(record)
        return page, None

    def count_by_status(self) -> dict[str, int]:
        return {status: count for status, count in self._counts.items() if count > 0}

    def append_chunk(self, execution_id: str, attempt: int, payload: str, max_chunks: int) -> str:
        with self._lock:
            log = self._chunks.setdefault(execution_id, deque())
            seq = self._chunk_seq.get(execution_id, 0) + 1
            self._chunk_seq[execution_id] = seq
            stamp = now_ms()
            log.append((stamp, seq, attempt, payload))
            while len(log) > max_chunks:
                self._dropped[execution_id] = log.popleft()[1]
        return f"{stamp}-{seq}"

    def read_chunks(self, execution_id: str, after: tuple[int, int] | None) -> tuple[list[Chunk], bool]:
        log = list(self._chunks.get(execution_id, ()))
        after_seq = after[1] if after else 0
        gap = after is not None and self._dropped.get(execution_id, 0) > after_seq
        chunks = [Chunk(f"{s}-{n}", a, json.loads(p)) for s, n, a, p in log if n > after_seq]
        return chunks, gap

    def purge_expired(self, now: int) -> int:
        with self._lock:
            doomed = [i for i, m in self._meta.items() if m.expires_at is not None and m.expires_at <= now]
            for execution_id in doomed:
                meta = self._meta.pop(execution_id)
                self._count(meta.status, -1)
                self._records.pop(execution_id, None)
                self._active.pop(execution_id, None)
                self._chunks.pop(execution_id, None)
                self._chunk_seq.pop(execution_id, None)
                self._dropped.pop(execution_id, None)
            if doomed:
                gone = set(doomed)
                for scope, execution_id in list(self._idempotency.items()):
                    if execution_id in gone:
                        del self._idempotency[scope]
        return len(doomed)

    def ping(self) -> None:
        return None
