"""`air monitor`: a live terminal dashboard of queues and pools."""

from __future__ import annotations

import signal
from types import FrameType

import click

from cli.common import celery_app, ping_broker, plan_or_fail, redact
from cli.options import CliOptions, config_option, pass_options
from runtime.broker.clients import broker_client

EPILOG = """\b
Examples:
  air monitor                      q quits
  air --config deploy/config monitor
"""


@click.command(epilog=EPILOG)
@config_option
@pass_options
def monitor(options: CliOptions) -> None:
    """Watch queues (waiting, running, tasks/s, failed, wait p50/p99) and pools (busy/total)."""
    from runtime.process.monitor import Monitor

    plan = plan_or_fail(options, warnings=True)
    url = plan.celery["broker_url"]
    ping_broker(plan.celery)
    app = celery_app(plan)
    client = broker_client(plan.celery, timeout=5, connect_timeout=2)
    # SIGTERM ends it like Ctrl-C does, through the code that restores the terminal.
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        Monitor(app, plan, client, f"air monitor   broker {redact(url)}").run()
    finally:
        signal.signal(signal.SIGTERM, previous)
        client.close()
        app.close()


def _interrupt(signum: int, frame: FrameType | None) -> None:
    del signum, frame
    raise KeyboardInterrupt
