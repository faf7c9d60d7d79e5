"""Flower under `air up --flower`: its HTTP API, behind basic auth from the environment, lists
every running pool's worker and the queues that worker consumes."""

from __future__ import annotations

import base64
import json
import signal
import socket
import subprocess
import urllib.error
import urllib.request
from typing import Any

import pytest

from runtime.process.embedded import free_port
from tests.e2e.conftest import AIR, Platform, queues_config
from tests.waiting import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(150)]

AUTH = "air:not-a-real-secret"


def get(port: int, path: str, auth: str | None = AUTH) -> Any:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}")
    if auth:
        request.add_header("Authorization", "Basic " + base64.b64encode(auth.encode()).decode())
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def workers(port: int) -> dict[str, Any]:
    try:
        found: dict[str, Any] = get(port, "/api/workers?refresh=1")
    except (OSError, ValueError):
        return {}
    return found


def test_air_up_flower_lists_every_pool_worker_and_its_queues(platform: Platform) -> None:
    port = free_port()
    up = subprocess.Popen(
        [AIR, "up", "--no-beat", "--flower", "--flower-port", str(port)],
        cwd=platform.root,
        env={**platform.env(), "AIR_FLOWER_BASIC_AUTH": AUTH},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    host = socket.gethostname()
    expected = {f"{pool}@{host}": [pool] for pool in ("urgent", "default", "bulk")}
    try:
        for pool in ("urgent", "default", "bulk"):
            platform.wait_ready(pool, timeout=60)

        def every_pool() -> dict[str, Any]:
            found = workers(port)
            return found if set(expected) <= set(found) else {}

        found = wait_until(every_pool, 60, interval=0.5, message="Flower to list every worker")
        for name, queues in expected.items():
            assert [q["name"] for q in found[name]["active_queues"]] == queues
        with pytest.raises(urllib.error.HTTPError) as refused:
            get(port, "/api/workers", auth=None)
        refused.value.close()
        assert refused.value.code == 401
        with pytest.raises(urllib.error.HTTPError) as wrong:
            get(port, "/api/workers", auth="air:wrong")
        wrong.value.close()
        assert wrong.value.code == 401
        with pytest.raises(OSError):  # loopback only: not on the host's other addresses
            other = socket.gethostbyname(host)
            if other.startswith("127."):
                raise OSError("no address besides loopback to try")
            urllib.request.urlopen(f"http://{other}:{port}/", timeout=3).close()
        up.send_signal(signal.SIGINT)
        output = up.communicate(timeout=60)[0].decode()
    finally:
        if up.poll() is None:
            up.kill()
            up.wait()
    assert up.returncode == 0, output
    assert "flower" in output  # the start-up table lists it
    assert AUTH.split(":")[1] not in output  # the password is never printed


def test_air_flower_with_the_broker_down_exits_3(platform: Platform) -> None:
    platform.write(queues_config(f"redis://127.0.0.1:{free_port()}/0"))
    result = platform.run_air("flower", "--port", str(free_port()))
    assert result.returncode == 3
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "does not answer" in errors[0]
    assert "Traceback" not in result.stderr
