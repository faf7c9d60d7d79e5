"""The dead-letter store and the embedded Redis, against a real redis-server."""

from __future__ import annotations

import json
import os
import socket
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis

from runtime.broker import deadletter
from runtime.broker.deadletter import DeadLetter, DeadLetterStore
from runtime.process.embedded import RedisServer, answers, find_redis_server, free_port, is_loopback


@pytest.fixture
def store(redis_client: redis.Redis) -> DeadLetterStore:
    return DeadLetterStore(redis_client)


def letter(task_id: str, task: str = "t.one", at: float = 1000.0, **fields: object) -> DeadLetter:
    """A dead letter failed at `at` (0 would mean "now": add() stamps it)."""
    return DeadLetter(id=task_id, task=task, reason="failed", failed_at=at, **fields)  # type: ignore[arg-type]


# --- the store -------------------------------------------------------------------------------


def test_add_then_get_returns_the_same_letter(store: DeadLetterStore) -> None:
    original = DeadLetter(
        id="abc",
        task="sync.email",
        reason="timeout",
        args=[1, "two"],
        kwargs={"user": 7},
        queue="default",
        retries=3,
        exception="TimeLimitExceeded",
        message="60s",
        traceback="Traceback...",
        hostname="default@box",
        failed_at=1234.5,
    )

    store.add(original)

    assert store.get("abc") == original
    assert store.get("missing") is None
    assert store.count() == 1


def test_add_stamps_the_failure_time_when_missing(store: DeadLetterStore) -> None:
    before = datetime.now(UTC).timestamp()

    store.add(DeadLetter(id="x", task="t", reason="failed"))

    found = store.get("x")
    assert found is not None
    assert before <= found.failed_at <= datetime.now(UTC).timestamp()


def test_adding_the_same_id_again_replaces_it(store: DeadLetterStore) -> None:
    store.add(letter("same", at=1.0, message="first"))
    store.add(letter("same", at=2.0, message="second"))

    assert store.count() == 1
    found = store.get("same")
    assert found is not None and (found.message, found.failed_at) == ("second", 2.0)


def test_list_is_newest_first_and_filters_by_task(store: DeadLetterStore) -> None:
    for n, task in enumerate(["a", "b", "a", "c", "a"]):
        store.add(letter(f"id{n}", task=task, at=100.0 + n))

    assert [x.id for x in store.list()] == ["id4", "id3", "id2", "id1", "id0"]
    assert [x.id for x in store.list(limit=2)] == ["id4", "id3"]
    assert [x.id for x in store.list(task="a")] == ["id4", "id2", "id0"]
    assert [x.id for x in store.list(task="a", limit=2)] == ["id4", "id2"]
    assert store.list(task="nobody") == []


def test_list_reads_past_one_batch(store: DeadLetterStore) -> None:
    for n in range(1203):
        store.add(letter(f"id{n:04}", task="even" if n % 2 == 0 else "odd", at=1.0 + n))

    everything = store.list(limit=5000)
    odd = store.list(limit=5000, task="odd")

    assert len(everything) == 1203
    assert (everything[0].id, everything[-1].id) == ("id1202", "id0000")
    assert len(odd) == 601 and odd[-1].id == "id0001"


def test_remove_and_purge(store: DeadLetterStore, redis_client: redis.Redis) -> None:
    for n, task in enumerate(["a", "b", "a", "b"]):
        store.add(letter(f"id{n}", task=task, at=1.0 + n))

    assert store.remove("id0") is True
    assert store.remove("id0") is False
    assert store.get("id0") is None and store.count() == 3

    assert store.purge(task="b") == 2
    assert [x.id for x in store.list()] == ["id2"]
    assert store.purge() == 1
    assert store.count() == 0 and store.purge() == 0
    assert redis_client.keys("air:dead*") == []  # nothing left behind


def test_the_store_is_trimmed_to_its_limit_entries_included(
    store: DeadLetterStore, redis_client: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(deadletter, "LIMIT", 3)

    for n in range(5):
        store.add(letter(f"id{n}", at=1.0 + n))

    assert store.count() == 3
    assert [x.id for x in store.list()] == ["id4", "id3", "id2"]
    # The oldest are gone for good, their documents too: a failure storm cannot fill Redis.
    assert store.get("id0") is None and store.get("id1") is None
    assert sorted(redis_client.keys("air:dead:*")) == [
        b"air:dead:id2",
        b"air:dead:id3",
        b"air:dead:id4",
    ]


def test_odd_values_survive_the_json_round_trip(store: DeadLetterStore) -> None:
    original = DeadLetter(
        id="odd",
        task="t",
        reason="unknown-task",
        args=[
            "é ☃ 🐍",
            "",
            None,
            True,
            0,
            -1,
            2**63,
            1.5e-300,
            [[]],
            {"": {"k": [None]}},
            'line\nbreak\t"quoted"\\',
            "\u0000",
        ],
        kwargs={"ключ": "значение", "nested": {"deep": [1, {"x": None}]}, "": 0},
        queue=None,
        exception="",
        message="",
        traceback="",
        hostname="",
    )

    store.add(original)

    found = store.get("odd")
    assert found is not None
    assert (found.args, found.kwargs, found.queue) == (original.args, original.kwargs, None)


def test_values_json_cannot_hold_are_kept_as_their_repr(store: DeadLetterStore) -> None:
    moment = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    store.add(letter("repr", args=[moment, b"\x00bytes"], kwargs={"when": moment}))

    found = store.get("repr")
    assert found is not None
    assert found.args == [repr(moment), repr(b"\x00bytes")]
    assert found.kwargs == {"when": repr(moment)}


def test_a_document_with_unknown_fields_still_loads(
    redis_client: redis.Redis, store: DeadLetterStore
) -> None:
    store.add(letter("future"))
    document = json.loads(redis_client.get("air:dead:future") or b"")
    document["added_in_a_later_version"] = [1]
    redis_client.set("air:dead:future", json.dumps(document))

    found = store.get("future")
    assert found is not None and found.id == "future"


def test_from_url(redis_url: str) -> None:
    store = DeadLetterStore.from_url(redis_url)
    store.add(letter("via-url"))

    assert [x.id for x in DeadLetterStore.from_url(redis_url).list()] == ["via-url"]


# --- the embedded Redis ----------------------------------------------------------------------


def test_find_redis_server_returns_an_executable() -> None:
    binary = find_redis_server()

    assert binary is not None
    assert Path(binary).is_file() and os.access(binary, os.X_OK)


def test_persistent_redis_keeps_queued_work_across_a_restart(tmp_path: Path) -> None:
    directory = tmp_path / "state"
    server = RedisServer(free_port(), directory, persistent=True)
    server.start()
    try:
        client = redis.Redis(port=server.port)
        client.rpush("default", "job-1", "job-2")
        client.set("other", "kept")
        client.close()
    finally:
        server.stop()
    assert server.process is not None and server.process.returncode == 0
    assert (directory / "appendonly.aof").is_file() or (directory / "appendonlydir").is_dir()

    again = RedisServer(free_port(), directory, persistent=True)
    again.start()
    try:
        client = redis.Redis(port=again.port)
        assert client.lrange("default", 0, -1) == [b"job-1", b"job-2"]
        assert client.get("other") == b"kept"
        client.close()
    finally:
        again.stop()


def test_throw_away_redis_writes_nothing_to_disk(tmp_path: Path) -> None:
    server = RedisServer(free_port(), tmp_path, persistent=False)
    server.start()
    try:
        redis.Redis(port=server.port).set("k", "v")
    finally:
        server.stop()

    assert sorted(p.name for p in tmp_path.iterdir()) == ["redis.log"]


def test_stop_and_kill_end_the_server(tmp_path: Path) -> None:
    stopped = RedisServer(free_port(), tmp_path / "a", persistent=False)
    killed = RedisServer(free_port(), tmp_path / "b", persistent=False)
    for server in (stopped, killed):
        server.start()
        assert answers("127.0.0.1", server.port)

    stopped.stop()
    killed.kill()

    assert stopped.process is not None and stopped.process.returncode == 0
    assert killed.process is not None and killed.process.returncode == -9
    assert not answers("127.0.0.1", stopped.port) and not answers("127.0.0.1", killed.port)
    stopped.stop()  # stopping twice is harmless
    killed.kill()


def test_start_fails_loudly_when_the_port_is_taken(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    clash = RedisServer(redis_server.port, tmp_path, persistent=False)

    with pytest.raises(RuntimeError, match="redis-server exited"):
        clash.start(timeout=10)
    assert answers("127.0.0.1", redis_server.port)  # the one already there is untouched


def test_answers_is_false_without_a_redis(redis_server: RedisServer) -> None:
    assert answers("127.0.0.1", redis_server.port)
    assert not answers("127.0.0.1", free_port())
    with socket.socket() as silent:  # accepts connections, never replies
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        assert not answers("127.0.0.1", silent.getsockname()[1], timeout=0.2)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("redis://127.0.0.1:6379/0", True),
        ("redis://localhost/0", True),
        ("rediss://127.0.0.2:6380", True),
        ("redis://[::1]:6379/0", True),
        ("redis://:secret@127.0.0.1:6379/1", True),
        ("redis://10.0.0.5:6379/0", False),
        ("redis://redis.internal:6379/0", False),
        ("redis://127.example.com:6379/0", False),
        ("unix:///tmp/redis.sock", False),
        ("sentinel://127.0.0.1:26379", False),
    ],
)
def test_is_loopback(url: str, expected: bool) -> None:
    assert is_loopback(url) is expected
