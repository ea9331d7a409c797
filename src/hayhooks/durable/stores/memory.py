"""In-process store: fast, lost on restart, not shared between workers (``HAYHOOKS_DURABLE_STORE=memory``)."""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Collection

from hayhooks.durable.models import Chunk, ExecutionRecord, now_ms
from hayhooks.durable.stores.base import ExecutionStore, idempotency_scope


class MemoryExecutionStore(ExecutionStore):
    name = "memory"
    blocking = False

    def __init__(self) -> None:
        self._records: dict[str, str] = {}  # id -> JSON, so readers never share mutable objects with writers
        self._versions: dict[str, int] = {}
        self._idempotency: dict[str, str] = {}
        self._chunks: dict[str, deque[tuple[int, int, int, str]]] = {}
        self._chunk_seq: dict[str, int] = {}
        self._dropped: dict[str, int] = {}
        self._order: list[str] = []
        self._active: dict[str, None] = {}  # unfinished executions, oldest first: what workers scan
        self._lock = threading.Lock()

    def insert(self, record: ExecutionRecord) -> tuple[ExecutionRecord, bool]:
        scope = idempotency_scope(record)
        with self._lock:
            if scope is not None and scope in self._idempotency:
                existing = self._records.get(self._idempotency[scope])
                if existing is not None:
                    return ExecutionRecord.from_json(existing), False
            self._records[record.execution_id] = record.to_json()
            self._versions[record.execution_id] = record.version
            self._order.append(record.execution_id)
            self._active[record.execution_id] = None
            if scope is not None:
                self._idempotency[scope] = record.execution_id
        return record, True

    def get(self, execution_id: str) -> ExecutionRecord | None:
        text = self._records.get(execution_id)
        return None if text is None else ExecutionRecord.from_json(text)

    def compare_and_set(self, record: ExecutionRecord, expected_version: int) -> bool:
        with self._lock:
            if self._versions.get(record.execution_id) != expected_version:
                return False
            self._records[record.execution_id] = record.to_json()
            self._versions[record.execution_id] = record.version
            if record.terminal:
                self._active.pop(record.execution_id, None)
        return True

    def claimable(self, pipelines: Collection[str], now: int, limit: int) -> list[str]:
        found = []
        for execution_id in list(self._active):
            record = self.get(execution_id)
            if record is None or record.pipeline not in pipelines:
                continue
            due = record.status == "queued" and record.available_at <= now
            expired = record.status == "running" and (record.lease_expires_at or 0) < now
            if due or expired:
                found.append(execution_id)
                if len(found) >= limit:
                    break
        return found

    def list(
        self, pipeline: str, owner_id: str | None, limit: int, cursor: str | None
    ) -> tuple[list[ExecutionRecord], str | None]:
        ids = list(reversed(self._order))
        if cursor is not None:
            ids = ids[ids.index(cursor) + 1 :] if cursor in ids else []
        page: list[ExecutionRecord] = []
        for execution_id in ids:
            record = self.get(execution_id)
            if record is None or record.pipeline != pipeline or (owner_id is not None and record.owner_id != owner_id):
                continue
            if len(page) == limit:
                return page, page[-1].execution_id
            page.append(record)
        return page, None

    def count_by_status(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for text in list(self._records.values()):
            status = json.loads(text)["status"]
            counts[status] = counts.get(status, 0) + 1
        return counts

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
            doomed = []
            for execution_id, text in self._records.items():
                expires_at = json.loads(text).get("expires_at")
                if expires_at is not None and expires_at <= now:
                    doomed.append(execution_id)
            for execution_id in doomed:
                self._records.pop(execution_id, None)
                self._versions.pop(execution_id, None)
                self._chunks.pop(execution_id, None)
                self._order.remove(execution_id)
            for scope, execution_id in list(self._idempotency.items()):
                if execution_id in doomed:
                    del self._idempotency[scope]
        return len(doomed)

    def ping(self) -> None:
        return None
