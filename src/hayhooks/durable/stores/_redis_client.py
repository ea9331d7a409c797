"""The synchronous Redis client our store talks through, from a URL, a ``redis.Redis`` or a ``redis.asyncio`` one.

Our store is synchronous (the engine runs it on the executor). Given an asyncio client (what Hayhooks 2.1.0's
embedding API takes), we open our own synchronous connections to the same server with the same credentials.
"""

from __future__ import annotations

from typing import Any

_COPIED = (
    "host",
    "port",
    "db",
    "username",
    "password",
    "path",
    "client_name",
    "ssl_keyfile",
    "ssl_certfile",
    "ssl_cert_reqs",
    "ssl_ca_certs",
    "ssl_ca_data",
    "ssl_check_hostname",
)


def _pool(redis: Any, url: str, max_connections: int) -> Any:
    return redis.BlockingConnectionPool.from_url(
        url, max_connections=max_connections, timeout=5, socket_timeout=5, socket_connect_timeout=2
    )


def sync_client(source: Any, max_connections: int) -> tuple[Any, str]:
    """``(client, where)``: a synchronous client for ``source`` and a password-free description of the server."""
    import redis

    if isinstance(source, str):
        return redis.Redis(connection_pool=_pool(redis, source, max_connections)), source.split("@")[-1]
    pool = getattr(source, "connection_pool", None)
    if pool is None:
        raise TypeError(f"expected a Redis URL or a redis client, got {type(source).__name__}")
    kwargs = dict(pool.connection_kwargs)
    where = f"redis://{kwargs.get('host', kwargs.get('path', '?'))}:{kwargs.get('port', '')}/{kwargs.get('db', 0)}"
    if isinstance(source, redis.Redis):
        return source, where
    connection_class = getattr(redis, pool.connection_class.__name__, redis.Connection)
    copied = {key: kwargs[key] for key in _COPIED if key in kwargs}
    new_pool = redis.BlockingConnectionPool(
        connection_class=connection_class,
        max_connections=max_connections,
        timeout=5,
        socket_timeout=5,
        socket_connect_timeout=2,
        **copied,
    )
    return redis.Redis(connection_pool=new_pool), where


def async_client(sync: Any, max_connections: int) -> Any:
    """A ``redis.asyncio`` client for the server ``sync`` talks to (same address, credentials and TLS), for the
    store's coroutines on the running event loop."""
    import redis.asyncio as aredis

    pool = sync.connection_pool
    kwargs = dict(pool.connection_kwargs)
    connection_class = getattr(aredis, pool.connection_class.__name__, aredis.Connection)
    copied = {key: kwargs[key] for key in _COPIED if key in kwargs}
    new_pool = aredis.ConnectionPool(
        connection_class=connection_class,
        max_connections=max_connections,
        socket_timeout=5,  # a Redis that stops answering fails the call (503) instead of hanging it
        socket_connect_timeout=2,
        **copied,
    )
    return aredis.Redis(connection_pool=new_pool)
