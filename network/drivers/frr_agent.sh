#!/bin/sh
# hatang's FRR commit agent: runs ON the router, started by the napalm FRR driver through
# the admin shell. It exists so that a commit, and the revert timer of a commit-confirm,
# never depend on the SSH connection that asked for them: each runs detached (setsid)
# and writes its result to the work directory, where the driver reads it.
#
#   agent.sh DIR PATHSPACE SUDO prepare FILE      write stdin to FILE; if the router already
#                                                 runs it, print nothing; else syntax-check it
#                                                 (vtysh --dryrun; exit 3 if rejected) and print
#                                                 the deltas running -> FILE (see delta)
#   agent.sh DIR PATHSPACE SUDO commit FILE SECS [MERGE]
#                                                 apply FILE all-or-nothing (replace; or, with a
#                                                 MERGE file, add its lines); revert in SECS unless confirmed
#   agent.sh DIR PATHSPACE SUDO confirm           confirm the pending commit
#   agent.sh DIR PATHSPACE SUDO rollback          back to the configuration before the last commit
#   agent.sh DIR PATHSPACE SUDO pending           exit 0 when a commit awaits confirmation
#   agent.sh DIR PATHSPACE SUDO detach JOB ARGS   run "ARGS" detached; wait for it while connected
#
# Files in DIR: FILE.base and FILE.delta (the running configuration prepare compared
# against, and the deltas), previous.conf (running before the last commit), pending (the
# revert timer's pid while a commit awaits confirmation), lock (serialises every apply).
#
# Cost matters: a province push runs this on 140-odd routers sharing the same CPUs, and
# each vtysh start costs ~15 ms of CPU, each frr-reload.py ~50 ms more. So the deltas
# come from one awk (see delta), an add-only change is applied with one vtysh -f, and
# frr-reload.py runs only where its knowledge is needed: changes that delete lines (and
# a second opinion when a commit did not settle). Waits block (wait, flock, sleep SECS)
# rather than poll, for the same reason.
set -u
DIR=$1 NS=$2 SUDO=$3 OP=$4
shift 4
[ "$SUDO" = "-" ] && SUDO=""
RELOAD="$SUDO /usr/lib/frr/frr-reload.py --pathspace $NS --rundir $DIR"
VTYSH="$SUDO vtysh -N $NS"
cd "$DIR" || exit 70

running() {  # the running configuration, without vtysh's header, -> $1
    $VTYSH -c 'show running-config' > "$1.raw" || return 1
    grep -v -x -e 'Building configuration...' -e 'Current configuration:' "$1.raw" > "$1"
}

# Print the deltas from the running configuration $2 to the configuration $1, in
# frr-reload --test's format, candidate order kept (nothing when they are the same). A
# line is keyed by the lines of its contexts, and compared context by context, order
# aside, as frr-reload does. Left out: comments, exits, and what configuration does not
# change ("frr version", the integrated-config marker, the hostname: see same_hostname).
delta() {
    awk '
    function keyof(line,   depth, path, i) {
        depth = match(line, /[^ ]/) - 1
        ctx[depth] = line
        for (i in ctx) if (i + 0 > depth) delete ctx[i]
        path = ""
        for (i = 0; i < depth; i++) if (i in ctx) path = path ctx[i] "\n"
        return path line
    }
    function negated(key,   lines, n, last, indent, text, out, i) {
        n = split(key, lines, "\n"); last = lines[n]
        indent = substr(last, 1, match(last, /[^ ]/) - 1); text = substr(last, length(indent) + 1)
        lines[n] = indent (substr(text, 1, 3) == "no " ? substr(text, 4) : "no " text)
        out = lines[1]
        for (i = 2; i <= n; i++) out = out "\n" lines[i]
        return out
    }
    FNR == 1 { split("", ctx) }
    /^ *(!|exit|end$|$)/ || /^(frr version |hostname |service integrated-vtysh-config$)/ { next }
    FILENAME == ARGV[1] { k = keyof($0); if (!(k in running)) { running[k] = 1; order[++n] = k }; next }
    { k = keyof($0); if (!(k in wanted)) { wanted[k] = 1; if (!(k in running)) added[++a] = k } }
    END {
        for (i = 1; i <= n; i++) if (!(order[i] in wanted)) deleted[++d] = order[i]
        if (d) { print "\nLines To Delete\n==============="; for (i = 1; i <= d; i++) print negated(deleted[i]) }
        if (a) { print "\nLines To Add\n============"; for (i = 1; i <= a; i++) print added[i] }
    }' "$2" "$1"
}

# FRR 8 takes its hostname from the OS (the router's UTS namespace) and cannot change
# it from configuration: $1 -> $1.apply with the hostname of the running configuration
# $2, so reloads never fight over it.
same_hostname() {
    host=$(sed -n '/^hostname /{s///p;q}' "$2")
    if [ -n "$host" ]; then sed "s/^hostname .*/hostname $host/" "$1" > "$1.apply"; else cp "$1" "$1.apply"; fi
}

reload_agrees() {  # exit 0 when frr-reload sees no delta from the running configuration $2 to $1
    same_hostname "$1" "$2"
    $RELOAD --test --input "$2" "$1.apply" 2>/dev/null > "$1.delta"
    ! grep -q -v -x -E -e '' -e 'Lines To (Delete|Add)' -e '=+' "$1.delta"
}

settled() {  # exit 0 when the router runs $1; if it does not, the leftovers are in $1.delta
    running now.conf || return 1
    delta "$1" now.conf > "$1.delta"
    [ -s "$1.delta" ] || return 0
    reload_agrees "$1" now.conf  # frr-reload's view: FRR may print a line otherwise than it was given
}

# Make $1 the running configuration ($2: the running one before); exit 1, with the
# leftovers in $1.delta, if some lines did not take. With "prepared", and the router
# unchanged since prepare, an add-only change is prepare's added lines in one vtysh -f:
# what frr-reload --reload would send, without its passes of show running and marking.
# Anything else, or a fast apply that did not settle, goes through frr-reload --reload.
apply() {
    : > "$1.log"
    if [ "${3:-}" = prepared ] && cmp -s "$2" "$1.base" && ! grep -q -x 'Lines To Delete' "$1.delta"; then
        grep -v -x -E -e '' -e 'Lines To Add' -e '=+' "$1.delta" > "$1.add"
        $VTYSH -f "$1.add" >> "$1.log" 2>&1
        settled "$1" && return 0
    fi
    same_hostname "$1" "$2"
    $RELOAD --reload --stdout "$1.apply" >> "$1.log" 2>&1
    settled "$1"
}

save() {  # write memory: what the router boots with (failure to save is not a failed commit)
    $VTYSH -c 'write memory' > save.log 2>&1 || echo "warning: write memory failed: $(tail -n 1 save.log)"
}

restore() {  # put previous.conf back (used by a failed commit, the timer and rollback)
    running restoring.conf || { echo "cannot read the running configuration"; return 1; }
    apply previous.conf restoring.conf || { echo "restore of the previous configuration left deltas:"; cat previous.conf.delta; return 1; }
}

case "$OP" in
prepare)
    cat > "$1" || exit 70
    running "$1.base" || { echo "cannot read the running configuration"; exit 5; }
    delta "$1" "$1.base" > "$1.delta"
    [ -s "$1.delta" ] || exit 0  # the router runs it already
    if ! out=$($VTYSH --dryrun -f "$1" 2>&1); then echo "$out"; exit 3; fi
    cat "$1.delta"
    ;;
commit)
    file=$1 secs=$2 merge=${3:-}
    exec 9> lock
    flock 9
    if [ -e pending ]; then echo "a commit is already pending confirmation"; exit 4; fi
    # prepare syntax-checked the replace candidate; merge lines are checked here
    if [ -n "$merge" ] && ! out=$($VTYSH --dryrun -f "$merge" 2>&1); then echo "$out"; exit 3; fi
    running previous.conf || { echo "cannot read the running configuration"; exit 5; }
    if [ -n "$merge" ]; then
        if ! $VTYSH -f "$merge" > "$merge.log" 2>&1; then
            echo "the device did not take every line:"
            cat "$merge.log"
            if restore; then echo "restored the previous configuration"; exit 3; fi
            exit 6
        fi
    elif ! apply "$file" previous.conf prepared; then
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
    read -r timer < confirmed
    kill -- "-$timer" 2>/dev/null  # the timer and its sleep (its own process group)
    rm -f confirmed
    save
    echo confirmed
    ;;
rollback)
    if mv pending reverting 2>/dev/null; then read -r timer < reverting; kill -- "-$timer" 2>/dev/null; fi
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
    read -r rc < "$job.rc"
    rm -f "$job.out" "$job.rc"  # read: a job only stays behind when its connection dropped
    exit "$rc"
    ;;
*)
    echo "unknown operation $OP"
    exit 64
    ;;
esac
