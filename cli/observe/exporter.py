"""`air exporter`: serve Prometheus metrics of queues, pools, tasks, dead letters and beat."""

from __future__ import annotations

import signal
import threading
from types import FrameType

import click

from cli.common import celery_app, ping_broker, plan_or_fail, redact
from cli.options import CliOptions, config_option, pass_options
from runtime.config.errors import UsageError

EPILOG = """\b
Examples:
  air exporter                          http://127.0.0.1:9808/metrics
  air exporter --host 0.0.0.0 --port 9100
"""


@click.command(epilog=EPILOG)
@config_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", type=click.IntRange(0, 65535), default=9808, show_default=True, help="TCP port."
)
@pass_options
def exporter(options: CliOptions, host: str, port: int) -> None:
    """Serve /metrics for Prometheus until Ctrl-C or SIGTERM."""
    from runtime.process.exporter import Exporter

    plan = plan_or_fail(options, warnings=True)
    ping_broker(plan.celery)
    app = celery_app(plan)
    server = Exporter(app, plan, host, port)
    try:
        server.start()
    except OSError as exc:
        server.stop()
        raise UsageError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}",
            hint="pick another --port, or stop what listens there",
        ) from None
    stop = threading.Event()

    def handler(signum: int, frame: FrameType | None) -> None:
        del signum, frame
        stop.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    click.echo(
        f"air exporter: http://{host}:{server.port}/metrics "
        f"(broker {redact(plan.celery['broker_url'])})",
        err=True,
    )
    try:
        stop.wait()
    finally:
        server.stop()
        app.close()
        for sig, old in previous.items():
            signal.signal(sig, old)
