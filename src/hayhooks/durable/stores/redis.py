"""Redis store: what several machines share (``HAYHOOKS_DURABLE_STORE=redis`` / ``HAYHOOKS_DURABLE_REDIS_URL``).

Keys, all under ``HAYHOOKS_DURABLE_REDIS_KEY_PREFIX``:

- ``exec:{id}``: hash with the record (``d``), its version (``v``) and status (``s``);
  compare-and-set is one Lua script, so it is atomic on the server;
- ``due:{pipeline}``: sorted set of claimable work: queued executions by ``available_at``, running ones by
  lease expiry;
- ``list:{pipeline}``: sorted set of ids by submission order; ``counts``: executions per status;
- ``expiry``: terminal executions by deletion time; ``idem:{scope}``: idempotency key -> id;
- ``chunks:{id}``: a Redis stream capped at ``HAYHOOKS_DURABLE_MAX_STREAM_CHUNKS``, entry ids ``0-{n}``.

For executions to survive a Redis restart, run Redis with persistence (``appendonly yes``). One Redis server (or a
primary with replicas), not Redis Cluster: the scripts touch keys of several executions, and two build record key
names from the prefix.

Speed (issue 17: executions/s at least 3x Hayhooks 2.1.0's on Redis). On the bench machine the cost of a call is
mostly Python client overhead and the ``send`` system call, not Redis, so the store makes few calls, and cheap:

- the engine's hot operations (submit, read, compare-and-set, claim) are coroutines on the event loop
  (``native_async``) over redis-py's asyncio client (one per event loop, ``_redis_client.async_client``): no
  worker-thread hop around the sync client (about 140 µs of CPU a call); other operations (listing, chunks,
  housekeeping) keep the sync client on worker threads;
- a claim reads the due records in one script (``_CANDIDATES``: due ids and their records together), sent while
  the previous execution's outcome write is in flight (``workers.py``), so an execution with work waiting
  behind it costs four round trips (insert, claim, progress, outcome) where it cost six;
- an idempotent replay gets the existing record from the insert script itself.

Measured with ``python3 bench/run.py --quick --only durable --no-write`` (100 executions from 8 clients, Redis
row, ours vs Hayhooks 2.1.0 in the same run, on a 2-core VM that other jobs shared): before, 317-508 completed
executions/s, 1.80-3.25x the reference (median of 4 runs 2.36x); after, 488-541/s, 3.80-3.83x (2 runs), p99
0.14-0.36x. A hand-written pipelining RESP client instead of redis-py reached 588-633/s (4.4-5.1x) in the same
session: not worth a protocol implementation of our own while redis-py meets the goal.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Callable, Collection, Iterable
from typing import Any, TypeVar

from hayhooks.durable.config import StoreConfig
from hayhooks.durable.errors import StoreUnavailableError
from hayhooks.durable.models import NONTERMINAL_VALUES, Chunk, ExecutionRecord
from hayhooks.durable.stores._redis_client import async_client, sync_client
from hayhooks.durable.stores.base import ExecutionStore, idempotency_scope

T = TypeVar("T")

_INSERT = """
if ARGV[6] ~= '' then
  local existing = redis.call('GET', KEYS[5])
  if existing then return {0, redis.call('HGET', ARGV[7] .. existing, 'd')} end
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
local stored = redis.call('HMGET', KEYS[1], 'v', 's')
if not stored[1] or tonumber(stored[1]) ~= tonumber(ARGV[1]) then return 0 end
local old = stored[2]
redis.call('HSET', KEYS[1], 'v', ARGV[2], 'd', ARGV[3], 's', ARGV[4])
if old ~= ARGV[4] then
  redis.call('HINCRBY', KEYS[4], old, -1)
  redis.call('HINCRBY', KEYS[4], ARGV[4], 1)
end
if ARGV[6] == '' then redis.call('ZREM', KEYS[2], ARGV[5]) else redis.call('ZADD', KEYS[2], ARGV[6], ARGV[5]) end
if ARGV[7] == '' then redis.call('ZREM', KEYS[3], ARGV[5]) else redis.call('ZADD', KEYS[3], ARGV[7], ARGV[5]) end
return 1
"""

# KEYS: the due sets; ARGV: now, how many records, the record key prefix, then the ids to leave out.
_CANDIDATES = """
local skip = {}
for i = 4, #ARGV do skip[ARGV[i]] = true end
local limit = tonumber(ARGV[2])
local found = {}
for _, key in ipairs(KEYS) do
  local batch = redis.call('ZRANGEBYSCORE', key, '-inf', ARGV[1], 'WITHSCORES', 'LIMIT', 0, limit + #ARGV - 3)
  for i = 1, #batch, 2 do
    if not skip[batch[i]] then found[#found + 1] = {tonumber(batch[i + 1]), batch[i]} end
  end
end
if #KEYS > 1 then
  table.sort(found, function(a, b) return a[1] < b[1] or (a[1] == b[1] and a[2] < b[2]) end)
end
local out = {}
for i = 1, math.min(limit, #found) do
  local data = redis.call('HGET', ARGV[3] .. found[i][2], 'd')
  if data then out[#out + 1] = data end
end
return out
"""

_APPEND = """
local seq = redis.call('HINCRBY', KEYS[2], 'last', 1)
redis.call('XADD', KEYS[1], 'MAXLEN', ARGV[1], '0-' .. seq, 'a', ARGV[2], 'p', ARGV[3])
local length = redis.call('XLEN', KEYS[1])
if seq - length > 0 then redis.call('HSET', KEYS[2], 'dropped', seq - length) end
return seq
"""

# What the coroutines run, by name: (source, SHA1 for EVALSHA).
_ASYNC_SCRIPTS = {
    name: (source, hashlib.sha1(source.encode()).hexdigest())
    for name, source in {
        "insert": _INSERT,
        "cas": _CAS,
        "candidates": _CANDIDATES,
    }.items()
}
_NONTERMINAL = frozenset(status.encode() for status in NONTERMINAL_VALUES)


def _due_score(record: ExecutionRecord) -> str:
    if record.status == "queued":
        return str(record.available_at)
    if record.status == "running":
        return str(record.lease_expires_at or 0)
    return ""


class RedisExecutionStore(ExecutionStore):
    name = "redis"
    native_async = True

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
        self._candidates = self.client.register_script(_CANDIDATES)
        self._append = self.client.register_script(_APPEND)
        self._no_script = redis_lib.exceptions.NoScriptError
        self._max_connections = max_connections
        self._aclient: tuple[asyncio.AbstractEventLoop, Any] | None = None  # the coroutines' client and its loop

    def describe(self) -> str:
        return f"redis ({self.url}, prefix {self.prefix!r})"

    def _key(self, *parts: str) -> str:
        return ":".join((self.prefix, *parts))

    def _unavailable(self, exc: Exception) -> StoreUnavailableError:
        if isinstance(exc, self._errors):
            return StoreUnavailableError(f"Redis at {self.url.split('@')[-1]} is unreachable: {exc}")
        return StoreUnavailableError(f"Redis failed: {exc}")

    def _do(self, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except self._redis_error as exc:
            raise self._unavailable(exc) from exc
        except self._errors as exc:
            raise self._unavailable(exc) from exc

    async def _ado(self, script: str, keys: list[str], args: list[Any]) -> Any:
        """Run one of the Lua scripts from the event loop (no worker thread: the wait is a socket read)."""
        source, sha = _ASYNC_SCRIPTS[script]
        try:
            return await self._acall("EVALSHA", sha, len(keys), *keys, *args)
        except StoreUnavailableError as exc:
            if not isinstance(exc.__cause__, self._no_script):
                raise
            return await self._acall("EVAL", source, len(keys), *keys, *args)  # loads it (a restarted Redis)

    async def _acall(self, *command: Any) -> Any:
        try:
            return await self._on_loop().execute_command(*command)
        except (self._redis_error, OSError) as exc:
            raise self._unavailable(exc) from exc

    def _on_loop(self) -> Any:
        """The asyncio client of the running event loop (a new one when the loop changed: tests run several)."""
        loop = asyncio.get_running_loop()
        if self._aclient is None or self._aclient[0] is not loop:
            self._aclient = (loop, async_client(self.client, self._max_connections))
        return self._aclient[1]

    def _idem_key(self, record: ExecutionRecord) -> str:
        scope = idempotency_scope(record)
        return self._key("idem", hashlib.sha256(scope.encode()).hexdigest()) if scope else self._key("idem", "-")

    # --- records -------------------------------------------------------------------------------------------
    def _insert_call(self, record: ExecutionRecord) -> tuple[list[str], list[Any]]:
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
            self._key("exec", ""),
        ]
        return keys, args

    @staticmethod
    def _inserted(record: ExecutionRecord, reply: list[Any]) -> tuple[ExecutionRecord, bool]:
        if reply[0]:
            return record, True
        if len(reply) < 2 or reply[1] is None:  # the earlier execution expired between the two reads
            raise StoreUnavailableError("idempotent execution expired while it was read; retry the request")
        return ExecutionRecord.from_json(reply[1]), False

    def insert(self, record: ExecutionRecord) -> tuple[ExecutionRecord, bool]:
        keys, args = self._insert_call(record)
        return self._inserted(record, self._do(lambda: self._insert(keys=keys, args=args)))

    async def ainsert(self, record: ExecutionRecord) -> tuple[ExecutionRecord, bool]:
        keys, args = self._insert_call(record)
        return self._inserted(record, await self._ado("insert", keys, args))

    def get(self, execution_id: str) -> ExecutionRecord | None:
        data = self._do(lambda: self.client.hget(self._key("exec", execution_id), "d"))
        return None if data is None else ExecutionRecord.from_json(data)

    async def aget(self, execution_id: str) -> ExecutionRecord | None:
        data = await self._acall("HGET", self._key("exec", execution_id), "d")
        return None if data is None else ExecutionRecord.from_json(data)

    def _cas_call(self, record: ExecutionRecord, expected_version: int) -> tuple[list[str], list[Any]]:
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
        return keys, args

    def compare_and_set(self, record: ExecutionRecord, expected_version: int) -> bool:
        keys, args = self._cas_call(record, expected_version)
        return bool(self._do(lambda: self._cas(keys=keys, args=args)))

    async def acompare_and_set(self, record: ExecutionRecord, expected_version: int) -> bool:
        keys, args = self._cas_call(record, expected_version)
        return bool(await self._ado("cas", keys, args))

    def claimable(self, pipelines: Collection[str], now: int, limit: int) -> list[str]:
        names = list(pipelines)
        pipe = self.client.pipeline(transaction=False)
        for name in names:
            pipe.zrangebyscore(self._key("due", name), "-inf", now, start=0, num=limit, withscores=True)
        batches = self._do(pipe.execute)
        found = sorted((score, raw.decode()) for batch in batches for raw, score in batch)
        return [execution_id for _, execution_id in found[:limit]]

    def _candidates_call(
        self, pipelines: Collection[str], now: int, limit: int, skip: Collection[str]
    ) -> tuple[list[str], list[Any]]:
        return [self._key("due", name) for name in pipelines], [now, limit, self._key("exec", ""), *skip]

    def candidates(
        self, pipelines: Collection[str], now: int, limit: int, skip: Collection[str]
    ) -> Iterable[ExecutionRecord]:
        keys, args = self._candidates_call(pipelines, now, limit, skip)
        found = self._do(lambda: self._candidates(keys=keys, args=args)) if keys else []
        return (ExecutionRecord.from_json(data) for data in found)

    async def acandidates(
        self, pipelines: Collection[str], now: int, limit: int, skip: Collection[str]
    ) -> Iterable[ExecutionRecord]:
        keys, args = self._candidates_call(pipelines, now, limit, skip)
        found = await self._ado("candidates", keys, args) if keys else []
        return (ExecutionRecord.from_json(data) for data in found)  # decoded as the claim loop gets to them

    async def acount_nonterminal(self) -> int:
        counts = await self._acall("HGETALL", self._key("counts"))  # {status: count}, as bytes
        return sum(max(0, int(count)) for status, count in counts.items() if status in _NONTERMINAL)

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

    async def aclose(self) -> None:
        client, self._aclient = self._aclient, None
        if client is not None:
            await client[1].aclose()
