"""Benchmark: push the province lab from day-0 with hatang, then the same configurations
to the same routers (again from day-0) with Ansible (goal: hatang ≤ 30 s wall, and at
least 5× faster than Ansible).

hatang: ``hatang.network.push.push`` — canary, waves, commit with a revert timer on the
router, post-checks (management, OSPF Full on the uplink, loopback from the core, SNMP),
confirm. Ansible: ansible-runner, ``ansible.netcommon.network_cli`` with
``cisco.ios.ios`` as the network OS (vtysh speaks a Cisco-like CLI) and
``ansible.netcommon.cli_config`` sending each rendered configuration, forks equal to
hatang's wave size, one play per layer of the management path (core, districts,
communes; in the merged province the IIC core, then what hangs off it, and so on) over the same
in-band path, each router's SSH port waited for first; no checks, no rollback (a plain
merge). Ansible gets an allowance (``--ansible-allowance``, 25 min by default): past it, or when the bench is interrupted, every process the run started is
killed — its workers and ``ansible-connection`` daemons included, which leave
ansible-playbook's process group (setsid): the bench is their subreaper and kills its
whole tree. An unfinished peer is reported as such, and the ratio as a lower bound.

    python -m bench.push [--size province|district|small|merged] [--wave-size N]
"""

from __future__ import annotations

import argparse
import ctypes
import fcntl
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from bench.lab import children_map
from bench.report import peak_rss_mib, table, write_section
from hatang.credentials import secret
from hatang.inventory.export import export

LAB_LOCK = Path("/run/hatang-lab.lock")
HATANG = [sys.executable, "-m", "hatang.cli"]
#: One play per layer of the management path (a router managed in band answers only once
#: the router above it is configured: the province's core, districts, communes; the
#: merged province's IIC core, then the two area cores behind it, then theirs), each
#: router waited for on its SSH port first (its upstream's OSPF takes a hello or two).
PLAY = """\
- name: push the rendered configurations ({group})
  hosts: {group}
  gather_facts: false
  tasks:
    - name: wait for the in-band management path
      ansible.builtin.wait_for:
        host: "{{{{ ansible_host }}}}"
        port: 22
        timeout: 60
      delegate_to: localhost
    - name: cli_config
      ansible.netcommon.cli_config:
        config: "{{{{ lookup('file', configs + '/' + inventory_hostname + '.conf') }}}}"
"""
ANSIBLE_ALLOWANCE_S = 1500  # the default allowance (--ansible-allowance)
PR_SET_CHILD_SUBREAPER = 36


def management_layers(inv, names: list[str]) -> list[list[str]]:
    """``names`` by depth on the management path: out of band first, then each router
    managed in band one layer below the router its uplink leads to."""
    depth: dict[str, int] = {}

    def of(name: str) -> int:
        if name not in depth:
            uplink = inv.uplink(name) if inv.in_band(name) else None
            depth[name] = 0 if uplink is None or uplink.peer is None else of(uplink.peer) + 1
        return depth[name]

    layers: list[list[str]] = [[] for _ in range(max(map(of, names), default=-1) + 1)]
    for name in names:
        layers[of(name)].append(name)
    return layers


def playbook(layers: list[list[str]]) -> tuple[str, dict]:
    """The playbook (a play per layer) and the inventory groups it names."""
    groups = {f"bench_layer_{i}": {"hosts": {name: {} for name in layer}} for i, layer in enumerate(layers)}
    return "".join(PLAY.format(group=group) for group in groups), groups


def lab(*args: str) -> None:
    proc = subprocess.run([*HATANG, "lab", *args], capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"hatang lab {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")


def fresh_lab(size: str):
    """A lab of ``size`` from day-0 (taken down and up again), as a LabContext."""
    from hatang.lab.context import LabContext

    lab("down")
    started = time.perf_counter()
    lab("up", "--size", size)
    print(f"lab up ({size}) in {time.perf_counter() - started:.1f} s", flush=True)
    return LabContext.load()


def machine_cpu_s() -> float:
    """CPU-seconds the whole machine has spent (every core, this process, the routers)."""
    with open("/proc/stat", encoding="ascii") as stat:
        user, nice, system, _idle, _iowait, irq, softirq = (int(v) for v in stat.readline().split()[1:8])
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def hatang_push(ctx, wave_size: int) -> dict:
    from hatang.network.push import push

    started, cpu = time.perf_counter(), machine_cpu_s()
    report = push(ctx.inventory, ctx.device_names, wave_size=wave_size, max_failures=0, show_progress=False, record=False)
    first = time.perf_counter() - started
    cpu = machine_cpu_s() - cpu
    for wave in report.waves:  # where the time went: the slowest router of each wave
        slowest = max(wave, key=lambda n: report.results[n].duration_s)
        print(f"wave of {len(wave)}: slowest {slowest} {report.results[slowest].duration_s:.1f} s, checks {report.results[slowest].data.get('check_s')}", flush=True)
    if not report.ok:
        causes = [n for n in report.failed if report.status(n) != "skipped"]
        raise SystemExit(f"hatang push failed: {report.counts()} " + "; ".join(f"{n}: {report.results[n].error}" for n in causes[:5]))
    started = time.perf_counter()
    again = push(ctx.inventory, ctx.device_names, wave_size=wave_size, show_progress=False, record=False)
    second = time.perf_counter() - started
    return {"day0_s": first, "second_s": second, "cpu_per_router_s": cpu / len(ctx.device_names), "counts": report.counts(), "again": again.counts()}


def ansible_push(ctx, forks: int, work: Path, allowance_s: int) -> dict:
    import ansible_runner

    from hatang.network.render import Renderer

    inv = ctx.inventory
    configs = work / "configs"
    configs.mkdir(parents=True)
    for item in Renderer(inv).render_many(ctx.device_names):
        (configs / f"{item.device}.conf").write_text(item.text, encoding="utf-8")
    # hatang's export as it is (its inventory text is tagged !unsafe, never templated: a
    # re-dump would lose that), the bench's variables beside it, the lab's routers as the limit
    (work / "inventory").mkdir()
    (work / "inventory" / "hatang.yml").write_text(export(inv, "ansible")["inventory.yml"], encoding="utf-8")
    play, groups = playbook(management_layers(inv, ctx.device_names))
    bench_vars = {"all": {"vars": {
        "ansible_user": secret("net-admin", "username", env="lab"),
        "ansible_password": secret("net-admin", "password", env="lab"),
        "ansible_network_cli_ssh_type": "paramiko",
        "configs": str(configs),
    }, "children": groups}}
    (work / "inventory" / "bench.yml").write_text(yaml.safe_dump(bench_vars), encoding="utf-8")
    hosts = set(ctx.device_names)
    (work / "project").mkdir()
    (work / "project" / "push.yml").write_text(play)
    started, cpu = time.perf_counter(), machine_cpu_s()
    venv_bin = str(Path(sys.executable).parent)  # ansible-playbook lives beside this python
    with own_tree():
        run = ansible_runner.run(private_data_dir=str(work), playbook="push.yml", forks=forks, quiet=True, limit=",".join(sorted(hosts)),
                                 timeout=allowance_s,
                                 envvars={"PATH": f"{venv_bin}:{os.environ.get('PATH', '')}", "ANSIBLE_HOST_KEY_CHECKING": "False",
                                          "ANSIBLE_PERSISTENT_COMMAND_TIMEOUT": "120"})
    elapsed = time.perf_counter() - started
    cpu = machine_cpu_s() - cpu
    if run.status == "canceled":  # ansible-runner swallows the interrupt: an interrupted run reports nothing
        raise KeyboardInterrupt("the Ansible run was interrupted")
    stats = run.stats or {}
    failed = sorted(set(stats.get("failures", {})) | set(stats.get("dark", {})))
    return {"s": elapsed, "cpu_per_router_s": cpu / len(hosts), "rc": run.rc, "ok": len(stats.get("ok", {})),
            "changed": len(stats.get("changed", {})), "failed": failed, "finished": run.status != "timeout"}


def descendants(root: int) -> list[int]:
    children, found, stack = children_map(), [], [root]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


class own_tree:
    """Within: this process is the subreaper of what it starts (what double-forks or
    setsids away comes back to it as parent); on the way out, timeout, error or
    interruption alike, every process left below it is killed (TERM, then KILL)."""

    def __enter__(self) -> "own_tree":
        self._prctl(1)
        return self

    def __exit__(self, *exc) -> None:
        try:
            for sig, wait_s in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
                deadline = time.monotonic() + wait_s
                while (left := descendants(os.getpid())) and time.monotonic() < deadline:
                    for pid in left:
                        try:
                            os.kill(pid, sig)
                        except ProcessLookupError:
                            pass
                    self._reap()
                    time.sleep(0.1)
                if not left:
                    break
        finally:
            self._prctl(0)

    @staticmethod
    def _reap() -> None:
        while True:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return

    @staticmethod
    def _prctl(on: int) -> None:
        if ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, on, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")


def interrupted(signum, frame) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", default="province")
    parser.add_argument("--wave-size", type=int, default=50)
    parser.add_argument("--ansible-allowance", type=int, default=ANSIBLE_ALLOWANCE_S, help="seconds before the Ansible run is killed")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, interrupted)  # a TERM unwinds too: the peer's processes killed, the lab taken down
    with open(LAB_LOCK, "a") as lock, tempfile.TemporaryDirectory(prefix="hatang-bench-push-") as tmp:
        fcntl.flock(lock, fcntl.LOCK_EX)  # the lab's lock, released when the file closes
        try:
            ctx = fresh_lab(args.size)
            routers = len(ctx.device_names)
            ours = hatang_push(ctx, args.wave_size)
            ctx = fresh_lab(args.size)
            try:
                theirs = ansible_push(ctx, args.wave_size, Path(tmp), args.ansible_allowance)
            except Exception as exc:  # the peer failing must not lose hatang's figures
                theirs = {"s": float("nan"), "cpu_per_router_s": float("nan"), "rc": None, "ok": 0, "changed": 0,
                          "failed": [f"{type(exc).__name__}: {exc}"], "finished": True}
        finally:
            lab("down")
    ratio = theirs["s"] / ours["day0_s"]
    rows = [
        ["hatang net push (day-0 → configured, checked, confirmed)", routers, f"{ours['day0_s']:.1f}", ", ".join(f"{n} {s}" for s, n in ours["counts"].items())],
        ["hatang net push again (no change)", routers, f"{ours['second_s']:.1f}", ", ".join(f"{n} {s}" for s, n in ours["again"].items())],
        ["Ansible cli_config, a play per layer (day-0 → configured, no checks)", routers,
         f"{theirs['s']:.1f}" if theirs["finished"] else f"> {theirs['s']:.1f}",
         f"rc {theirs['rc']}, {theirs['changed']} changed, {len(theirs['failed'])} failed" if theirs["finished"]
         else f"**not finished** within the bench's allowance of {args.ansible_allowance} s (killed)"],
    ]
    body = "\n".join([
        table(["push", "routers", "wall s", "result"], rows),
        "",
        "Not the same work: hatang syntax-checks, diffs and commits each router all or nothing with "
        "a revert timer on the router, runs the post-checks (management, OSPF Full on the uplink, "
        "loopback from the core, SNMP) and confirms, a canary first; Ansible only sends the lines "
        "(a merge: no diff, check, rollback or confirm). hatang has no option to skip its checks.",
        "",
        f"Lab size {args.size}, wave size / Ansible forks {args.wave_size}. "
        + (f"Goal ≤ 30 s: **{'met' if ours['day0_s'] <= 30 else 'missed'}** ({ours['day0_s']:.1f} s). " if args.size != "merged"
           else "No time goal for the merged province (issue 22: measured, with its peer). ")
        + (f"hatang is **{ratio:.2f}×** faster than Ansible (goal ≥ 5×: {'met' if ratio >= 5 else 'missed'}). " if theirs["finished"]
           else f"hatang is **more than {ratio:.2f}×** faster than Ansible (a lower bound: Ansible was stopped unfinished; "
                f"its CPU figure covers only what it did; goal ≥ 5×: {'met' if ratio >= 5 else 'not shown'}). ")
        + f"CPU-seconds per router, the whole machine (host and routers together): hatang {ours['cpu_per_router_s']:.2f}, "
        f"Ansible {theirs['cpu_per_router_s']:.2f}. "
        # RUSAGE_CHILDREN's peak covers every child this run waited for (the lab too), so
        # it cannot be read as Ansible's: only this process's own peak is reported.
        f"Peak RSS of hatang (this process) {peak_rss_mib():.0f} MiB."
        + (f" Ansible failed on: {', '.join(theirs['failed'][:10])}." if theirs["failed"] else ""),
    ])
    write_section("push" if args.size != "merged" else "push-merged", "Push: the lab from day-0, hatang against Ansible", f"python -m bench.push --size {args.size} --wave-size {args.wave_size}", body)


if __name__ == "__main__":
    main()
