"""The shipped platform end to end: `air up` on the default config with an embedded Redis, the
demo data, and every one of the catalogue's tasks doing its real work in the real pools."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil
import pytest
import sqlalchemy as sa

from runtime.process.embedded import answers, free_port
from tasks import store
from tasks.store.db import tables
from tests.conftest import REPO
from tests.e2e.conftest import AIR, ping
from tests.waiting import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(300)]

POOLS = ("high-priority", "default", "ai-tasks", "data-pipeline", "low-priority")


@pytest.fixture
def shipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """`air up` on config/ from a fresh working directory; nothing answers on its Redis port."""
    port = free_port()
    env = {"AIR_BROKER_URL": f"redis://127.0.0.1:{port}/0",
           "AIR_RESULT_BACKEND": f"redis://127.0.0.1:{port}/1",
           "AIR_DATABASE_URL": f"sqlite+pysqlite:///{tmp_path}/.air/air.db",
           "AIR_EXPORT_DIR": str(tmp_path / ".air/exports"),
           "AIR_BACKUP_DIR": str(tmp_path / ".air/backups")}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AIR_CONFIG_DIR", str(REPO / "config"))
    store.dispose_engine()
    seeded = subprocess.run([AIR, "seed-demo"], cwd=tmp_path, capture_output=True, text=True,
                            timeout=60)
    assert seeded.returncode == 0, seeded.stderr
    log = tmp_path / "up.log"
    with open(log, "wb") as out:
        up = subprocess.Popen([AIR, "up", "--grace", "30"], cwd=tmp_path, env=dict(os.environ),
                              stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: answers("127.0.0.1", port), timeout=30, message="embedded Redis")
        app = _app()
        for pool in POOLS:
            _ping(app, pool)
        yield {"up": up, "port": port, "app": app, "dir": tmp_path, "log": log}
    finally:
        if up.poll() is None:
            up.send_signal(signal.SIGINT)
            try:
                up.wait(60)
            except subprocess.TimeoutExpired:
                up.kill()
        store.dispose_engine()


def _app() -> Any:
    from runtime.celeryapp.app import create_app
    from runtime.compiler.compile import load_plan

    return create_app(load_plan(REPO / "config")[0])


def _ping(app: Any, pool: str) -> None:
    import socket

    names = [n.replace("%h", socket.gethostname()) for n in app.air_plan.workers[pool].hostnames]
    wait_until(lambda: len(ping(app, names)) == len(names), timeout=60,
               message=f"{', '.join(names)} to answer ping")


def _count(table: sa.Table, *where: Any) -> int:
    with store.transaction(readonly=True) as conn:
        return int(conn.scalar(sa.select(sa.func.count()).select_from(table).where(*where)) or 0)


def test_every_task_does_its_work_in_the_running_platform(shipped: dict[str, Any]) -> None:
    app, run = shipped["app"], {}

    def call(name: str, **kwargs: Any) -> Any:
        result = app.send_task(name, kwargs=kwargs, ignore_result=False).get(timeout=120)
        run[name] = result
        return result

    with store.transaction(readonly=True) as conn:
        user = store.find_user(conn, email="dana@air.example")
        integrations = {r.kind: r.id for r in store.list_integrations(conn, user_id=user)}
    interactions_before = _count(tables.interactions)
    assert _count(tables.oauth_states) == 3

    assert call("sync.email", integration_id=integrations["mail"])["imported"] >= 4
    assert _count(tables.interactions) >= interactions_before + 4
    assert call("sync.calendar", integration_id=integrations["calendar"])["changed"] == 3
    assert _count(tables.meetings) == 3
    assert call("sync.email", integration_id=integrations["mail"])["imported"] == 0  # idempotent

    with store.transaction(readonly=True) as conn:
        contact_ids = [c.id for c in store.list_contacts(conn, user_id=user)]
    changed = [call("contacts.process", contact_id=c)["changed"] for c in contact_ids]
    assert sum(1 for c in changed if c) >= 5  # the messy demo names, emails and phones
    assert call("data.deduplicate", user_id=user)["merged"] >= 2  # Ann Lee, Jon/John Smith
    assert call("contacts.analyze_interactions")["interactions_analyzed"] >= 10
    assert call("contacts.score_relationships")["changed"] >= 5
    assert call("ai.analyze")["saved"] >= 10
    assert call("ai.extract_interests", contact_id=contact_ids[0])["status"] in ("saved",
                                                                                   "unchanged")
    assert call("ai.generate_briefing")["written"] == 1  # the one meeting in the next 24 hours
    assert call("ai.generate_message", contact_id=contact_ids[0], purpose="follow_up")[
        "status"] == "saved"
    assert call("data.bulk_operation", user_id=user, action="tag", contact_ids=contact_ids[:3],
                tags=["demo"])["changed"] >= 1
    export = call("data.export", user_id=user)
    assert all(Path(p).exists() for p in export["paths"])
    assert call("auth.oauth_cleanup")["deleted"] == 2
    assert call("auth.token_refresh")["due"] == 0  # the demo has no OAuth provider to call
    assert call("integrations.health_check")["checked"] == 2
    assert call("notify.critical_alert", title="e2e", body="platform test")["sent"] == ["log"]
    assert call("notify.user_notification", user_id=user, subject="hi", channel="log")[
        "status"] in ("delivered", "sent")
    assert call("data.cleanup")  # nothing is old enough yet; it must still run cleanly
    day = datetime.now(UTC).date().isoformat()
    assert call("ops.analytics", day=day)["metrics"]["contacts"]["total"] >= 10
    assert Path(call("ops.backup")["path"]).exists()
    assert "vacuumed" in call("ops.maintenance")
    assert call("debug")["queue"] == "default"

    assert set(run) >= set(app.air_plan.tasks)  # every declared task ran here

    children = psutil.Process(shipped["up"].pid).children(recursive=True)
    assert len(children) >= 1 + len(POOLS) + 1  # redis-server, the pools, beat
    shipped["up"].send_signal(signal.SIGINT)
    assert shipped["up"].wait(60) == 0, shipped["log"].read_text()[-3000:]
    assert not answers("127.0.0.1", shipped["port"])
    alive = [p for p in children if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert alive == []
