"""``python -m hatang.lab.pvesim``: serve, and the admin hook (faults, tokens) beside the API."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from hatang.lab.pvesim.access import ROLES, Access
from hatang.lab.pvesim.daemon import serve
from hatang.lab.pvesim.faults import Faults


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m hatang.lab.pvesim", description="Proxmox VE API simulator for the hatang lab")
    parser.add_argument("--dir", type=Path, required=True, help="the simulator's state directory")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("serve", help="serve every inventory cluster over HTTPS on loopback")
    run.add_argument("--inventory", type=Path, default=None)
    run.add_argument("--env", default="lab")
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--port-base", type=int, default=0, help="first port (one per cluster); 0: any free ports")
    run.add_argument("--task-seconds", type=float, default=0.2, help="how long a simulated task runs")
    run.add_argument("--fence-seconds", type=float, default=10.0, help="how long a node is offline before HA recovers its guests")
    run.add_argument("--latency-ms", type=float, default=0.0, help="added to every answer (a real API's cost per request)")
    node = sub.add_parser("node", help="take a node offline or bring it back")
    node.add_argument("state", choices=["offline", "online"])
    node.add_argument("name")
    fail = sub.add_parser("fail-task", help="make the next task(s) of a type fail")
    fail.add_argument("type", help="task type, e.g. qmclone, qmstart, vzcreate")
    fail.add_argument("--message", default="command failed: exit code 1")
    fail.add_argument("--count", type=int, default=1)
    warn_p = sub.add_parser("warn-task", help="make the next task(s) of a type succeed with WARNINGS: 1")
    warn_p.add_argument("type", help="task type, e.g. qmclone, qmstart")
    warn_p.add_argument("--message", default="found pending changes, discarding for clone")
    warn_p.add_argument("--count", type=int, default=1)
    slow = sub.add_parser("slow-alloc", help="make the next new volume(s) on a storage slow to allocate")
    slow.add_argument("storage")
    slow.add_argument("--seconds", type=float, default=20.0)
    slow.add_argument("--count", type=int, default=1)
    http = sub.add_parser("http-error", help="answer the next matching request(s) with an error")
    http.add_argument("method")
    http.add_argument("path", help="regular expression searched in the API path")
    http.add_argument("--status", type=int, default=500)
    http.add_argument("--message", default="internal error")
    http.add_argument("--count", type=int, default=1)
    lock = sub.add_parser("lock", help="hold a guest's config lock for a while")
    lock.add_argument("cluster")
    lock.add_argument("vmid", type=int)
    lock.add_argument("--kind", default="backup")
    lock.add_argument("--seconds", type=float, default=5.0)
    sub.add_parser("clear", help="remove every injected fault")
    token = sub.add_parser("token", help="create an API token and print its secret")
    token.add_argument("tokenid", help="user@realm!name")
    token.add_argument("--role", action="append", help=f"a built-in role on /, or PATH=ROLE (repeatable; default PVEAuditor); roles: {', '.join(sorted(ROLES))}")
    args = parser.parse_args(argv)

    faults = Faults(args.dir)
    if args.command == "serve":
        serve(args.dir, args.inventory, args.env, args.host, args.port_base, args.task_seconds, args.latency_ms, args.fence_seconds)
    elif args.command == "node":
        faults.set_offline(args.name, args.state == "offline")
    elif args.command == "fail-task":
        faults.fail_task(args.type, args.message, args.count)
    elif args.command == "warn-task":
        faults.warn_task(args.type, args.message, args.count)
    elif args.command == "slow-alloc":
        faults.slow_allocation(args.storage, args.seconds, args.count)
    elif args.command == "http-error":
        faults.http_error(args.method, args.path, args.message, args.status, args.count)
    elif args.command == "lock":
        faults.hold_lock(args.cluster, args.vmid, args.kind, args.seconds)
    elif args.command == "clear":
        faults.clear()
    elif args.command == "token":
        try:
            secret = Access(args.dir).add_token(args.tokenid, args.role or ["PVEAuditor"])
        except ValueError as exc:
            parser.error(str(exc))
        print(json.dumps({"tokenid": args.tokenid, "secret": secret}))


if __name__ == "__main__":
    main()
