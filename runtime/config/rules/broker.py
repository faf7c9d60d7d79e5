"""Rules on the broker: URL schemes, Sentinel settings, and no plaintext password in committed
YAML."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

from runtime.config.diagnostics import Diagnostic
from runtime.config.redact import redact
from runtime.config.rules.context import Context, has

BROKER_SCHEMES = ("redis", "rediss", "redis+socket", "sentinel")
SCHEMES_HINT = (
    "use redis://host:port/db, rediss:// for TLS, redis+socket:///path, "
    "or sentinel://host:26379;sentinel://host2:26379"
)


def broker_url(ctx: Context) -> Iterator[Diagnostic]:
    broker = ctx.config.broker
    for key, url in (("url", broker.url), ("result_backend", broker.result_backend)):
        origin = broker.origin.at(key)
        if key == "result_backend" and not has(ctx, origin):
            continue  # it defaults to the broker URL, checked just before
        try:
            scheme = urlsplit(url).scheme
        except ValueError as exc:  # e.g. an unclosed '[' of an IPv6 host
            yield ctx.error(
                "AIR502",
                f"broker.{key} '{redact(url)}' is not a valid URL: {redact(str(exc))}",
                origin,
                hint=SCHEMES_HINT,
            )
            continue
        if scheme not in BROKER_SCHEMES:
            yield ctx.error(
                "AIR502",
                f"broker.{key} '{redact(url)}' uses scheme '{scheme}'; air runs on Redis",
                origin,
                hint=SCHEMES_HINT,
            )
            continue
        if scheme == "sentinel" and broker.sentinel is None:
            yield ctx.error(
                "AIR504",
                f"broker.{key} '{redact(url)}' is a Sentinel URL, but broker.sentinel is not set",
                origin,
                hint="name the master: sentinel: {master_name: ${AIR_SENTINEL_MASTER:-mymaster}}",
            )
            continue
        problem = _address_problem(url, scheme)
        if problem:
            yield ctx.error(
                "AIR503",
                f"broker.{key} '{redact(url)}': {problem}",
                origin,
                hint="a port is 1..65535 and a database a number: redis://host:6379/0",
            )
            continue
        doc = ctx.docs[origin.file]
        template = doc.templates.get(origin.pointer, url) if has(ctx, origin) else ""
        try:  # the first address of a Sentinel URL holds the master's password
            password = urlsplit(template.split(";", 1)[0]).password
        except ValueError:  # the template is no URL; the expanded value is, and was checked
            password = None
        if password and "${" not in password:
            yield ctx.warning(
                "AIR501",
                f"broker.{key} holds a plaintext password",
                origin,
                hint="read it from the environment: redis://:${REDIS_PASSWORD}@host:6379/0",
            )


def sentinel_password(ctx: Context) -> Iterator[Diagnostic]:
    """The Sentinels' password belongs in the environment, like a broker URL's."""
    broker = ctx.config.broker
    if broker.sentinel is None or not broker.sentinel.password:
        return
    origin = broker.origin.at("sentinel", "password")
    template = ctx.docs[origin.file].templates.get(origin.pointer, broker.sentinel.password)
    if "${" not in template:
        yield ctx.warning(
            "AIR501",
            "broker.sentinel.password is a plaintext password",
            origin,
            hint="read it from the environment: password: ${AIR_SENTINEL_PASSWORD}",
        )


def _address_problem(url: str, scheme: str) -> str | None:
    """What redis-py would fail on when connecting: the port and the database number (of
    every address of a Sentinel URL)."""
    if scheme == "sentinel":
        for part in url.split(";"):
            problem = _address_problem(part.strip(), "redis")
            if problem:
                return problem
        return None
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        return "the port is not a number from 1 to 65535"
    if port == 0:
        return "the port is not a number from 1 to 65535"
    if scheme == "redis+socket":
        return None
    database = parts.path.lstrip("/")
    if database and not (database.isascii() and database.isdigit() and int(database) < 2**31):
        return f"the database '{database}' is not a number"
    return None
