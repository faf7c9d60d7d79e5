"""The `air plan` the README shows is what docs/examples/plan/small-change.sh really prints."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO

COMMAND = "```sh\nsh docs/examples/plan/small-change.sh"


def test_the_readme_plan_is_real_output() -> None:
    readme = (REPO / "README.md").read_text()
    # The script's command in a sh block, then its output in the next text block.
    block = re.search(re.escape(COMMAND) + r".*?```text\n(.*?)```", readme, re.DOTALL)
    assert block is not None
    env = {**os.environ, "AIR": str(Path(sys.executable).parent / "air")}
    done = subprocess.run(["sh", "docs/examples/plan/small-change.sh"], cwd=REPO, env=env,
                          capture_output=True, text=True, check=True, timeout=120)
    assert done.stdout == block.group(1)
    assert done.stdout.rstrip().endswith("exit status 5")
