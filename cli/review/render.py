"""`air render`: deployment files generated from the config, never kept by hand."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import click

from cli.common import plan_or_fail
from cli.options import CliOptions, config_option, pass_options
from runtime.config.errors import UsageError
from runtime.review.render import options as render_defaults
from runtime.review.render.options import RenderOptions
from runtime.review.render.sources import Sources
from runtime.review.render.targets import TARGETS

EPILOG = """\b
Examples:
  air render compose --out deploy/compose      compose.yaml and Dockerfile
  air render kubernetes | kubectl apply -f -   ConfigMap, Deployments, KEDA ScaledObjects
  air render systemd --out /etc/systemd/system air-pool@.service, air-beat.service, air.target
\b
Without --out every file goes to stdout, each after a `# Source: NAME` line.
"""


@dataclass(frozen=True, slots=True)
class RenderCommand:
    cli: CliOptions
    target: str
    out: Path | None
    image: str
    executable: str


@click.command(epilog=EPILOG)
@config_option
@click.argument("target", type=click.Choice(list(TARGETS)))
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    help="Write the files into this directory instead of printing them.",
)
@click.option(
    "--image",
    default=render_defaults.IMAGE,
    show_default=True,
    help="Image the compose and Kubernetes services run.",
)
@click.option(
    "--executable",
    default=render_defaults.EXECUTABLE,
    show_default=True,
    help="systemd: path of the installed `air` command.",
)
@pass_options
def render(options: CliOptions, target: str, out: Path | None, image: str, executable: str) -> None:
    """Render deployment files (compose, kubernetes, systemd) from the config."""
    execute(RenderCommand(options, target, out, image, executable))


def execute(opts: RenderCommand) -> None:
    plan = plan_or_fail(opts.cli)
    config_dir = opts.cli.config_dir
    try:
        sources = Sources.read(config_dir)
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read the config: {exc}") from None
    out = opts.out or Path(".")
    # compose builds from the repository root (the working directory), seen from --out.
    context = Path(os.path.relpath(Path.cwd(), out.resolve()))
    render_options = RenderOptions(
        image=opts.image,
        context=context.as_posix(),
        dockerfile=Path(os.path.relpath(out.resolve() / "Dockerfile", Path.cwd())).as_posix(),
        config=Path(os.path.relpath(config_dir.resolve(), Path.cwd())).as_posix(),
        executable=opts.executable,
    )
    files = TARGETS[opts.target](plan, sources, render_options)
    if opts.out is None:
        click.echo(
            "---\n".join(f"# Source: {name}\n{text}" for name, text in files.items()), nl=False
        )
        return
    try:
        opts.out.mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            (opts.out / name).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(
            f"cannot write to {opts.out}: {exc.strerror or exc}",
            hint="pick a directory you can write to with --out",
        ) from None
    for name in files:
        click.echo(f"wrote {opts.out / name}")
