"""`air render systemd`: a templated unit for the pools (`air-pool@POOL.service`), one for beat,
and `air.target` that starts them all."""

from __future__ import annotations

import shlex

from runtime.compiler.plan import Plan
from runtime.review.render import commands
from runtime.review.render.options import RenderOptions
from runtime.review.render.pools import stop_grace
from runtime.review.render.sources import Sources, header

CONFIG_DIR = "/etc/air/config"
ENV_FILE = "/etc/air/air.env"  # AIR_BROKER_URL, AIR_RESULT_BACKEND: secrets stay out of units


def render(plan: Plan, sources: Sources, options: RenderOptions) -> dict[str, str]:
    executable = options.executable
    # One template serves every pool, so it waits as long as the slowest pool needs.
    grace = max((stop_grace(plan, w) for w in plan.workers.values()), default=30)
    pool = _unit(
        sources,
        description="air worker pool %i",
        command=[executable, *commands.pool("%i")[1:]],
        extra=[
            # SIGTERM to the worker only: Celery's warm shutdown stops its children itself.
            "KillSignal=SIGTERM",
            "KillMode=mixed",
            f"TimeoutStopSec={grace}",
        ],
    )
    beat = _unit(sources, description="air beat", command=[executable, *commands.beat()[1:]])
    wants = " ".join(
        [*(f"air-pool@{w.pool}.service" for w in plan.workers.values()), "air-beat.service"]
    )
    target = header("systemd", sources) + (
        f"[Unit]\nDescription=air: every pool and beat\nWants={wants}\n\n"
        "[Install]\nWantedBy=multi-user.target\n"
    )
    return {"air-pool@.service": pool, "air-beat.service": beat, "air.target": target}


def _unit(
    sources: Sources, *, description: str, command: list[str], extra: list[str] | None = None
) -> str:
    lines = [
        "[Unit]",
        f"Description={description}",
        "After=network-online.target",
        "Wants=network-online.target",
        "PartOf=air.target",
        "",
        "[Service]",
        "Type=simple",
        f"Environment=AIR_CONFIG_DIR={CONFIG_DIR}",
        f"EnvironmentFile=-{ENV_FILE}",
        f"ExecStart={shlex.join(command)}",
        *(extra or []),
        "Restart=on-failure",
        "RestartSec=5",
        "",
        "[Install]",
        "WantedBy=air.target",
    ]
    return header("systemd", sources) + "\n".join(lines) + "\n"
