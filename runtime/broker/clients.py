"""Every Redis client air itself opens (beat, guards, dead letters, health, monitor, send), built
from a broker or result-backend URL in one place, so a Sentinel URL works everywhere.

`redis://`, `rediss://`, `unix://` and kombu's `redis+socket://` give a plain client.
`sentinel://h1:26379;sentinel://h2:26379` (kombu's and Celery's form; `:password@` and `/db` on
the first address are the Redis master's) gives a client on the master that the Sentinels
name: its connections ask them where the master is, and a client whose master was replaced
reconnects to the new one at its next command. The master name and the Sentinels' own password
are the transport options Celery gets too (`master_name`, `sentinel_kwargs`:
runtime/compiler/compile.py), so air's clients and Celery's always talk to the same server.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote, urlsplit

import redis
from redis.sentinel import Sentinel

SENTINEL = "sentinel"
SENTINEL_PORT = 26379


class NoMasterName(ValueError):
    """Raised when a Sentinel URL comes without the master name to ask the Sentinels for."""


def is_sentinel(url: str) -> bool:
    return url.split("://", 1)[0].lower() == SENTINEL


def sentinel_addresses(url: str) -> list[tuple[str, int]]:
    """The (host, port) of every Sentinel in `sentinel://h1:p1;sentinel://h2:p2`."""
    addresses = []
    for part in url.split(";"):
        parts = urlsplit(part.strip())
        addresses.append((parts.hostname or "127.0.0.1", parts.port or SENTINEL_PORT))
    return addresses


def client_for(
    url: str,
    options: Mapping[str, Any] | None = None,
    *,
    timeout: float | None = None,
    connect_timeout: float | None = None,
) -> redis.Redis:
    """A client for `url`; `options` are the URL's Celery transport options (the master name
    and `sentinel_kwargs` of a Sentinel URL; nothing else here reads them)."""
    sockets = {"socket_timeout": timeout, "socket_connect_timeout": connect_timeout}
    if not is_sentinel(url):
        if url.startswith("redis+socket://"):  # kombu's spelling of redis-py's unix://
            url = "unix://" + url.removeprefix("redis+socket://")
        return redis.Redis.from_url(url, **sockets)
    options = options or {}
    master_name = options.get("master_name")
    if not master_name:
        raise NoMasterName("a sentinel:// URL needs the master name (broker.sentinel.master_name)")
    first = urlsplit(url.split(";", 1)[0].strip())
    master: dict[str, Any] = dict(sockets)
    if first.password:
        master["password"] = unquote(first.password)
    if first.username:
        master["username"] = unquote(first.username)
    database = first.path.lstrip("/")
    if database.isdigit():
        master["db"] = int(database)
    # The caller's bounds win over the compiled ones: a probe's PING waits seconds, not 30.
    given = {key: value for key, value in sockets.items() if value is not None}
    sentinel_kwargs = {**(options.get("sentinel_kwargs") or {}), **given}
    sentinel = Sentinel(
        sentinel_addresses(url),
        min_other_sentinels=int(options.get("min_other_sentinels", 0)),
        sentinel_kwargs=sentinel_kwargs,
        **master,
    )
    client: redis.Redis = sentinel.master_for(str(master_name), redis_class=redis.Redis)
    return client


def broker_client(settings: Mapping[str, Any], **timeouts: float) -> redis.Redis:
    """A client on the broker of Celery `settings` (a Plan's `celery` dict or `app.conf`)."""
    return client_for(
        str(settings["broker_url"]), settings.get("broker_transport_options"), **timeouts
    )


def backend_client(settings: Mapping[str, Any], **timeouts: float) -> redis.Redis:
    """A client on the result backend of Celery `settings`."""
    return client_for(
        str(settings["result_backend"]),
        settings.get("result_backend_transport_options"),
        **timeouts,
    )
