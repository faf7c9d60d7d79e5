"""`air seed-demo`: fill the store with the demo data set."""

from __future__ import annotations

import json
from pathlib import Path

import click

EPILOG = """\b
Examples:
  air seed-demo                       demo data into the store (.air/air.db by default)
  AIR_DATABASE_URL=postgresql://... air seed-demo
"""


@click.command("seed-demo", epilog=EPILOG)
@click.option(
    "--dir",
    "directory",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path(".air/demo"),
    show_default=True,
    help="Where the demo Maildir and calendar files go.",
)
def seed_demo(directory: Path) -> None:
    """Load a small, realistic data set so the scheduled tasks have work to do."""
    from tasks.demo import seed

    seeded = seed(directory)
    click.echo(json.dumps(seeded.summary(), indent=2))
    if not seeded.created:
        click.echo("the demo data was already there: nothing changed", err=True)
        return
    mail, calendar = seeded.integrations["mail"], seeded.integrations["calendar"]
    click.echo(
        "next, with `air up` running, import the demo mail and calendar files:\n"
        f"  air send sync.email --kwargs '{{\"integration_id\": {mail}}}' --wait\n"
        f"  air send sync.calendar --kwargs '{{\"integration_id\": {calendar}}}' --wait",
        err=True,
    )
