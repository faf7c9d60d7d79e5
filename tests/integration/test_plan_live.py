"""`air plan --live`: messages really published by `air send` to a real redis-server are
counted in the queues a change removes or renames, across every priority list."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import redis
from click.testing import CliRunner

from cli.main import main
from runtime.broker.queues import list_keys
from runtime.process.embedded import free_port
from tests.integration.gitrepo import GitRepo, remove_data_pipeline, rename_low_priority, replace

SENT = {"ops.analytics": 3, "ops.backup": 2, "data.export": 4, "debug": 1}


def air(
    cwd: Path, broker: str, *args: str, monkeypatch: pytest.MonkeyPatch
) -> tuple[int, str, str]:
    monkeypatch.chdir(cwd)
    env = {"AIR_CONFIG_DIR": None, "AIR_BROKER_URL": broker, "AIR_RESULT_BACKEND": broker,
           "NO_COLOR": "1"}
    with CliRunner(env=env).isolation() as (out, err, _):
        code = main(list(args))
    return code, out.getvalue().decode(), err.getvalue().decode()


@pytest.fixture
def repo(tmp_path: Path) -> tuple[GitRepo, str]:
    """Base: the shipped config, ops.backup sent at priority 8 (another Redis list than the
    rest of low_priority). Head: low_priority renamed, data_pipeline removed."""
    repo = GitRepo.with_shipped_config(tmp_path / "repo")
    repo.edit("queues.yaml", replace("  ops.backup:\n", "  ops.backup:\n    priority: 8\n"))
    base = repo.commit("ops.backup more urgent")
    rename_low_priority(repo)
    remove_data_pipeline(repo)
    repo.commit("rename low_priority, fold data_pipeline into default")
    repo.git("checkout", "-q", base)  # `air send` routes by the base revision's config
    return repo, base


def test_live_counts_the_messages_a_change_strands(
    repo: Any, redis_url: str, redis_client: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    git, base = repo
    for task, count in SENT.items():
        for _ in range(count):
            code, _, err = air(git.root, redis_url, "send", task, monkeypatch=monkeypatch)
            assert code == 0, err
    lengths = {name: redis_client.llen(name) for name in list_keys("low_priority")}
    assert sorted(n for n in lengths.values() if n) == [2, 3]  # two priority lists in use
    code, out, err = air(git.root, redis_url, "plan", "--base", base, "--head", "main",
                         "--live", "--format", "json", monkeypatch=monkeypatch)
    assert code == 5, err
    document = json.loads(out)
    assert document["live"] is True
    waiting = {r["code"]: r["waiting"] for r in document["risks"] if r["waiting"] is not None}
    assert waiting == {"PLAN001": 4, "PLAN002": 5}  # data_pipeline; low_priority
    code, out, _ = air(git.root, redis_url, "plan", "--base", base, "--head", "main", "--live",
                       monkeypatch=monkeypatch)
    assert "      5 messages waiting in it now" in out
    assert "      4 messages waiting in it now" in out
    assert sum(redis_client.llen(n) for n in list_keys("low_priority")) == 5  # read only


def test_live_with_nothing_waiting_counts_zero(
    repo: Any, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    git, base = repo
    code, out, err = air(git.root, "redis://127.0.0.1:1/0", "plan", "--base", base, "--head",
                         "main", "--live", "--broker", redis_url, "--format", "json",
                         monkeypatch=monkeypatch)
    assert code == 5, err
    assert {r["waiting"] for r in json.loads(out)["risks"] if r["code"] == "PLAN001"} == {0}


def test_an_unreachable_broker_exits_3_with_one_line(
    repo: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    git, base = repo
    url = f"redis://:secret@127.0.0.1:{free_port()}/0"
    code, out, err = air(git.root, url, "plan", "--base", base, "--head", "main", "--live",
                         monkeypatch=monkeypatch)
    assert code == 3 and out == ""
    first, *rest = err.splitlines()
    assert first.startswith("error: the broker at redis://:***@127.0.0.1:") and "secret" not in err
    assert all(line.startswith("  hint:") for line in rest)
