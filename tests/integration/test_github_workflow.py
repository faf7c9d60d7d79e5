"""The shipped GitHub Actions example is a valid workflow and runs the review commands."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from tests.conftest import REPO

WORKFLOW = REPO / "docs/examples/github/air-plan.yml"


def test_the_workflow_validates_against_the_github_workflow_schema() -> None:
    # The schema ships inside check-jsonschema (--builtin-schema): no network involved.
    checker = Path(sys.executable).parent / "check-jsonschema"
    done = subprocess.run(
        [str(checker), "--builtin-schema", "vendor.github-workflows", str(WORKFLOW)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_workflow_validates_then_posts_the_markdown_plan() -> None:
    workflow = yaml.safe_load(WORKFLOW.read_text())
    steps = workflow["jobs"]["plan"]["steps"]
    runs = [step.get("run", "") for step in steps]
    assert any(run.strip() == "air validate --format github" for run in runs)
    assert any("air plan" in run and "--format markdown" in run for run in runs)
    checkout = next(s for s in steps if s.get("uses", "").startswith("actions/checkout"))
    assert checkout["with"]["fetch-depth"] == 0  # the base revision must be in the clone
    assert workflow["permissions"]["pull-requests"] == "write"
