#!/usr/bin/env bash
# `make test`: the lab tests and the rest, side by side.
#
# The lab tests spend most of their time waiting on routers, timers and Prometheus; the
# rest are CPU-bound and need no lab. So three pytest sessions run at once:
#   - the rest (-m "not lab"), niced, with a state directory of their own;
#   - the lab tests of the routers, monitoring, network and runbooks rooms;
#   - the lab tests of the servers and the cloud (tests/cloud, tests/deploy), niced:
#     they touch only the lab's servers and its Proxmox simulator.
# The two lab sessions share one small lab (HATANG_TEST_LAB=shared): this script holds the
# machine's lab lock, brings the lab up once, and always takes it down. The lab's own
# lifecycle tests take the whole lab down and up, so they run last, alone. The logs follow
# in that order; the exit status is non-zero if any session failed.
set -uo pipefail
PY=${1:?usage: run-suites.sh PYTHON}
logs=$(mktemp -d)
state=$(mktemp -d)
pids=()

# fd 9 (the lab lock, below) stays with this script: no lab daemon or test holds it after
hatang_lab() { "$PY" -m hatang.cli lab "$@" 9>&-; }
# a pytest session at a niceness: pytest_at NICENESS ARGS...
pytest_at() { local niceness=$1; shift; nice -n "$niceness" "$PY" -m pytest -p no:cacheprovider --durations=15 "$@" 9>&-; }

cleanup() {
    for pid in "${pids[@]}"; do pkill -P "$pid" 2>/dev/null; kill "$pid" 2>/dev/null; done  # a backgrounded pytest_at is a subshell: its pytest too
    [[ -n ${lab_up:-} ]] && hatang_lab down >/dev/null 2>&1  # interrupted: leave nothing up
    rm -rf "$state" "$logs"
}
trap cleanup EXIT

HATANG_STATE_DIR=$state pytest_at 10 -m "not lab" >"$logs/rest.log" 2>&1 &
rest_pid=$!
pids+=("$rest_pid")
echo "other tests started (pid $rest_pid)"

if (( EUID != 0 )); then
    echo "not root: the lab tests are skipped (the lab needs network namespaces, daemons, users)"
    pytest_at 0 -m lab -q >"$logs/lab.log" 2>&1
    lab=$?
else
    exec 9>>/run/hatang-lab.lock
    flock 9
    hatang_lab down >"$logs/lab-up.log" 2>&1  # what an earlier, interrupted run left
    lab_up=1
    if hatang_lab up --size small --configured >>"$logs/lab-up.log" 2>&1; then
        echo "small lab up; lab tests started"
        export HATANG_TEST_LAB=shared
        pytest_at 10 -m lab tests/cloud tests/deploy >"$logs/lab-servers.log" 2>&1 &
        servers_pid=$!
        pids+=("$servers_pid")
        pytest_at 0 -m lab --ignore=tests/cloud --ignore=tests/deploy --ignore=tests/lab/test_lifecycle_lab.py >"$logs/lab-routers.log" 2>&1
        routers=$?
        wait "$servers_pid"
        servers=$?
        pytest_at 0 -m lab tests/lab/test_lifecycle_lab.py >"$logs/lab-lifecycle.log" 2>&1
        lifecycle=$?
        lab=$(( routers || servers || lifecycle ))
        echo "lab tests: routers and monitoring exit $routers, servers and cloud exit $servers, lab lifecycle exit $lifecycle"
        lab_up=
        hatang_lab down >"$logs/lab-down.log" 2>&1 || { echo "hatang lab down failed"; lab=1; }
    else
        echo "hatang lab up failed:"
        lab=1
    fi
fi
wait "$rest_pid"
rest=$?
pids=()
for log in rest lab-up lab lab-routers lab-servers lab-lifecycle lab-down; do
    [[ -f $logs/$log.log ]] && { echo "=== $log"; cat "$logs/$log.log"; }
done
echo "--- make test: other tests exit $rest, lab tests exit $lab"
[[ $rest == 0 && $lab == 0 ]]
