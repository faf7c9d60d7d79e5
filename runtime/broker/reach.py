"""Is Redis there? One bounded PING that tells "nothing answers" from "answers, but not as
Redis", and a bounded wait for a broker that is still starting."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from runtime.config.errors import BrokerUnreachable
from runtime.config.redact import redact

START_HINT = "start Redis, or run `air up`, which starts one"


class NoAnswer(BrokerUnreachable):
    """Raised when nothing answers at the Redis address (yet): worth waiting for."""


def ping(
    url: str,
    timeout: float = 3.0,
    *,
    what: str = "broker",
    options: Mapping[str, Any] | None = None,
) -> None:
    """Return if Redis at `url` answers PING within `timeout`; else raise BrokerUnreachable
    with one line saying what answered (nothing, or something that is not Redis). `options`:
    the URL's transport options (a Sentinel URL's master name: runtime/broker/clients.py)."""
    import redis  # here, not at the top: importing this module must stay cheap
    from redis.sentinel import MasterNotFoundError

    from runtime.broker.clients import client_for

    client = client_for(url, options, timeout=timeout, connect_timeout=timeout)
    try:
        client.ping()
    except redis.AuthenticationError as exc:  # a ConnectionError too: test it first
        raise BrokerUnreachable(
            f"the {what} at {redact(url)} refused the password: {exc}",
            hint="set the password in the URL's environment variable (AIR_BROKER_URL)",
        ) from None
    except MasterNotFoundError as exc:  # its text lists every Sentinel client's repr
        name = str(exc).split(" : ", 1)[0].removeprefix("No master found for ")
        raise NoAnswer(
            f"the {what} at {redact(url)} does not answer: no Sentinel named master {name}",
            hint="start the Sentinels, or check broker.sentinel.master_name",
        ) from None
    except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
        if isinstance(exc, redis.ConnectionError) and _listening(url, timeout):
            raise BrokerUnreachable(  # e.g. an HTTP server, which hangs up on a PING
                f"something listens at {redact(url)}, but not Redis: {exc}",
                hint=f"check the {what} URL's host and port",
            ) from None
        raise NoAnswer(
            f"the {what} at {redact(url)} does not answer: {exc}", hint=START_HINT
        ) from None
    except redis.RedisError as exc:
        raise BrokerUnreachable(
            f"something listens at {redact(url)}, but not Redis: {exc}",
            hint=f"check the {what} URL's host and port",
        ) from None
    finally:
        client.close()


def _listening(url: str, timeout: float) -> bool:
    """Whether a TCP connection to the URL's host and port succeeds (Redis or not)."""
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss") or not parts.port:
        return False
    try:
        with socket.create_connection((parts.hostname or "localhost", parts.port), timeout):
            return True
    except OSError:
        return False


def wait(
    url: str,
    seconds: float,
    *,
    what: str = "broker",
    on_wait: Callable[[str], None] | None = None,
    poll: float = 1.0,
    options: Mapping[str, Any] | None = None,
) -> None:
    """Ping until Redis answers or `seconds` have passed (then the last NoAnswer is raised);
    something that answers but is not Redis fails at once. `on_wait` hears once, at the first
    failure, that we are waiting."""
    deadline = time.monotonic() + seconds
    said = False
    while True:
        try:
            timeout = min(3.0, max(0.1, deadline - time.monotonic()))
            ping(url, timeout=timeout, what=what, options=options)
            return
        except NoAnswer as exc:
            left = deadline - time.monotonic()
            if left <= 0:
                if said:
                    exc.message = f"gave up after {seconds:g}s: {exc.message}"
                raise
            if on_wait is not None and not said:
                on_wait(f"waiting up to {seconds:g}s for the {what} at {redact(url)}")
            said = True
        time.sleep(min(poll, left))
