"""Redis store: what several machines share (``HAYHOOKS_DURABLE_STORE=redis`` / ``HAYHOOKS_DURABLE_REDIS_URL``).

Keys, all under ``HAYHOOKS_DURABLE_REDIS_KEY_PREFIX``:

- ``exec:{id}``: hash with the record (``d``), its version (``v``) and status (``s``);
  compare-and-set is one Lua script, so it is atomic on the server;
- ``due:{pipeline}``: sorted set of claimable work: queued executions by ``available_at``, running ones by
  lease expiry;
- ``list:{pipeline}``: sorted set of ids by submission order; ``counts``: executions per status;
- ``expiry``: terminal executions by deletion time; ``idem:{scope}``: idempotency key -> id;
- ``chunks:{id}``: a Redis stream capped at ``HAYHOOKS_DURABLE_MAX_STREAM_CHUNKS``, entry ids ``0-{n}``.

For executions to survive a Redis restart, run Redis with persistence (``appendonly yes``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Collection
from typing import Any, TypeVar

from hayhooks.durable.config import StoreConfig
from hayhooks.durable.errors import StoreUnavailableError
from hayhooks.durable.models import Chunk, ExecutionRecord
from hayhooks.durable.stores._redis_client import sync_client
from hayhooks.durable.stores.base import ExecutionStore, idempotency_scope

T = TypeVar("T")

_INSERT = """
if ARGV[6] ~= '' then
  local existing = redis.call('GET', KEYS[5])
  if existing then return {0, existing} end
end
local ord = redis.call('INCR', KEYS[6])
redis.call('HSET', KEYS[1], 'v', ARGV[2], 'd', ARGV[3], 's', ARGV[4])
redis.call('ZADD', KEYS[2], ARGV[5], ARGV[1])
redis.call('ZADD', KEYS[3], ord, ARGV[1])
redis.call('HINCRBY', KEYS[4], ARGV[4], 1)
if ARGV[6] ~= '' then redis.call('SET', KEYS[5], ARGV[1]) end
return {1, ARGV[1]}
"""

_CAS = """
local current = redis.call('HGET', KEYS[1], 'v')
if not current or tonumber(current) ~= tonumber(ARGV[1]) then return 0 end
local old = redis.call('HGET', KEYS[1], 's')
redis.call('HSET', KEYS[1], 'v', ARGV[2], 'd', ARGV[3], 's', ARGV[4])
if old ~= ARGV[4] then
  redis.call('HINCRBY', KEYS[4], old, -1)
  redis.call('HINCRBY', KEYS[4], ARGV[4], 1)
end
if ARGV[6] == '' then redis.call('ZREM', KEYS[2], ARGV[5]) else redis.call('ZADD', KEYS[2], ARGV[6], ARGV[5]) end
if ARGV[7] == '' then redis.call('ZREM', KEYS[3], ARGV[5]) else redis.call('ZADD', KEYS[3], ARGV[7], ARGV[5]) end
return 1
"""

_APPEND = """
local seq = redis.call('HINCRBY', KEYS[2], 'last', 1)
redis.call('XADD', KEYS[1], 'MAXLEN', ARGV[1], '0-' .. seq, 'a', ARGV[2], 'p', ARGV[3])
local length = redis.call('XLEN', KEYS[1])
if seq - length > 0 then redis.call('HSET', KEYS[2], 'dropped', seq - length) end
return seq
"""


def _due_score(record: ExecutionRecord) -> str:
    if record.status == "queued":
        return str(record.available_at)
    if record.status == "running":
        return str(record.lease_expires_at or 0)
    return ""


class RedisExecutionStore(ExecutionStore):
    name = "redis"

    def __init__(
        self,
        redis: Any,
        deployment: str | None = None,
        *,
        viewer_client: Any | None = None,
        config: StoreConfig | None = None,
        key_prefix: str = "hayhooks:durable",
        transaction_retries: int = 8,
        transaction_backoff_ms: int = 25,
        max_connections: int = 100,
    ) -> None:
        """``redis``: a Redis URL, a ``redis.Redis`` or a ``redis.asyncio.Redis`` (we connect to the same server
        synchronously). ``viewer_client`` serves stream reads, so viewers never use the workers' connections.
        ``transaction_retries`` / ``transaction_backoff_ms`` are kept for Hayhooks 2.1.0 compatibility: every
        write here is one atomic script and the engine retries compare-and-set conflicts itself."""
        try:
            import redis as redis_lib
        except ImportError as exc:  # pragma: no cover - depends on the installed extras
            raise StoreUnavailableError("the redis store needs `pip install 'hayhooks[durable]'`") from exc
        if transaction_retries < 0 or transaction_backoff_ms < 0:
            raise ValueError("transaction_retries and transaction_backoff_ms cannot be negative")
        self.bind(deployment, config)
        self._errors = (redis_lib.exceptions.ConnectionError, redis_lib.exceptions.TimeoutError, OSError)
        self._redis_error = redis_lib.exceptions.RedisError
        self.client, self.url = sync_client(redis, max_connections)
        self.viewer = sync_client(viewer_client, max_connections)[0] if viewer_client is not None else self.client
        self.prefix = key_prefix
        self.transaction_retries = transaction_retries
        self.transaction_backoff_ms = transaction_backoff_ms
        self._insert = self.client.register_script(_INSERT)
        self._cas = self.client.register_script(_CAS)
        self._append = self.client.register_script(_APPEND)

    def describe(self) -> str:
        return f"redis ({self.url}, prefix {self.prefix!r})"

    def _key(self, *parts: str) -> str:
        return ":".join((self.prefix, *parts))

    def _do(self, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except self._errors as exc:
            raise StoreUnavailableError(f"Redis at {self.url} is unreachable: {exc}") from exc
        except self._redis_error as exc:
            raise StoreUnavailableError(f"Redis failed: {exc}") from exc

    def _idem_key(self, record: ExecutionRecord) -> str:
        scope = idempotency_scope(record)
        return self._key("idem", hashlib.sha256(scope.encode()).hexdigest()) if scope else self._key("idem", "-")

    # --- records -------------------------------------------------------------------------------------------
    def insert(self, record: ExecutionRecord) -> tuple[ExecutionRecord, bool]:
        keys = [
            self._key("exec", record.execution_id),
            self._key("due", record.pipeline),
            self._key("list", record.pipeline),
            self._key("counts"),
            self._idem_key(record),
            self._key("ord"),
        ]
        args = [
            record.execution_id,
            record.version,
            record.to_json(),
            record.status,
            _due_score(record) or "0",
            "1" if record.idempotency_key is not None else "",
        ]
        created, execution_id = self._do(lambda: self._insert(keys=keys, args=args))
        if created:
            return record, True
        existing = self.get(execution_id.decode() if isinstance(execution_id, bytes) else execution_id)
        if existing is None:  # the earlier execution expired between the two reads: treat as new work
            raise StoreUnavailableError("idempotent execution expired while it was read; retry the request")
        return existing, False

    def get(self, execution_id: str) -> ExecutionRecord | None:
        data = self._do(lambda: self.client.hget(self._key("exec", execution_id), "d"))
        return None if data is None else ExecutionRecord.from_json(data)

    def compare_and_set(self, record: ExecutionRecord, expected_version: int) -> bool:
        keys = [
            self._key("exec", record.execution_id),
            self._key("due", record.pipeline),
            self._key("expiry"),
            self._key("counts"),
        ]
        expires = str(record.expires_at) if record.expires_at is not None else ""
        args = [
            expected_version,
            record.version,
            record.to_json(),
            record.status,
            record.execution_id,
            _due_score(record),
            expires,
        ]
        return bool(self._do(lambda: self._cas(keys=keys, args=args)))

    def claimable(self, pipelines: Collection[str], now: int, limit: int) -> list[str]:
        names = list(pipelines)
        pipe = self.client.pipeline(transaction=False)
        for name in names:
            pipe.zrangebyscore(self._key("due", name), "-inf", now, start=0, num=limit, withscores=True)
        batches = self._do(pipe.execute)
        found = sorted((score, raw.decode()) for batch in batches for raw, score in batch)
        return [execution_id for _, execution_id in found[:limit]]

    def list(
        self, pipeline: str, owner_id: str | None, limit: int, cursor: str | None
    ) -> tuple[list[ExecutionRecord], str | None]:
        top = f"({cursor}" if cursor and cursor.isdigit() else "+inf"
        key = self._key("list", pipeline)
        page: list[ExecutionRecord] = []
        while len(page) <= limit:
            batch = self._do(
                lambda t=top: self.client.zrevrangebyscore(key, t, "-inf", start=0, num=100, withscores=True)
            )
            if not batch:
                return page, None
            for raw, score in batch:
                top = f"({int(score)}"
                record = self.get(raw.decode())
                if record is None or (owner_id is not None and record.owner_id != owner_id):
                    continue
                if len(page) == limit:
                    return page, str(int(self._score_of(key, page[-1].execution_id)))
                page.append(record)
        return page, None

    def _score_of(self, key: str, member: str) -> float:
        return float(self._do(lambda: self.client.zscore(key, member)) or 0)

    def count_by_status(self) -> dict[str, int]:
        raw = self._do(lambda: self.client.hgetall(self._key("counts")))
        return {k.decode(): int(v) for k, v in raw.items() if int(v) > 0}

    # --- chunks --------------------------------------------------------------------------------------------
    def append_chunk(self, execution_id: str, attempt: int, payload: str, max_chunks: int) -> str:
        keys = [self._key("chunks", execution_id), self._key("chunkhead", execution_id)]
        seq = self._do(lambda: self._append(keys=keys, args=[max_chunks, attempt, payload]))
        return f"0-{int(seq)}"

    def read_chunks(self, execution_id: str, after: tuple[int, int] | None) -> tuple[list[Chunk], bool]:
        after_seq = after[1] if after else 0
        entries = self._do(lambda: self.viewer.xrange(self._key("chunks", execution_id), f"(0-{after_seq}", "+"))
        chunks = [Chunk(entry_id.decode(), int(fields[b"a"]), json.loads(fields[b"p"])) for entry_id, fields in entries]
        gap = False
        if after is not None:
            dropped = self._do(lambda: self.viewer.hget(self._key("chunkhead", execution_id), "dropped"))
            gap = dropped is not None and int(dropped) > after_seq
        return chunks, gap

    # --- housekeeping --------------------------------------------------------------------------------------
    def purge_expired(self, now: int) -> int:
        ids = self._do(lambda: self.client.zrangebyscore(self._key("expiry"), "-inf", now, start=0, num=500))
        for raw in ids:
            execution_id = raw.decode()
            record = self.get(execution_id)
            pipe = self.client.pipeline(transaction=True)
            pipe.zrem(self._key("expiry"), execution_id)
            pipe.delete(self._key("exec", execution_id), self._key("chunks", execution_id))
            pipe.delete(self._key("chunkhead", execution_id))
            if record is not None:
                pipe.zrem(self._key("due", record.pipeline), execution_id)
                pipe.zrem(self._key("list", record.pipeline), execution_id)
                pipe.hincrby(self._key("counts"), record.status, -1)
                if record.idempotency_key is not None:
                    pipe.delete(self._idem_key(record))
            self._do(pipe.execute)
        return len(ids)

    def ping(self) -> None:
        self._do(self.client.ping)

    def close(self) -> None:
        self.client.close()
        if self.viewer is not self.client:
            self.viewer.close()
