"""`air plan` on real git repositories made in the test: several commits, a rename, a removed
queue, branches and a clone, the work tree, and every exit status."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from cli.main import main
from tests.conftest import REPO
from tests.integration.gitrepo import GitRepo, remove_data_pipeline, rename_low_priority, replace

CLEAN_ENV: dict[str, str | None] = {
    "AIR_CONFIG_DIR": None,
    "AIR_BROKER_URL": None,
    "AIR_RESULT_BACKEND": None,
    "NO_COLOR": "1",
}


def air(cwd: Path, *args: str, monkeypatch: pytest.MonkeyPatch) -> tuple[int, str, str]:
    monkeypatch.chdir(cwd)
    with CliRunner(env=CLEAN_ENV).isolation() as (out, err, _):
        code = main(list(args))
    return code, out.getvalue().decode(), err.getvalue().decode()


def plan_json(cwd: Path, *args: str, monkeypatch: pytest.MonkeyPatch) -> tuple[int, Any]:
    code, out, err = air(cwd, "plan", "--format", "json", *args, monkeypatch=monkeypatch)
    assert code in (0, 4, 5), err
    return code, json.loads(out)


def risk_codes(document: Any) -> list[str]:
    return [r["code"] for r in document["risks"]]


@pytest.fixture
def history(tmp_path: Path) -> tuple[GitRepo, dict[str, str]]:
    """main: shipped config; then a rename; then a removed queue and a cut pool."""
    repo = GitRepo.with_shipped_config(tmp_path / "repo")
    commits = {"shipped": repo.git("rev-parse", "HEAD")}
    rename_low_priority(repo)
    commits["renamed"] = repo.commit("rename low_priority to archive")
    remove_data_pipeline(repo)
    repo.edit("queues.yaml", replace("concurrency: 4, max_tasks_per_child: 200",
                                     "concurrency: 3, max_tasks_per_child: 200"))
    commits["removed"] = repo.commit("fold data_pipeline into default")
    return repo, commits


def test_a_rename_between_two_commits(history: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    repo, commits = history
    code, doc = plan_json(repo.root, "--base", commits["shipped"], "--head", commits["renamed"],
                          monkeypatch=monkeypatch)
    assert code == 5
    assert doc["base"]["commit"] == commits["shipped"]
    assert doc["head"]["commit"] == commits["renamed"]
    queue = next(c for c in doc["changes"] if c["kind"] == "queue")
    assert (queue["name"], queue["action"], queue["renamed_from"]) == (
        "archive", "rename", "low_priority")
    assert "PLAN002" in risk_codes(doc) and "PLAN001" not in risk_codes(doc)
    tasks = {c["name"]: c["settings"] for c in doc["changes"] if c["kind"] == "task"}
    assert set(tasks) == {"ops.analytics", "ops.backup", "ops.maintenance"}
    # file:line:col on the head side: the line that now says `queue: archive`.
    where = tasks["ops.backup"][0]["where"]
    file, line, _col = where.split(":")
    head_text = repo.git("show", f"{commits['renamed']}:config/queues.yaml").splitlines()
    assert file == "config/queues.yaml" and head_text[int(line) - 1].strip() == "queue: archive"


def test_a_removed_queue_across_several_commits(
    history: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo, commits = history
    code, doc = plan_json(repo.root, "--base", commits["shipped"], "--head", "HEAD",
                          monkeypatch=monkeypatch)
    assert code == 5
    assert {"PLAN001", "PLAN002", "PLAN006"} <= set(risk_codes(doc))
    removed = {(c["kind"], c["name"]) for c in doc["changes"] if c["action"] == "remove"}
    assert removed == {("queue", "data_pipeline"), ("pool", "data-pipeline")}
    assert doc["summary"]["destroy"] == 2


def test_text_output_is_grouped_by_kind_with_a_summary(
    history: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo, commits = history
    code, out, _ = air(repo.root, "plan", "--base", commits["renamed"], "--head",
                       commits["removed"], monkeypatch=monkeypatch)
    assert code == 5
    assert out.startswith(f"air plan: {commits['renamed']} -> {commits['removed']}\n")
    assert "  - data_pipeline  (was at config/queues.yaml:" in out
    assert "  ~ default  (config/queues.yaml:" in out
    assert "      concurrency: 4 -> 3  (config/queues.yaml:" in out
    assert out.index("Queues:") < out.index("Pools:") < out.index("Tasks:")
    assert out.rstrip().endswith("0 to add, 5 to change, 2 to destroy; 3 risk flags.")


def test_no_changes_exits_0(history: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    repo, _ = history
    code, out, _ = air(repo.root, "plan", "--base", "HEAD", monkeypatch=monkeypatch)
    assert code == 0 and "No changes" in out


def test_a_change_without_risk_exits_4_in_a_real_process(history: Any) -> None:
    repo, _ = history
    repo.edit("queues.yaml", replace("rate_limit: {rate: 30/m,", "rate_limit: {rate: 20/m,"))
    env = {k: v for k, v in os.environ.items() if k not in CLEAN_ENV} | {"NO_COLOR": "1"}
    done = subprocess.run([sys.executable, "-m", "cli.main", "plan", "--base", "HEAD"],
                          cwd=repo.root, env={**env, "PYTHONPATH": str(REPO)},
                          capture_output=True, text=True, check=False)
    assert done.returncode == 4, done.stderr
    assert "      rate_limit: 30/m -> 20/m  (config/queues.yaml:" in done.stdout
    assert done.stdout.rstrip().endswith("0 to add, 1 to change, 0 to destroy.")


def test_the_work_tree_is_the_default_head(history: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    repo, _ = history
    repo.edit("queues.yaml", replace("concurrency: 3, max_tasks_per_child: 200",
                                     "concurrency: 8, max_tasks_per_child: 200"))
    code, doc = plan_json(repo.root, "--base", "HEAD", monkeypatch=monkeypatch)
    assert code == 4 and doc["head"] == {"revision": "work tree", "commit": None}
    (change,) = doc["changes"]
    assert change["settings"][0]["old"] == "3" and change["settings"][0]["new"] == "8"


def test_the_default_base_is_the_merge_base_with_main(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = GitRepo.with_shipped_config(tmp_path / "repo")
    fork = repo.git("rev-parse", "HEAD")
    repo.git("checkout", "-q", "-b", "feature")
    rename_low_priority(repo)
    repo.commit("feature: rename a queue")
    repo.git("checkout", "-q", "main")
    repo.edit("queues.yaml", replace("concurrency: 4, max_tasks_per_child: 200",
                                     "concurrency: 6, max_tasks_per_child: 200"))
    repo.commit("main moved on: more default workers")
    repo.git("checkout", "-q", "feature")
    code, doc = plan_json(repo.root, monkeypatch=monkeypatch)
    assert doc["base"] == {"revision": "main (merge base)", "commit": fork}
    # main's own later change is not part of the feature's plan.
    assert all(c["kind"] != "pool" or c["name"] != "default" for c in doc["changes"])
    assert code == 5 and "PLAN002" in risk_codes(doc)


def test_a_clone_uses_origin_head(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    origin = GitRepo.with_shipped_config(tmp_path / "origin")
    origin.git("branch", "-m", "main", "trunk")  # neither main nor master
    clone = GitRepo(tmp_path / "clone")
    clone.git("clone", "-q", str(origin.root), ".")
    clone.git("checkout", "-q", "-b", "change")
    clone.edit("queues.yaml", replace("concurrency: 4, max_tasks_per_child: 200",
                                      "concurrency: 2, max_tasks_per_child: 200"))
    clone.commit("fewer default workers")
    code, doc = plan_json(clone.root, "--head", "HEAD", monkeypatch=monkeypatch)
    assert doc["base"]["revision"] == "origin/trunk (merge base)"
    assert code == 5 and risk_codes(doc) == ["PLAN006"]


def test_config_in_a_subdirectory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = GitRepo.with_shipped_config(tmp_path / "repo", config="deploy/air")
    repo.edit("schedules.yaml", replace('cron: "0 * * * *"', 'cron: "*/15 * * * *"'))
    code, doc = plan_json(repo.root, "--config", "deploy/air", "--base", "HEAD",
                          monkeypatch=monkeypatch)
    assert code == 5 and risk_codes(doc) == ["PLAN007"]
    (change,) = doc["changes"]
    assert change["settings"][0]["where"].startswith("deploy/air/schedules.yaml:")
    assert len(change["next_fires"]["after"]) == 3
    # The same from inside the subdirectory, with --config relative to it.
    code, doc = plan_json(repo.root / "deploy", "--config", "air", "--base", "HEAD",
                          monkeypatch=monkeypatch)
    assert code == 5 and risk_codes(doc) == ["PLAN007"]


def test_the_repository_is_the_one_holding_the_config(
    history: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo, commits = history
    elsewhere = tmp_path / "elsewhere"  # not a git repository
    elsewhere.mkdir()
    code, doc = plan_json(elsewhere, "--config", str(repo.config), "--base", commits["renamed"],
                          "--head", commits["removed"], monkeypatch=monkeypatch)
    assert code == 5 and doc["summary"]["destroy"] == 2


def test_config_errors_in_a_revision_exit_1(
    history: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo, commits = history
    repo.edit("queues.yaml", replace("queue: archive", "queue: archiv", count=1))
    broken = repo.commit("a typo")
    code, out, err = air(repo.root, "plan", "--base", commits["renamed"], "--head", broken,
                         monkeypatch=monkeypatch)
    assert code == 1 and out == ""
    assert err.startswith(f"{broken}:\nconfig/queues.yaml:")
    assert "AIR201" in err and "Traceback" not in err
    assert err.rstrip().splitlines()[-2] == f"error: the config in {broken} has 1 error"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--base", "no-such-ref"], "error: cannot resolve revision 'no-such-ref'"),
        (["--base", "HEAD", "--config", "elsewhere"], "error: HEAD has no elsewhere/queues.yaml"),
        (["--broker", "redis://127.0.0.1:1/0"], "--broker only applies with --live"),
    ],
)
def test_usage_errors_exit_2(
    history: Any, monkeypatch: pytest.MonkeyPatch, args: list[str], message: str
) -> None:
    repo, _ = history
    code, _, err = air(repo.root, "plan", *args, monkeypatch=monkeypatch)
    assert code == 2 and message in err and "Traceback" not in err


def test_outside_a_git_repository_exits_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "config").mkdir()
    code, _, err = air(tmp_path, "plan", monkeypatch=monkeypatch)
    assert code == 2 and err.startswith("error: cannot find the git repository")


def test_markdown_is_a_pr_comment(history: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    repo, commits = history
    code, out, _ = air(repo.root, "plan", "--base", commits["shipped"], "--head",
                       commits["removed"], "--format", "markdown", monkeypatch=monkeypatch)
    assert code == 5
    lines = out.splitlines()
    assert lines[0] == f"### air plan: `{commits['shipped']}` → `{commits['removed']}`"
    assert out.index("#### Risks") < out.index("#### Queues") < out.index("#### Pools")
    assert "| - | `data_pipeline` | | | | `config/queues.yaml:" in out
    assert "| ~ | `archive` (renamed from `low_priority`) |" in out


def test_plan_never_imports_celery_kombu_or_redis(history: Any) -> None:
    """Like air validate, a plan without --live stays in the pure layers (fast in CI)."""
    repo, commits = history
    probe = (
        "import sys\nfrom cli.main import main\n"
        f"code = main(['plan', '--base', '{commits['shipped']}', '--head', 'HEAD'])\n"
        "loaded = [m for m in ('celery', 'kombu', 'redis', 'sqlalchemy') if m in sys.modules]\n"
        "print('loaded:', loaded, file=sys.stderr)\nsys.exit(code)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], cwd=repo.root, capture_output=True,
                          text=True, check=False, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert done.returncode == 5, done.stderr
    assert "loaded: []" in done.stderr


def test_reordered_workflow_steps_between_two_commits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = GitRepo.with_shipped_config(tmp_path / "repo")
    base = repo.git("rev-parse", "HEAD")
    repo.edit(
        "workflows.yaml",
        replace(
            "      - {task: contacts.analyze_interactions, input: none}\n"
            "      - {task: contacts.score_relationships, input: none}\n",
            "      - {task: contacts.score_relationships, input: none}\n"
            "      - {task: contacts.analyze_interactions, input: none}\n",
        ),
    )
    head = repo.commit("score before analysing")
    code, doc = plan_json(repo.root, "--base", base, "--head", head, monkeypatch=monkeypatch)
    assert code == 5
    assert risk_codes(doc) == ["PLAN012"]
    (change,) = doc["changes"]
    assert (change["kind"], change["name"], change["action"]) == (
        "workflow", "nightly-pipeline", "change")
