"""Redis Sentinel URLs: rules, compiled settings, redaction and the client factory."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from redis.sentinel import SentinelConnectionPool

from runtime.broker.clients import NoMasterName, client_for, sentinel_addresses
from runtime.compiler.compile import compile_plan
from runtime.config.redact import redact, redact_data
from runtime.config.validate import validate
from tests.unit.conftest import MINIMAL_QUEUES

WriteConfig = Callable[..., Path]
URL = "sentinel://:${REDIS_PASSWORD}@127.0.0.1:26379/2;sentinel://127.0.0.1:26380"
SENTINEL_BROKER = f"""\
broker:
  url: '{URL}'
  sentinel:
    master_name: ${{AIR_SENTINEL_MASTER:-mymaster}}
    password: ${{AIR_SENTINEL_PASSWORD:-}}
"""
ENV = {"REDIS_PASSWORD": "redis-secret", "AIR_SENTINEL_PASSWORD": "sentinel-secret"}


def test_sentinel_urls_compile_to_air_transport_and_backend(write_config: WriteConfig) -> None:
    result = validate(write_config(MINIMAL_QUEUES + SENTINEL_BROKER), ENV)
    assert list(result.report) == []
    assert result.config is not None
    plan = compile_plan(result.config, cores=2)
    celery = plan.celery
    assert celery["broker_url"] == URL.replace("${REDIS_PASSWORD}", "redis-secret")
    assert celery["broker_transport"] == "runtime.broker.transport:SentinelTransport"
    assert plan.result_backend_class == "runtime.broker.result_backend:SentinelResultBackend"
    options = celery["broker_transport_options"]
    assert isinstance(options, dict)
    assert options["master_name"] == "mymaster"
    assert options["sentinel_kwargs"] == {
        "socket_timeout": 30,
        "socket_connect_timeout": 5,
        "password": "sentinel-secret",
    }
    backend = celery["result_backend_transport_options"]
    assert backend == {"master_name": "mymaster", "sentinel_kwargs": options["sentinel_kwargs"]}


def test_redis_urls_get_no_sentinel_options(write_config: WriteConfig) -> None:
    result = validate(write_config(), {})
    assert result.config is not None
    celery = compile_plan(result.config, cores=2).celery
    assert "result_backend_transport_options" not in celery
    assert "master_name" not in celery["broker_transport_options"]  # type: ignore[operator]


def test_a_sentinel_url_without_a_master_name_is_an_error(write_config: WriteConfig) -> None:
    queues = MINIMAL_QUEUES + "broker:\n  url: 'sentinel://127.0.0.1:26379'\n"
    report = validate(write_config(queues), {}).report
    [error] = list(report)
    assert (error.code, error.pointer, error.line, error.col) == ("AIR504", "/broker/url", 9, 8)
    assert error.hint and "master_name" in error.hint


def test_a_sentinel_address_with_a_bad_port_is_an_error(write_config: WriteConfig) -> None:
    broker = SENTINEL_BROKER.replace("26380", "99999")
    assert [d.code for d in validate(write_config(MINIMAL_QUEUES + broker), ENV).report] == [
        "AIR503"
    ]


def test_a_plaintext_sentinel_password_is_a_warning(write_config: WriteConfig) -> None:
    broker = SENTINEL_BROKER.replace("${AIR_SENTINEL_PASSWORD:-}", "hunter2")
    report = validate(write_config(MINIMAL_QUEUES + broker), ENV).report
    assert [(d.code, d.pointer) for d in report] == [("AIR501", "/broker/sentinel/password")]
    assert all("hunter2" not in d.message for d in report)


def test_sentinel_passwords_are_redacted() -> None:
    url = "sentinel://:pw1@127.0.0.1:26379/0;sentinel://u:pw2@127.0.0.1:26380"
    assert redact(url) == "sentinel://:***@127.0.0.1:26379/0;sentinel://u:***@127.0.0.1:26380"
    options = {"master_name": "m", "sentinel_kwargs": {"password": "pw3", "socket_timeout": 30}}
    assert redact_data({"broker_transport_options": options}) == {
        "broker_transport_options": {
            "master_name": "m",
            "sentinel_kwargs": {"password": "***", "socket_timeout": 30},
        }
    }


def test_the_client_factory_asks_the_sentinels_for_the_master() -> None:
    url = "sentinel://:pw@127.0.0.1:26379/3;sentinel://127.0.0.1:26380"
    assert sentinel_addresses(url) == [("127.0.0.1", 26379), ("127.0.0.1", 26380)]
    options = {"master_name": "mymaster", "sentinel_kwargs": {"password": "spw"}}
    client = client_for(url, options, timeout=2)
    pool = client.connection_pool
    assert isinstance(pool, SentinelConnectionPool)  # connections follow the master
    assert pool.service_name == "mymaster"
    assert pool.connection_kwargs["password"] == "pw"
    assert pool.connection_kwargs["db"] == 3
    sentinels = pool.sentinel_manager.sentinels
    assert [s.connection_pool.connection_kwargs["password"] for s in sentinels] == ["spw"] * 2
    with pytest.raises(NoMasterName):
        client_for(url)


def test_the_client_factory_keeps_plain_urls_plain() -> None:
    client = client_for("redis+socket:///tmp/redis.sock", timeout=1)
    assert client.connection_pool.connection_kwargs["path"] == "/tmp/redis.sock"
    assert not isinstance(
        client_for("redis://127.0.0.1:1/0").connection_pool, SentinelConnectionPool
    )
