"""`air health`: is the platform healthy? Exit 0 healthy, 1 unhealthy, 3 broker unreachable."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

from cli import exit_codes
from cli.common import celery_app, pick, ping_broker, plan_or_fail, redact
from cli.options import CliOptions, config_option, format_option, pass_options, reply_timeout_option

if TYPE_CHECKING:
    from runtime.process.health import Check

HEALTH_EPILOG = """\b
Examples:
  air health                       every pool, beat and queue SLO; exit 1 names what failed
  air health --format json         the same checks for scripts
  air health --pool default        liveness probe: this host's 'default' worker answers
"""


@click.command(epilog=HEALTH_EPILOG)
@config_option
@format_option(["text", "json"], "text")
@click.option(
    "--pool",
    default=None,
    help="Only check that this host's worker of POOL answers (a liveness probe).",
)
@reply_timeout_option(
    "Seconds to wait for worker replies (after the last one, for the whole platform)."
)
@pass_options
def health(options: CliOptions, output_format: str, pool: str | None, timeout: float) -> None:
    """Check the platform: broker, a live worker per pool, beat, and every queue's SLO.

    Exit 0 when healthy, 1 when any check fails (each failing check is named), 3 when the
    broker does not answer.
    """
    from runtime.process import health as checks
    from runtime.process import observe

    plan = plan_or_fail(options)
    app = celery_app(plan)
    broker = redact(str(plan.celery["broker_url"]))
    if pool is not None:
        name = pick(pool, plan.workers, "pool")
        ping_broker(plan.celery, timeout=1.0)
        node = observe.local_node(name)
        ok = observe.probe(app, name, timeout)
        found = [
            checks.Check(
                kind="pool",
                subject=name,
                ok=ok,
                detail=f"{node} answers" if ok else f"{node} did not answer within {timeout:g}s",
                what=None if ok else "workers",
            )
        ]
    else:
        pools = set(plan.workers)
        # Health needs one worker per pool: stop waiting as soon as every pool has answered.
        snap = observe.snapshot(
            app, plan, timeout, enough=lambda found: pools <= {w.pool for w in found}
        )
        found = checks.evaluate(plan, snap, broker)
    _report(found, output_format)
    if not all(c.ok for c in found):
        raise click.exceptions.Exit(exit_codes.UNHEALTHY)


def _report(found: list[Check], output_format: str) -> None:
    failed = [c for c in found if not c.ok]
    if output_format == "json":
        document = {
            "status": "unhealthy" if failed else "healthy",
            "failed": len(failed),
            "checks": [c.to_dict() for c in found],
        }
        click.echo(json.dumps(document, indent=2))
        return
    for check in found:
        mark = "ok  " if check.ok else "FAIL"
        click.echo(f"{mark}  {check.kind:<6}  {check.subject}: {check.detail}")
    if failed:
        click.echo(f"unhealthy: {len(failed)} of {len(found)} checks failed")
    else:
        click.echo(f"healthy: {len(found)} check{'s' if len(found) > 1 else ''} passed")
