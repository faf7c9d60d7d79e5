"""Every air command line the rendered files run, in one place.

The rendered services, probes and units rely on exactly these verbs (DESIGN.md fixes them);
the report of `air render` lists them and tests/unit/test_render.py checks each file uses them.
"""

from __future__ import annotations

EXECUTABLE = "air"
EXPORTER_PORT = 9808  # DESIGN.md: `air exporter`, Prometheus metrics
FLOWER_PORT = 5555  # DESIGN.md: `air flower`, Celery's Flower dashboard


def pool(name: str) -> list[str]:
    """A pool's worker: what `air run POOL` executes (the plan's worker argv)."""
    return [EXECUTABLE, "run", name]


def health(name: str) -> list[str]:
    """A pool's liveness check: exit 0 when a worker of the pool answers."""
    return [EXECUTABLE, "health", "--pool", name]


def beat() -> list[str]:
    return [EXECUTABLE, "beat"]


def exporter() -> list[str]:
    return [EXECUTABLE, "exporter"]


def flower() -> list[str]:
    return [EXECUTABLE, "flower"]


def relied_on() -> list[list[str]]:
    """The command lines, with POOL for a pool's name."""
    return [pool("POOL"), health("POOL"), beat(), exporter(), flower()]
