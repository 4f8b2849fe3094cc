#!/bin/sh
# hatang's FRR commit agent: runs ON the router, started by the napalm FRR driver through
# the admin shell. It exists so that a commit, and the revert timer of a commit-confirm,
# never depend on the SSH connection that asked for them: each runs detached (setsid)
# and writes its result to the work directory, where the driver reads it.
#
#   agent.sh DIR PATHSPACE SUDO prepare FILE      write stdin to FILE, syntax-check it (vtysh
#                                                 --dryrun; exit 3 if rejected), print the deltas
#                                                 running -> FILE (frr-reload --test): one SSH exec
#   agent.sh DIR PATHSPACE SUDO commit FILE SECS [MERGE]
#                                                 apply FILE all-or-nothing (replace; or, with a
#                                                 MERGE file, add its lines); revert in SECS unless confirmed
#   agent.sh DIR PATHSPACE SUDO confirm           confirm the pending commit
#   agent.sh DIR PATHSPACE SUDO rollback          back to the configuration before the last commit
#   agent.sh DIR PATHSPACE SUDO pending           exit 0 when a commit awaits confirmation
#   agent.sh DIR PATHSPACE SUDO detach JOB ARGS   run "ARGS" detached; wait for it while connected
#
# Files in DIR: previous.conf (running before the last commit), pending (the revert
# timer's pid while a commit awaits confirmation), lock (serialises every apply).
# Waits block (wait, flock, sleep SECS) rather than poll: a polling loop's forks would cost
# the router CPU for as long as a commit runs.
set -u
DIR=$1 NS=$2 SUDO=$3 OP=$4
shift 4
[ "$SUDO" = "-" ] && SUDO=""
RELOAD="$SUDO /usr/lib/frr/frr-reload.py --pathspace $NS --rundir $DIR"
VTYSH="$SUDO vtysh -N $NS"
cd "$DIR" || exit 70

running() {
    $VTYSH -c 'show running-config' > "$1.tmp" || return 1
    grep -v -x -e 'Building configuration...' -e 'Current configuration:' "$1.tmp" > "$1" && rm -f "$1.tmp"
}

# FRR 8 takes its hostname from the OS (the router's UTS namespace) and cannot change
# it from configuration: keep the running hostname so reloads never fight over it (read
# once per agent run: no reload can change it).
host=""
same_hostname() {
    [ -n "$host" ] || host=$($VTYSH -c 'show running-config' | sed -n 's/^hostname //p' | head -n 1)
    sed "s/^hostname .*/hostname $host/" "$1" > "$1.apply"
}

deltas() {  # print the deltas running -> $1; exit 1 if there are any
    same_hostname "$1"
    $RELOAD --test "$1.apply" 2>/dev/null > "$1.delta"
    cat "$1.delta"
    ! grep -q -v -x -E -e '' -e 'Lines To (Delete|Add)' -e '=+' "$1.delta"
}

apply() {  # reload $1 and verify nothing is left over; exit 1 (with the leftovers) if not
    same_hostname "$1"
    $RELOAD --reload --stdout "$1.apply" > "$1.log" 2>&1
    deltas "$1" > /dev/null
}

save() {  # write memory: what the router boots with (failure to save is not a failed commit)
    $VTYSH -c 'write memory' > save.log 2>&1 || echo "warning: write memory failed: $(tail -n 1 save.log)"
}

restore() {  # put previous.conf back (used by a failed commit, the timer and rollback)
    apply previous.conf || { echo "restore of the previous configuration left deltas:"; cat previous.conf.delta; return 1; }
}

case "$OP" in
prepare)
    cat > "$1" || exit 70
    if ! out=$($VTYSH --dryrun -f "$1" 2>&1); then echo "$out"; exit 3; fi
    deltas "$1"
    exit 0
    ;;
commit)
    file=$1 secs=$2 merge=${3:-}
    exec 9> lock
    flock 9
    if [ -e pending ]; then echo "a commit is already pending confirmation"; exit 4; fi
    if ! out=$($VTYSH --dryrun -f "${merge:-$file}" 2>&1); then echo "$out"; exit 3; fi
    running previous.conf || { echo "cannot read the running configuration"; exit 5; }
    if [ -n "$merge" ]; then
        if ! $VTYSH -f "$merge" > "$merge.log" 2>&1; then
            echo "the device did not take every line:"
            cat "$merge.log"
            if restore; then echo "restored the previous configuration"; exit 3; fi
            exit 6
        fi
    elif ! apply "$file"; then
        echo "the device did not take every line; left over after the reload:"
        cat "$file.delta"
        grep -iE 'error|fail|unknown' "$file.log" | head -n 20
        if restore; then echo "restored the previous configuration"; exit 3; fi
        exit 6
    fi
    if [ "$secs" -gt 0 ]; then
        # 9>&-: the timer must not inherit (and so hold) the lock while it sleeps
        setsid sh "$DIR/agent.sh" "$DIR" "$NS" "${SUDO:--}" revert-after "$secs" 9>&- < /dev/null > timer.log 2>&1 &
        echo $! > pending
    else
        save
    fi
    echo committed
    ;;
revert-after)
    sleep "$1"
    mv pending reverting 2>/dev/null || exit 0   # confirmed in time
    exec 9> lock
    flock 9
    restore; rc=$?
    rm -f reverting
    save
    echo "reverted after $1 s without confirmation (rc $rc)"
    exit $rc
    ;;
confirm)
    mv pending confirmed 2>/dev/null || { echo "no commit is pending confirmation (the revert timer may have fired)"; exit 4; }
    kill -- "-$(cat confirmed)" 2>/dev/null  # the timer and its sleep (its own process group)
    rm -f confirmed
    save
    echo confirmed
    ;;
rollback)
    if mv pending reverting 2>/dev/null; then kill -- "-$(cat reverting)" 2>/dev/null; fi
    exec 9> lock
    flock 9
    [ -e previous.conf ] || { echo "no previous configuration to roll back to"; exit 4; }
    restore; rc=$?
    rm -f reverting
    save
    exit $rc
    ;;
pending)
    [ -e pending ] || [ -e reverting ]
    ;;
detach)
    job=$1
    shift
    rm -f "$job.rc" "$job.out"
    # its own session: a dropped connection does not stop it. wait blocks without polling;
    # the loop only matters if setsid had to fork (then $! returns at once)
    setsid sh -c "sh '$DIR/agent.sh' '$DIR' '$NS' '${SUDO:--}' $*; echo \$? > '$job.rc.tmp'; mv '$job.rc.tmp' '$job.rc'" < /dev/null > "$job.out" 2>&1 &
    wait $!
    while [ ! -e "$job.rc" ]; do sleep 0.2; done
    cat "$job.out"
    exit "$(cat "$job.rc")"
    ;;
*)
    echo "unknown operation $OP"
    exit 64
    ;;
esac
