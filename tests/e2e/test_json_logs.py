"""Under `air up` with its output piped (a log collector, not a person), every line is JSON:
its own notes, Celery's banners' facts, the task store's start-up line, the tasks' logs."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO
from tests.e2e.conftest import AIR, Platform

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(150)]


def parse(stream: str, text: str) -> list[dict[str, Any]]:
    records = []
    for number, line in enumerate(text.splitlines(), 1):
        try:
            record = json.loads(line)
        except ValueError:
            pytest.fail(f"{stream} line {number} is not JSON: {line!r}\n{text}")
        assert isinstance(record, dict), line
        records.append(record)
    return records


def test_every_line_of_a_piped_air_up_is_json(
    crashable_platform: Platform, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    platform = crashable_platform
    shutil.copytree(REPO / "config", platform.config_dir, dirs_exist_ok=True)  # the real catalogue
    monkeypatch.setenv("AIR_BROKER_URL", platform.redis_url)
    monkeypatch.setenv("AIR_RESULT_BACKEND", platform.redis_url[:-1] + "1")
    monkeypatch.setenv("AIR_DATABASE_URL", f"sqlite:///{tmp_path / 'air.db'}")
    monkeypatch.delenv("AIR_LOG_FORMAT", raising=False)
    up = subprocess.Popen(
        [AIR, "up", "--pools", "default", "--grace", "10"],
        cwd=platform.root,
        env=platform.env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        platform.wait_ready("default", timeout=60)
        result = platform.app().send_task("debug", args=["json"], ignore_result=False)
        assert result.get(timeout=30)["args"] == ["json"]
        up.send_signal(signal.SIGTERM)
        out, err = up.communicate(timeout=60)
    finally:
        if up.poll() is None:
            up.kill()
            up.communicate()

    assert up.returncode == 0, err
    records = parse("stdout", out) + parse("stderr", err)
    # The default pool runs one process per core: its children are default.1, default.2, ...
    events = {(str(r.get("process")).split(".")[0], r["event"]) for r in records}
    assert ("default", "store_ready") in events
    assert ("default", "worker starting") in events and ("beat", "beat starting") in events
    assert ("None", "stopped") in events
    assert ("default", "started") in events and ("beat", "started") in events  # the table
    assert not any("celery beat v" in r["event"] or "[queues]" in r["event"] for r in records)
