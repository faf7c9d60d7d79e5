"""Property tests over every command that reads config: whatever a mutated shipped config or a
schema-shaped one holds, `validate`, `show`, `pools`, `schedule` and `run --dry-run` end with a
documented exit code (0, 1, 2 or 3), never 70, and never print a traceback.

AIR_FUZZ_EXAMPLES raises the number of examples (default: a few dozen, to keep the suite fast).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cli.main import main
from tests.unit.test_fuzz import ENV, FILES, QUEUES, SCHEDULES, SEED_FILES, as_yaml, mutate

EXAMPLES = int(os.environ.get("AIR_FUZZ_EXAMPLES", "25"))
DOCUMENTED = {0, 1, 2, 3}
COMMANDS = (
    ("validate",),
    ("validate", "--format", "github"),
    ("show",),
    ("show", "--format", "json"),
    ("pools",),
    ("schedule",),
    ("schedule", "--next", "3"),
)
POOL_NAME = re.compile(rb"^  ([A-Za-z0-9][\w.-]*):", re.MULTILINE)


def run_every_command(config: Path) -> None:
    pools = POOL_NAME.findall((config / "queues.yaml").read_bytes()) or [b"default"]
    commands = [*COMMANDS, ("run", pools[0].decode(), "--dry-run")]
    for args in commands:
        with CliRunner(env={**ENV, "NO_COLOR": "1"}).isolation() as (out, err, _):
            code = main(["--config", str(config), *args])
        output = out.getvalue().decode(errors="replace") + err.getvalue().decode(errors="replace")
        assert code in DOCUMENTED, (args, code, output[-2000:])
        assert "Traceback" not in output and "internal error" not in output, (args, output)


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz-commands")


FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(data=st.data())
def test_commands_on_mutated_configs_never_crash(fuzz_dir: Path, data: st.DataObject) -> None:
    seed = data.draw(st.sampled_from(SEED_FILES), label="seed")
    target = data.draw(st.sampled_from(FILES), label="file")
    for name in FILES:
        raw = mutate(data, seed[name]) if name == target else seed[name].encode()
        (fuzz_dir / name).write_bytes(raw)
    run_every_command(fuzz_dir)


@FUZZ
@given(queues=QUEUES, schedules=SCHEDULES)
def test_commands_on_schema_shaped_configs_never_crash(
    fuzz_dir: Path, queues: object, schedules: object
) -> None:
    (fuzz_dir / "queues.yaml").write_bytes(as_yaml(queues))
    (fuzz_dir / "schedules.yaml").write_bytes(as_yaml(schedules))
    run_every_command(fuzz_dir)


@pytest.mark.parametrize(
    ("queues_change", "schedules_text"),
    [
        (("30/m", "9" * 400 + "/m"), None),
        (("redis://127.0.0.1:6379/0", "redis://127.0.0.1:99999/0"), None),
        (None, "version: 1\nschedules:\n  x: " + "[" * 900 + "]" * 900 + "\n"),
        (None, "version: 1\nschedules:\n" + "".join(f"{' ' * (i + 2)}k{i}:\n" for i in range(300))),
    ],
    ids=["huge-rate", "port-out-of-range", "deep-flow", "deep-block"],
)
def test_the_configs_that_used_to_crash(
    tmp_path: Path, queues_change: tuple[str, str] | None, schedules_text: str | None
) -> None:
    shipped = Path(__file__).resolve().parents[2] / "config"
    queues = (shipped / "queues.yaml").read_text()
    if queues_change:
        assert queues_change[0] in queues
        queues = queues.replace(queues_change[0], queues_change[1])
    (tmp_path / "queues.yaml").write_text(queues)
    (tmp_path / "schedules.yaml").write_text(
        schedules_text or (shipped / "schedules.yaml").read_text()
    )
    run_every_command(tmp_path)
    with CliRunner(env={**ENV, "NO_COLOR": "1"}).isolation():
        assert main(["--config", str(tmp_path), "validate"]) == 1
