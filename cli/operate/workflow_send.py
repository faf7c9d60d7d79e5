"""`air send --workflow NAME`: start a run of a declared workflow; with --wait, follow it step
by step and print the last step's result."""

from __future__ import annotations

import json
import time
from typing import Any

import click

from cli import exit_codes
from cli.common import celery_app, pick, ping_backend, ping_broker, plan_or_fail
from cli.options import CliOptions
from runtime.broker.clients import broker_client
from runtime.config.errors import AirError, UsageError


class WorkflowFailed(AirError):
    """Raised when a workflow waited for with --wait stops at a failed step."""

    exit_code = exit_codes.CONFIG_ERROR


def send_workflow(options: CliOptions, name: str, wait: bool, timeout: float) -> None:

    from runtime.broker.workflow_runs import WorkflowRuns
    from runtime.sending import workflows

    plan = plan_or_fail(options)
    if not plan.workflows:
        raise UsageError(
            f"unknown workflow '{name}': no workflows are declared",
            hint=f"declare it in {options.config_dir / 'workflows.yaml'}",
        )
    workflow = plan.workflows[pick(name, plan.workflows, "workflow")]
    ping_broker(plan.celery)
    if wait:  # before starting it: a run nobody can follow should not be started
        ping_backend(plan.celery)
    app = celery_app(plan)
    runs = WorkflowRuns(broker_client(plan.celery))
    run_id, last = workflows.send(app, plan, workflow, runs)
    click.echo(f"sent workflow {name}[{run_id}]: {workflow.size} steps", err=True)
    click.echo(run_id)
    if wait:
        _follow(runs, run_id, last, timeout)


def _follow(runs: Any, run_id: str, last: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    shown = ""
    while time.monotonic() < deadline:
        run = runs.get(run_id)
        if run is not None:
            line = f"steps {run.done}/{run.total} {run.state}"
            if line != shown:
                click.echo(line, err=True)
                shown = line
            if run.state == "failed":
                raise WorkflowFailed(
                    f"workflow {run.name}[{run_id}] stopped at step {run.failed_step}",
                    hint="`air dead list` shows the failed step; `air dead replay ID` resumes "
                    "the workflow from it",
                )
            if run.state == "succeeded":
                value = last.get(timeout=max(1.0, deadline - time.monotonic()), propagate=False)
                click.echo(json.dumps(value, indent=2, default=str))
                return
        time.sleep(0.1)
    raise WorkflowFailed(
        f"workflow {run_id} did not finish within {timeout:g}s",
        hint="raise --timeout, or check that pools consume its tasks' queues (`air pools`)",
    )
