#!/bin/sh
# hatang's FRR commit agent: runs ON the router, started by the napalm FRR driver through
# the admin shell. It exists so that a commit, and the revert timer of a commit-confirm,
# never depend on the SSH connection that asked for them.
#
#   agent.sh DIR PATHSPACE SUDO serve TOKEN   the driver's session: read requests, one a line
#                                             ("OP ARGS" or "vtysh COMMAND"), answer each with
#                                             its output and a line "hatang-status TOKEN RC".
#                                             Its own session (setsid) and deaf to HUP and
#                                             PIPE: a dropped connection never stops a
#                                             request half way; the end of input ends it.
#   agent.sh DIR PATHSPACE SUDO OP ARGS       one operation, then exit with its status
#
# Operations:
#   prepare FILE          the candidate -> FILE (one-shot: stdin; serve: the lines after the
#                         request, up to "hatang-eof-TOKEN"); if the router already runs it,
#                         print nothing; else syntax-check it (vtysh --dryrun; status 3 if
#                         rejected) and print the deltas running -> FILE (see delta)
#   commit FILE SECS [MERGE]
#                         apply FILE all-or-nothing (replace; or, with a MERGE file, add its
#                         lines); revert in SECS unless confirmed
#   confirm               confirm the pending commit
#   rollback              back to the configuration before the last commit
#   pending               status 0 when a commit awaits confirmation
#   vtysh COMMAND         (serve only) one vtysh command; status 1 when vtysh printed an error
#
# Files in DIR: FILE.base and FILE.delta (the running configuration prepare compared
# against, and the deltas; a session's FILE is candidate-TOKEN.conf, removed when the
# session ends), previous.conf (running before the last commit), pending (the
# revert timer's pid while a commit awaits confirmation), lock (serialises every apply).
#
# Cost matters: a province push runs this on 140-odd routers sharing the same CPUs, and
# starting vtysh costs ~20 ms of CPU (it builds its whole command graph), a command to a
# running vtysh well under 1 ms. So a session keeps ONE vtysh running (see vt) for every
# read, apply and save; the deltas come from one awk (see delta); an add-only change is
# applied with one "copy FILE running-config"; frr-reload.py (~50 ms more) runs only
# where its knowledge is needed: changes that delete lines (and a second opinion when a
# commit did not settle). Waits block (wait, flock, sleep SECS) rather than poll.
set -u
DIR=$1 NS=$2 SUDO=$3 OP=$4
shift 4
[ "$SUDO" = "-" ] && SUDO=""
RELOAD="$SUDO /usr/lib/frr/frr-reload.py --pathspace $NS --rundir $DIR"
VTYSH="$SUDO vtysh -N $NS"
TOKEN=""   # set by serve; then fds 3 and 4 are the session's vtysh (its input, its output)
MARKS=0
cd "$DIR" || exit 70

# One vtysh command, its output on stdout; status 1 when vtysh printed an error ("% …",
# "line N: % …"), 2 when the session's vtysh is gone. In a session the command goes to
# its vtysh followed by a marker line: vtysh echoes each line after its prompt, and
# answers the marker "% Unknown command: <marker>", so the command's output is what
# lies between its echo and the marker's.
vt() {
    if [ -z "$TOKEN" ]; then
        $VTYSH -c "$1"
        return
    fi
    MARKS=$((MARKS + 1))
    mark="hatang-mark-$MARKS"
    printf '%s\n%s\n' "$1" "$mark" >&3 || return 2
    IFS= read -r line <&4 || return 2  # the prompt and the command
    vt_rc=0
    while IFS= read -r line <&4; do
        case $line in
        *"# $mark") IFS= read -r line <&4; return $vt_rc ;;
        "% "* | "line "*": % "*) vt_rc=1 ;;
        esac
        printf '%s\n' "$line"
    done
    return 2
}

start_vtysh() {  # the session's vtysh on fds 3 and 4, past its greeting
    rm -f "vt.$$.in" "vt.$$.out"
    mkfifo -m 600 "vt.$$.in" "vt.$$.out" || return 1
    $VTYSH < "vt.$$.in" > "vt.$$.out" 2>&1 &
    VT_PID=$!
    exec 3> "vt.$$.in" 4< "vt.$$.out"
    rm -f "vt.$$.in" "vt.$$.out"
    printf 'hatang-mark-0\n' >&3
    while IFS= read -r line <&4; do
        case $line in *"# hatang-mark-0") IFS= read -r line <&4; return 0 ;; esac
    done
    return 1
}

running() {  # the running configuration, without vtysh's header, -> $1
    vt 'show running-config' > "$1.raw" || return 1
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

add_lines() {  # add the configuration lines of file $1 (in DIR); what vtysh says -> the log $2
    vt "copy $DIR/$1 running-config" >> "$2" 2>&1
}

# Make $1 the running configuration ($2: the running one before); exit 1, with the
# leftovers in $1.delta, if some lines did not take. With "prepared", and the router
# unchanged since prepare, an add-only change is prepare's added lines, copied in at
# once: what frr-reload --reload would send, without its passes of show running and
# marking. Anything else, or a fast apply that did not settle, goes through
# frr-reload --reload.
apply() {
    : > "$1.log"
    if [ "${3:-}" = prepared ] && cmp -s "$2" "$1.base" && ! grep -q -x 'Lines To Delete' "$1.delta"; then
        grep -v -x -E -e '' -e 'Lines To Add' -e '=+' "$1.delta" > "$1.add"
        add_lines "$1.add" "$1.log"
        settled "$1" && return 0
    fi
    same_hostname "$1" "$2"
    $RELOAD --reload --stdout "$1.apply" >> "$1.log" 2>&1
    settled "$1"
}

save() {  # write memory: what the router boots with (failure to save is not a failed commit)
    vt 'write memory' > save.log 2>&1 || echo "warning: write memory failed: $(tail -n 1 save.log)"
}

restore() {  # put previous.conf back (used by a failed commit, the timer and rollback)
    running restoring.conf || { echo "cannot read the running configuration"; return 1; }
    apply previous.conf restoring.conf || { echo "restore of the previous configuration left deltas:"; cat previous.conf.delta; return 1; }
}

locked() {  # run "$@" holding the lock every apply takes
    exec 9> lock
    flock 9
    "$@"
    locked_rc=$?
    exec 9>&-
    return $locked_rc
}

receive() {  # the candidate -> $1 (see prepare above)
    if [ -z "$TOKEN" ]; then
        cat > "$1"
        return
    fi
    received=1
    while IFS= read -r line; do
        [ "$line" = "hatang-eof-$TOKEN" ] && { received=0; break; }
        printf '%s\n' "$line"
    done > "$1"
    return $received
}

op_prepare() {
    receive "$1" || { echo "the candidate did not arrive whole"; return 70; }
    running "$1.base" || { echo "cannot read the running configuration"; return 5; }
    delta "$1" "$1.base" > "$1.delta"
    [ -s "$1.delta" ] || return 0  # the router runs it already
    if ! out=$($VTYSH --dryrun -f "$1" 2>&1); then echo "$out"; return 3; fi
    cat "$1.delta"
}

commit() {
    file=$1 secs=$2 merge=${3:-}
    if [ -e pending ]; then echo "a commit is already pending confirmation"; return 4; fi
    # prepare syntax-checked the replace candidate; merge lines are checked here
    if [ -n "$merge" ] && ! out=$($VTYSH --dryrun -f "$merge" 2>&1); then echo "$out"; return 3; fi
    running previous.conf || { echo "cannot read the running configuration"; return 5; }
    if [ -n "$merge" ]; then
        : > "$merge.log"
        if ! add_lines "$merge" "$merge.log"; then
            echo "the device did not take every line:"
            cat "$merge.log"
            if restore; then echo "restored the previous configuration"; return 3; fi
            return 6
        fi
    elif ! apply "$file" previous.conf prepared; then
        echo "the device did not take every line; left over after the reload:"
        cat "$file.delta"
        grep -iE 'error|fail|unknown' "$file.log" | head -n 20
        if restore; then echo "restored the previous configuration"; return 3; fi
        return 6
    fi
    if [ "$secs" -gt 0 ]; then
        # 3>&- 4>&- 9>&-: the timer must not hold the session's vtysh or the lock while it sleeps
        setsid sh "$DIR/agent.sh" "$DIR" "$NS" "${SUDO:--}" revert-after "$secs" 3>&- 4>&- 9>&- < /dev/null > timer.log 2>&1 &
        echo $! > pending
    else
        save
    fi
    echo committed
}

op_commit() { locked commit "$@"; }

op_confirm() {
    mv pending confirmed 2>/dev/null || { echo "no commit is pending confirmation (the revert timer may have fired)"; return 4; }
    read -r timer < confirmed
    kill -- "-$timer" 2>/dev/null  # the timer and its sleep (its own process group)
    rm -f confirmed
    save
    echo confirmed
}

rollback() {
    [ -e previous.conf ] || { echo "no previous configuration to roll back to"; return 4; }
    restore
    rollback_rc=$?
    rm -f reverting
    save
    return $rollback_rc
}

op_rollback() {
    if mv pending reverting 2>/dev/null; then read -r timer < reverting; kill -- "-$timer" 2>/dev/null; fi
    locked rollback
}

op_pending() { [ -e pending ] || [ -e reverting ]; }

op_revert_after() {
    sleep "$1"
    mv pending reverting 2>/dev/null || return 0  # confirmed in time
    locked rollback
    rc=$?
    echo "reverted after $1 s without confirmation (rc $rc)"
    return $rc
}

serve() {
    TOKEN=$1
    trap '' HUP PIPE
    VT_PID=""
    # at the end: the session's vtysh ends with its input; the session's files go
    trap 'exec 3>&-; [ -z "$VT_PID" ] || wait "$VT_PID"; rm -f "candidate-$TOKEN.conf"* "merge-$TOKEN.conf"*' EXIT
    start_vtysh || { echo "cannot start vtysh"; exit 5; }
    while IFS= read -r request; do
        set -f
        # shellcheck disable=SC2086  # the request's words are the operation and its arguments
        set -- $request
        set +f
        case ${1:-} in
        vtysh) vt "${request#vtysh }" ;;
        prepare | commit | confirm | rollback | pending) op=$1; shift; "op_$op" "$@" ;;
        *) echo "unknown request: $request"; false ;;
        esac
        printf '\nhatang-status %s %s\n' "$TOKEN" "$?"
    done
}

case "$OP" in
serve) serve "$@" ;;
prepare | commit | confirm | rollback | pending) "op_$OP" "$@" ;;
revert-after) op_revert_after "$@" ;;
*) echo "unknown operation $OP"; exit 64 ;;
esac
