#!/usr/bin/env bash
# `make test`: the lab tests and the rest, side by side.
#
# The lab tests hold the one lab for the session and spend most of their time waiting on
# routers, timers and Prometheus; the rest are CPU-bound and need no lab. Run together
# they take about as long as the lab tests alone. The rest run niced (the lab's timers
# keep their CPU) with a state directory of their own, so the two never share audit logs
# or lab state. The lab's output follows the rest's; the exit status is non-zero if
# either failed.
set -uo pipefail
PY=${1:?usage: run-suites.sh PYTHON}
lablog=$(mktemp --suffix=.lab.log)
state=$(mktemp -d)
cleanup() { [[ -n ${labpid:-} ]] && kill "$labpid" 2>/dev/null; rm -rf "$state"; }
trap cleanup EXIT

"$PY" -m pytest -m lab -p no:cacheprovider --durations=25 >"$lablog" 2>&1 &
labpid=$!
echo "lab tests started (pid $labpid, log $lablog); the other tests follow here"
HATANG_STATE_DIR=$state nice -n 10 "$PY" -m pytest -m "not lab" -p no:cacheprovider --durations=15
rest=$?
echo "--- other tests exited $rest; waiting for the lab tests (pid $labpid)"
wait "$labpid"
lab=$?
labpid=
cat "$lablog"
rm -f "$lablog"
echo "--- make test: other tests exit $rest, lab tests exit $lab"
[[ $rest == 0 && $lab == 0 ]]
