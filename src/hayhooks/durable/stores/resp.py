"""A small asyncio Redis client for the Redis store's hot path: one pipelined connection per event loop.

Why not redis-py's asyncio client: measured on the bench machine, one ``EVALSHA`` through it costs about 100 µs
of CPU (connection pool with conditions and locks, observability hooks, retry wrappers, a readiness probe that
reads the socket before every command); through this client about 30 µs, most of it the ``send`` system call.
The store makes five to six such calls per execution, so that difference was the largest share of its cost.

How it works:

- **one connection, pipelined**: RESP answers arrive in the order of the commands, so every coroutine of the
  loop shares the connection: a command is appended to the outgoing buffer and gets a future, answered in
  order by ``data_received``. Commands issued in the same loop iteration leave in one ``write`` (one system
  call for concurrent submits, or for a write followed by a read);
- **failures**: a lost or refused connection fails every pending command with ``ConnectionError`` and is dropped;
  the next command connects again (a Redis restart costs the commands in flight, nothing else). A reply that
  takes longer than ``reply_timeout`` closes the connection the same way. Redis error replies raise
  ``RespError``;
- **URLs**: ``redis://``, ``rediss://`` (TLS with the default context) and ``unix://``, with the user, password
  and database (path or ``?db=``) the redis-py URL syntax allows.

RESP2 only (no ``HELLO``); no pub/sub, no cluster.
"""

from __future__ import annotations

import asyncio
import ssl as ssl_module
from collections import deque
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit


class RespError(Exception):
    """An error reply from Redis (``-ERR ...``, ``-NOSCRIPT ...``)."""


class _Incomplete(Exception):
    pass


def encode_command(args: tuple[Any, ...]) -> bytes:
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        data = arg if isinstance(arg, bytes) else str(arg).encode()
        parts.append(b"$%d\r\n%b\r\n" % (len(data), data))
    return b"".join(parts)


def _parse(buf: bytearray, pos: int) -> tuple[Any, int]:
    """One reply starting at ``pos``: ``(value, position after it)``; ``_Incomplete`` when it has not all arrived."""
    end = buf.find(b"\r\n", pos)
    if end < 0:
        raise _Incomplete
    kind, line = buf[pos], bytes(buf[pos + 1 : end])
    pos = end + 2
    if kind == 36:  # $ bulk string
        size = int(line)
        if size < 0:
            return None, pos
        if len(buf) < pos + size + 2:
            raise _Incomplete
        return bytes(buf[pos : pos + size]), pos + size + 2
    if kind == 42:  # * array
        count = int(line)
        if count < 0:
            return None, pos
        items = []
        for _ in range(count):
            item, pos = _parse(buf, pos)
            items.append(item)
        return items, pos
    if kind == 58:  # : integer
        return int(line), pos
    if kind == 43:  # + simple string
        return line, pos
    if kind == 45:  # - error
        return RespError(line.decode(errors="replace")), pos
    raise ConnectionError(f"unexpected reply type {chr(kind)!r} from Redis")


class _Protocol(asyncio.Protocol):
    """One connection: its pending replies (in command order) and the commands not yet written."""

    def __init__(self, client: RespClient) -> None:
        self.client = client
        self.buf = bytearray()
        self.pending: deque[tuple[asyncio.Future[Any], float]] = deque()  # (reply, when it is overdue)
        self.out: list[bytes] = []
        self.watchdog: asyncio.TimerHandle | None = None
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buf += data
        pos = 0
        try:
            while self.pending:
                value, pos = _parse(self.buf, pos)
                future = self.pending.popleft()[0]
                if not future.done():
                    future.set_exception(value) if isinstance(value, RespError) else future.set_result(value)
        except _Incomplete:
            pass
        except (ValueError, ConnectionError) as exc:
            self.fail(ConnectionError(f"unreadable reply from Redis: {exc}"))
            return
        del self.buf[:pos]

    def connection_lost(self, exc: Exception | None) -> None:
        self.fail(ConnectionError(f"connection to Redis lost: {exc or 'closed by the server'}"))

    def send(self, packed: bytes) -> asyncio.Future[Any]:
        loop = self.client.loop
        future = loop.create_future()
        self.pending.append((future, loop.time() + self.client.reply_timeout))
        if not self.out:
            loop.call_soon(self.flush)
        self.out.append(packed)
        if self.watchdog is None:
            self.watchdog = loop.call_later(self.client.reply_timeout, self.check)
        return future

    def flush(self) -> None:
        out, self.out = self.out, []
        if out and self.transport is not None and not self.transport.is_closing():
            self.transport.write(b"".join(out))

    def check(self) -> None:
        """The watchdog: one timer per connection, due when the oldest unanswered command is."""
        self.watchdog = None
        if not self.pending:
            return
        left = self.pending[0][1] - self.client.loop.time()
        if left <= 0:
            self.fail(ConnectionError(f"Redis did not answer within {self.client.reply_timeout:g}s"))
        else:
            self.watchdog = self.client.loop.call_later(left, self.check)

    def fail(self, exc: Exception) -> None:
        self.client._forget(self)
        if self.watchdog is not None:
            self.watchdog.cancel()
            self.watchdog = None
        self.out = []
        if self.transport is not None:
            self.transport.abort()
        while self.pending:
            future = self.pending.popleft()[0]
            if not future.done():
                future.set_exception(exc)


class RespClient:
    """Commands of one event loop over one connection; see the module docstring."""

    def __init__(self, url: str, connect_timeout: float = 2.0, reply_timeout: float = 5.0) -> None:
        self.url = url
        self.connect_timeout = connect_timeout
        self.reply_timeout = reply_timeout
        self.loop = asyncio.get_running_loop()
        self._protocol: _Protocol | None = None
        self._connecting: asyncio.Task[_Protocol] | None = None

    async def call(self, *args: Any) -> Any:
        """Send one command; its reply (``bytes``, ``int``, ``None`` or a list of them)."""
        protocol = self._protocol or await self._connect()
        return await protocol.send(encode_command(args))

    def _forget(self, protocol: _Protocol) -> None:
        if self._protocol is protocol:
            self._protocol = None

    async def _connect(self) -> _Protocol:
        task = self._connecting
        if task is None:  # the first caller opens the connection, the others wait for the same one
            task = self._connecting = self.loop.create_task(self._open())
            task.add_done_callback(self._connected)
        return await asyncio.shield(task)

    def _connected(self, task: asyncio.Task[_Protocol]) -> None:
        self._connecting = None
        if not task.cancelled() and task.exception() is None:
            self._protocol = task.result()

    async def _open(self) -> _Protocol:
        try:
            return await asyncio.wait_for(self._dial_and_greet(), self.connect_timeout)
        except (OSError, RespError, ValueError, asyncio.TimeoutError) as exc:
            where = self.url.split("@")[-1]  # never show a password
            raise ConnectionError(f"cannot connect to Redis at {where}: {exc or type(exc).__name__}") from exc

    async def _dial_and_greet(self) -> _Protocol:
        protocol = await self._dial()
        try:
            await self._handshake(protocol)
        except BaseException:
            protocol.fail(ConnectionError("handshake failed"))
            raise
        return protocol

    async def _dial(self) -> _Protocol:
        parts = urlsplit(self.url)
        if parts.scheme == "unix":
            _, protocol = await self.loop.create_unix_connection(lambda: _Protocol(self), parts.path)
        elif parts.scheme in ("redis", "rediss"):
            context = ssl_module.create_default_context() if parts.scheme == "rediss" else None
            host, port = parts.hostname or "localhost", parts.port or 6379
            _, protocol = await self.loop.create_connection(lambda: _Protocol(self), host, port, ssl=context)
        else:
            raise ValueError(f"unsupported Redis URL scheme {parts.scheme!r}")
        return protocol

    async def _handshake(self, protocol: _Protocol) -> None:
        parts = urlsplit(self.url)
        query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        password = unquote(parts.password) if parts.password else query.get("password")
        username = unquote(parts.username) if parts.username else query.get("username")
        db = query.get("db") or (parts.path.strip("/") if parts.scheme != "unix" else "") or "0"
        if password:
            await protocol.send(encode_command(("AUTH", username, password) if username else ("AUTH", password)))
        if db != "0":
            await protocol.send(encode_command(("SELECT", db)))

    def close(self) -> None:
        protocol, self._protocol = self._protocol, None
        if protocol is not None:
            protocol.fail(ConnectionError("client closed"))
