"""Queue SLOs compile into QueuePlan.slo_max_wait / slo_max_depth; the config checksum covers the
files' bytes and nothing else."""

from __future__ import annotations

from runtime.compiler.compile import load_plan
from tests.unit.conftest import WriteConfig

WITH_SLO = """\
version: 1
broker: {url: "${AIR_TEST_BROKER:-redis://127.0.0.1:6399/0}"}
defaults:
  time_limit: {soft: 1m, hard: 2m}
queues:
  default: {priority: 5, slo: {max_wait: 2m, max_depth: 1000}}
  bulk: {priority: 1, slo: {max_wait: 30s}}
  free: {priority: 3}
pools:
  default: {queues: [default, bulk, free]}
"""


def test_slo_compiles_to_seconds_and_counts(write_config: WriteConfig) -> None:
    plan, _ = load_plan(write_config(WITH_SLO), env={})
    queues = {q.name: q for q in plan.queues}
    assert (queues["default"].slo_max_wait, queues["default"].slo_max_depth) == (120.0, 1000)
    assert (queues["bulk"].slo_max_wait, queues["bulk"].slo_max_depth) == (30.0, None)
    assert (queues["free"].slo_max_wait, queues["free"].slo_max_depth) == (None, None)


def test_slo_is_in_the_shown_plan(write_config: WriteConfig) -> None:
    plan, _ = load_plan(write_config(WITH_SLO), env={})
    shown = {q["name"]: q for q in plan.to_dict()["queues"]}
    assert shown["default"]["slo_max_wait"] == 120.0
    assert shown["bulk"]["slo_max_depth"] is None


def test_checksum_ignores_the_environment_but_not_the_files(write_config: WriteConfig) -> None:
    directory = write_config(WITH_SLO)
    plain, _ = load_plan(directory, env={})
    other_env, _ = load_plan(directory, env={"AIR_TEST_BROKER": "redis://10.0.0.9:6379/0"})
    assert len(plain.config_checksum) == 64
    assert plain.celery["broker_url"] != other_env.celery["broker_url"]
    assert plain.config_checksum == other_env.config_checksum
    edited, _ = load_plan(write_config(WITH_SLO.replace("max_wait: 30s", "max_wait: 31s")), env={})
    assert edited.config_checksum != plain.config_checksum
    schedules, _ = load_plan(write_config(WITH_SLO, "version: 1\nschedules: {}\n"), env={})
    assert schedules.config_checksum != plain.config_checksum
