#!/bin/sh
# A real `air plan` of a small change: the shipped config/ committed in a throw-away git
# repository, then edited in the work tree (one queue renamed, a pool cut), then planned.
# Run from the repository root: sh docs/examples/plan/small-change.sh
set -eu
root=$(pwd)
air=${AIR:-$(command -v air || echo "$root/.venv/bin/air")}
work=$(mktemp -d "${TMPDIR:-/tmp}/air-plan-example.XXXXXX")
trap 'rm -rf "$work"' EXIT
export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1
export GIT_AUTHOR_NAME=example GIT_AUTHOR_EMAIL=example@air.invalid
export GIT_COMMITTER_NAME=example GIT_COMMITTER_EMAIL=example@air.invalid
cp -R "$root/config" "$work/config"
cd "$work"
git init -q -b main && git add config && git commit -q -m "the shipped config"
# The edit under review: low_priority becomes archive, the default pool loses a worker.
sed -i.bak -e 's/^  low_priority:$/  archive:/' \
    -e 's/queues: \[low_priority\]/queues: [archive]/' \
    -e 's/queue: low_priority/queue: archive/' \
    -e 's/concurrency: 4, max_tasks_per_child: 200/concurrency: 3, max_tasks_per_child: 200/' \
    config/queues.yaml
sed -i.bak -e 's/queue: low_priority/queue: archive/' config/schedules.yaml
rm config/*.bak
status=0
# AIR_CORES: pools' default process counts as on a 2-core machine, so the output is the same
# on every machine (a concurrency change also changes a default process count).
env -u AIR_CONFIG_DIR -u AIR_BROKER_URL -u AIR_RESULT_BACKEND NO_COLOR=1 AIR_CORES=2 \
    "$air" plan --base main "$@" || status=$?
echo "exit status $status"
