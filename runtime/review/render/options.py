"""What a rendering may be told beyond the config: image, build context, executable path."""

from __future__ import annotations

from dataclasses import dataclass

IMAGE = "air:latest"  # the image compose builds and Kubernetes runs
EXECUTABLE = "/usr/local/bin/air"  # systemd: where `air` is installed (pip in the image, too)


@dataclass(frozen=True, slots=True, kw_only=True)
class RenderOptions:
    image: str = IMAGE
    context: str = "."  # compose: the repository root, relative to compose.yaml
    dockerfile: str = "Dockerfile"  # compose: the rendered Dockerfile, relative to the context
    config: str = "config"  # compose: the config directory, relative to the context
    executable: str = EXECUTABLE
