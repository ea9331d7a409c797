"""A small asyncio raw-socket client for OpenAI-style streaming chat completions.

Each simulated client keeps one HTTP/1.1 connection alive and sends chat completion requests
with ``"stream": true`` back to back until the deadline, decoding chunked transfer encoding
and counting server-sent events whose delta carries non-empty content. It records the time
from sending a request to the first such event (time to first chunk).

Everything is bounded: each read has a timeout, and the whole run has an overall one.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from dataclasses import dataclass, field

# A "content" key whose value is a non-empty JSON string, with or without blanks around the colon.
_CONTENT_RE = re.compile(rb'"content"\s*:\s*"(?!")')
READ_TIMEOUT = 15.0


class StreamError(RuntimeError):
    pass


@dataclass
class StreamStats:
    clients: int
    requests: int = 0
    chunks: int = 0
    seconds: float = 0.0
    ttfc: list[float] = field(default_factory=list)  # seconds, one per request
    errors: list[str] = field(default_factory=list)
    chunks_per_request: set[int] = field(default_factory=set)
    client_cpu: float = 0.0  # CPU seconds this client process used during the run

    @property
    def client_busy(self) -> float:
        """Fraction of one core the client used: near 1.0 means the client, not the server, was the limit."""
        return self.client_cpu / self.seconds if self.seconds else 0.0

    @property
    def chunks_per_s(self) -> float:
        return self.chunks / self.seconds if self.seconds else 0.0


def _build_request(port: int, model: str) -> bytes:
    body = json.dumps(
        {"model": model, "messages": [{"role": "user", "content": "stream please"}], "stream": True}
    ).encode()
    head = (
        "POST /v1/chat/completions HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{port}\r\n"
        "Content-Type: application/json\r\n"
        "Accept: text/event-stream\r\n"
        f"Content-Length: {len(body)}\r\n"
        "\r\n"
    ).encode()
    return head + body


class _Connection:
    def __init__(self, port: int):
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def ensure(self) -> None:
        if self.writer is None:
            self.reader, self.writer = await asyncio.wait_for(
                asyncio.open_connection("127.0.0.1", self.port), READ_TIMEOUT
            )

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            try:
                await asyncio.wait_for(self.writer.wait_closed(), 2)
            except (OSError, asyncio.TimeoutError):
                pass
        self.reader = self.writer = None


class _Buffer:
    """Bytes read from the socket in large blocks, consumed through an offset (no per-chunk copies)."""

    def __init__(self, reader: asyncio.StreamReader):
        self.reader = reader
        self.data = b""
        self.pos = 0

    async def more(self) -> None:
        block = await asyncio.wait_for(self.reader.read(262144), READ_TIMEOUT)
        if not block:
            raise asyncio.IncompleteReadError(self.data[self.pos :], None)
        self.data = self.data[self.pos :] + block
        self.pos = 0

    async def find(self, marker: bytes) -> int:
        """Index (absolute in ``data``) of ``marker`` at or after ``pos``, reading until it shows up."""
        while (index := self.data.find(marker, self.pos)) < 0:
            await self.more()
        return index

    async def take(self, size: int) -> bytes:
        while len(self.data) - self.pos < size:
            await self.more()
        piece = self.data[self.pos : self.pos + size]
        self.pos += size
        return piece

    async def take_until(self, marker: bytes) -> bytes:
        index = await self.find(marker)
        piece = self.data[self.pos : index]
        self.pos = index + len(marker)
        return piece


async def _stream_once(conn: _Connection, request: bytes) -> tuple[int, float | None]:
    """Send one streaming request; return (content chunks, seconds to the first one)."""
    await conn.ensure()
    assert conn.reader is not None and conn.writer is not None
    buffer = _Buffer(conn.reader)
    sent_at = time.perf_counter()
    conn.writer.write(request)
    await conn.writer.drain()

    head = (await buffer.take_until(b"\r\n\r\n")).decode("latin-1")
    status_line, _, header_block = head.partition("\r\n")
    parts = status_line.split(" ", 2)
    status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
    headers = {}
    for line in header_block.split("\r\n"):
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip().lower()
    keep_alive = headers.get("connection") != "close"

    chunks = 0
    first: float | None = None
    pending = b""

    def feed(data: bytes) -> None:
        nonlocal pending, chunks, first
        pending += data
        # SSE events end with a blank line; tolerate CRLF line ends as well.
        if b"\r\n" in pending:
            pending = pending.replace(b"\r\n", b"\n")
        *events, pending = pending.split(b"\n\n")
        for event in events:
            if b"data:" in event and _CONTENT_RE.search(event):
                chunks += 1
                if first is None:
                    first = time.perf_counter() - sent_at

    if "chunked" in headers.get("transfer-encoding", ""):
        while True:
            size_line = await buffer.take_until(b"\r\n")
            size = int(size_line.split(b";")[0].strip() or b"0", 16)
            if size == 0:
                # Optional trailer lines, then the empty line that ends the message.
                while await buffer.take_until(b"\r\n"):
                    pass
                break
            feed(await buffer.take(size))
            await buffer.take(2)
    elif "content-length" in headers:
        feed(await buffer.take(int(headers["content-length"])))
    else:
        keep_alive = False
        try:
            while True:
                await buffer.more()
        except asyncio.IncompleteReadError as end:
            feed(end.partial)
    if pending:
        feed(b"\n\n")

    if not keep_alive:
        await conn.close()
    if status != 200:
        raise StreamError(f"HTTP {status}")
    return chunks, first


async def _client_loop(port: int, request: bytes, deadline: float, stats: StreamStats) -> None:
    conn = _Connection(port)
    try:
        while time.perf_counter() < deadline:
            try:
                chunks, first = await _stream_once(conn, request)
            except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError, StreamError, ValueError) as exc:
                stats.errors.append(f"{type(exc).__name__}: {exc}")
                await conn.close()
                if len(stats.errors) > 20:
                    return
                continue
            stats.requests += 1
            stats.chunks += chunks
            stats.chunks_per_request.add(chunks)
            if first is not None:
                stats.ttfc.append(first)
    finally:
        await conn.close()


async def _run(port: int, model: str, clients: int, seconds: float) -> StreamStats:
    request = _build_request(port, model)
    stats = StreamStats(clients=clients)
    cpu_started = time.process_time()
    started = time.perf_counter()
    deadline = started + seconds
    tasks = [asyncio.create_task(_client_loop(port, request, deadline, stats)) for _ in range(clients)]
    # Requests still running at the deadline are finished; the whole run is bounded anyway.
    _done, still_running = await asyncio.wait(tasks, timeout=seconds + READ_TIMEOUT + 10)
    for task in still_running:
        task.cancel()
        stats.errors.append("client still running at the overall time limit")
    if still_running:
        await asyncio.wait(still_running, timeout=5)
    stats.seconds = time.perf_counter() - started
    stats.client_cpu = time.process_time() - cpu_started
    return stats


def run_stream_load(port: int, model: str, clients: int, seconds: float) -> StreamStats:
    """Run ``clients`` concurrent streaming clients for about ``seconds`` seconds."""
    return asyncio.run(_run(port, model, clients, seconds))


def stream_once(port: int, model: str) -> tuple[int, float | None]:
    """One streaming request on a fresh connection (used by checks and smoke mode)."""

    async def _one():
        conn = _Connection(port)
        try:
            return await _stream_once(conn, _build_request(port, model))
        except (asyncio.IncompleteReadError, asyncio.TimeoutError, asyncio.LimitOverrunError) as exc:
            raise StreamError(f"{type(exc).__name__}: {exc}") from exc
        finally:
            await conn.close()

    return asyncio.run(_one())
