"""The documentation names every diagnostic code, and the README's commands exist."""

from __future__ import annotations

import re
from pathlib import Path

from cli.main import COMMANDS
from runtime.config.diagnostics import CODES

REPO = Path(__file__).resolve().parents[2]


def test_every_code_is_documented_and_only_real_codes_are() -> None:
    documented = set(re.findall(r"^\| (AIR\d{3}) \|", (REPO / "docs/diagnostics.md").read_text(),
                                re.MULTILINE))
    assert documented == set(CODES)


def test_readme_starts_with_the_two_commands_ci_runs() -> None:
    readme = (REPO / "README.md").read_text()
    block = re.search(r"```sh\n(.*?)```", readme, re.DOTALL)
    assert block is not None and readme.index(block.group(0)) < 50
    commands = [line.split("#")[0].strip() for line in block.group(1).splitlines()]
    assert commands == ["python3 bootstrap.py up", "python3 bootstrap.py test"]
    ci = [line for line in (REPO / ".ci/run").read_text().splitlines()
          if line.strip() and not line.startswith(("#", "set ", "cd "))]
    assert ci == ["python3 bootstrap.py test"]


def test_every_verb_in_the_readme_table_exists() -> None:
    readme = (REPO / "README.md").read_text()
    verbs = set(re.findall(r"^\| `air (\w[\w-]*)", readme, re.MULTILINE))
    assert verbs and verbs <= set(COMMANDS)
