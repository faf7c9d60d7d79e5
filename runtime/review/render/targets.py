"""The render targets `air render` offers, by name."""

from __future__ import annotations

from collections.abc import Callable

from runtime.compiler.plan import Plan
from runtime.review.render import compose, kubernetes, systemd
from runtime.review.render.options import RenderOptions
from runtime.review.render.sources import Sources

Renderer = Callable[[Plan, Sources, RenderOptions], dict[str, str]]

TARGETS: dict[str, Renderer] = {
    "compose": compose.render,
    "kubernetes": kubernetes.render,
    "systemd": systemd.render,
}
