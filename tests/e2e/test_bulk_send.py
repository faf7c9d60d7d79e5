"""Bulk send: the same messages as single sends, pipelined; `air send TASK --many FILE`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import redis

from runtime.process.embedded import RedisServer
from runtime.sending.bulk import send_many
from tests.e2e.conftest import Platform, events, queues_config
from tests.waiting import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(90)]


def _queued(client: redis.Redis, queue: str) -> list[dict]:
    keys = [k for k in client.keys(f"{queue}*") if not k.startswith(b"_kombu")]
    return [json.loads(raw) for key in keys for raw in client.lrange(key, 0, -1)]


def test_bulk_messages_match_a_single_send_and_are_pipelined(
    platform: Platform, own_redis: RedisServer
) -> None:
    # A server of its own: the read count below is server-wide, and nothing else may add to it
    # (processes of earlier tests winding down on the session's server can: 274 reads seen).
    url = f"{own_redis.url}/0"
    platform.write(queues_config(url))
    with redis.Redis.from_url(url) as redis_client:
        app = platform.app()
        single = app.send_task("sample.echo", args=["one"])
        (reference,) = _queued(redis_client, "default")
        redis_client.delete(*redis_client.keys("default*"))

        redis_client.config_resetstat()
        calls = [[i] for i in range(2500)] + [{"args": ["kw"], "kwargs": {}}]
        ids = send_many(app, "sample.echo", calls)
        stats, commands = redis_client.info("stats"), redis_client.info("commandstats")

        assert len(ids) == len(set(ids)) == 2501 and single.id not in ids
        assert commands["cmdstat_lpush"]["calls"] == 2501
        # 3 pipelines of up to 1,000 messages, not 2,501 round trips. The server reads each in
        # 16 KiB chunks at best, more when the client's writes reach it piecemeal (a loaded
        # machine: 287 reads seen), so the bound only separates pipelined from not.
        assert stats["total_reads_processed"] < 2501 / 4
        assert "cmdstat_subscribe" not in commands
        messages = _queued(redis_client, "default")
        assert len(messages) == 2501
        bulk = messages[0]
        assert set(bulk["headers"]) == set(reference["headers"])  # whatever the send path adds
        assert bulk["properties"]["priority"] == reference["properties"]["priority"]
        assert bulk["properties"]["delivery_info"] == reference["properties"]["delivery_info"]


def test_air_send_many_reads_jsonl_and_every_task_runs(
    platform: Platform, redis_client: redis.Redis, tmp_path: Path
) -> None:
    platform.write(queues_config(platform.redis_url))
    platform.start_pool("default")
    calls = tmp_path / "calls.jsonl"
    calls.write_text('["a"]\n\n{"args": ["b"]}\n{"kwargs": {"value": "c"}}\n')

    sent = platform.run_air("send", "sample.echo", "--many", str(calls))
    assert sent.returncode == 0, sent.stderr
    assert len(sent.stdout.split()) == 3 and "sent 3 x sample.echo" in sent.stderr
    wait_until(lambda: len(events(redis_client, "echo")) == 3, message="the three tasks")
    assert sorted(e["value"] for e in events(redis_client, "echo")) == ["a", "b", "c"]


def test_a_bad_line_is_a_usage_error_naming_it(platform: Platform, tmp_path: Path) -> None:
    platform.write(queues_config(platform.redis_url))
    calls = tmp_path / "calls.jsonl"
    calls.write_text('["ok"]\n{"args": 3}\n')

    sent = platform.run_air("send", "sample.echo", "--many", str(calls))
    assert sent.returncode == 2
    assert f"{calls}:2: expected a JSON list" in sent.stderr
    assert "Traceback" not in sent.stderr
