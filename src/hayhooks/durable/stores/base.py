"""The store interface every backend implements: records written by compare-and-set, and a chunk log.

Stores are synchronous; the engine calls blocking ones through ``hayhooks.durable._threads.run_sync``. Every
lifecycle decision is a compare-and-set on ``ExecutionRecord.version``, so workers in several processes or
machines never both win the same transition.

A store whose I/O can wait on the event loop itself (``native_async``, the Redis store) also overrides the
``a*`` coroutines below; for the others they run the synchronous method the usual way (inline when the store is
not ``blocking``, else on a worker thread), and the engine keeps handing whole read-modify-write sequences to
one thread instead of going back and forth.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Iterable
from typing import Any

from hayhooks.durable._threads import run_sync
from hayhooks.durable.config import StoreConfig
from hayhooks.durable.models import Chunk, ExecutionRecord


def idempotency_scope(record: ExecutionRecord) -> str | None:
    if record.idempotency_key is None:
        return None
    return f"{record.pipeline}\x1f{record.owner_id or ''}\x1f{record.idempotency_key}"


class ExecutionStore(ABC):
    """``deployment``: the one deployment an embedded store was made for (``None``: any, as the server uses it);
    ``config``: the limits an embedded ``DurableDeployment`` enforces on it."""

    name: str = "store"
    blocking: bool = True  # False: cheap enough to call on the event loop
    native_async: bool = False  # True: the ``a*`` coroutines do their own I/O on the event loop
    deployment: str | None = None
    config: StoreConfig = StoreConfig()

    def bind(self, deployment: str | None, config: StoreConfig | None) -> None:
        if deployment is not None and not (isinstance(deployment, str) and deployment.strip()):
            raise ValueError("a store's deployment must be a non-empty string")
        self.deployment = deployment
        self.config = config if config is not None else StoreConfig()

    @abstractmethod
    def insert(self, record: ExecutionRecord) -> tuple[ExecutionRecord, bool]:
        """Store a new record; with an idempotency key already used, return ``(existing, False)`` instead."""

    @abstractmethod
    def get(self, execution_id: str) -> ExecutionRecord | None: ...

    @abstractmethod
    def compare_and_set(self, record: ExecutionRecord, expected_version: int) -> bool:
        """Replace the record if its stored version is still ``expected_version``."""

    @abstractmethod
    def claimable(self, pipelines: Collection[str], now: int, limit: int) -> list[str]:
        """Ids of queued executions that are due, and running ones whose lease expired."""

    @abstractmethod
    def list(
        self, pipeline: str, owner_id: str | None, limit: int, cursor: str | None
    ) -> tuple[list[ExecutionRecord], str | None]:
        """Newest first; ``owner_id=None`` lists every owner. Returns the page and the next cursor."""

    @abstractmethod
    def count_by_status(self) -> dict[str, int]: ...

    @abstractmethod
    def append_chunk(self, execution_id: str, attempt: int, payload: str, max_chunks: int) -> str:
        """Append a JSON-encoded chunk, keep only the newest ``max_chunks``; return its id."""

    @abstractmethod
    def read_chunks(self, execution_id: str, after: tuple[int, int] | None) -> tuple[list[Chunk], bool]:
        """Chunks after the cursor, and whether some chunks after it were already dropped (a gap)."""

    @abstractmethod
    def purge_expired(self, now: int) -> int:
        """Delete terminal executions past their TTL (with their chunks and idempotency keys)."""

    @abstractmethod
    def ping(self) -> None:
        """Raise ``StoreUnavailableError`` when the store cannot be used."""

    def close(self) -> None:  # noqa: B027 - optional
        pass

    def describe(self) -> str:
        return self.name

    def count_nonterminal(self) -> int:
        counts = self.count_by_status()
        return sum(counts.get(status, 0) for status in ("queued", "running", "waiting"))

    def candidates(
        self, pipelines: Collection[str], now: int, limit: int, skip: Collection[str]
    ) -> Iterable[ExecutionRecord]:
        """Records of up to ``limit`` claimable executions (see ``claimable``), oldest due first, leaving out the
        ids in ``skip`` (running here already). A store may answer this in one round trip."""
        found: list[ExecutionRecord] = []
        for execution_id in self.claimable(pipelines, now, limit + len(skip)):
            record = None if execution_id in skip else self.get(execution_id)
            if record is not None:
                found.append(record)
                if len(found) >= limit:
                    break
        return found

    # --- coroutines: the same operations, awaited from the event loop -------------------------------------
    async def _offload(self, fn: Callable[..., Any], *args: Any) -> Any:
        return fn(*args) if not self.blocking else await run_sync(fn, *args)

    async def ainsert(self, record: ExecutionRecord) -> tuple[ExecutionRecord, bool]:
        return await self._offload(self.insert, record)

    async def aget(self, execution_id: str) -> ExecutionRecord | None:
        return await self._offload(self.get, execution_id)

    async def acompare_and_set(self, record: ExecutionRecord, expected_version: int) -> bool:
        return await self._offload(self.compare_and_set, record, expected_version)

    async def acandidates(
        self, pipelines: Collection[str], now: int, limit: int, skip: Collection[str]
    ) -> Iterable[ExecutionRecord]:
        return await self._offload(self.candidates, pipelines, now, limit, skip)

    async def acount_nonterminal(self) -> int:
        return await self._offload(self.count_nonterminal)

    async def aclose(self) -> None:  # noqa: B027 - optional
        """Release what the coroutines opened on the running event loop (called when the engine stops)."""
