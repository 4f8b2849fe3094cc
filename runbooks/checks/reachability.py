"""Can we reach the device? From hatang's host over the management network (ICMP and
TCP 22), and across the data network from the core router (its loopback)."""

from __future__ import annotations

import re
import socket
import subprocess

from hatang.runbooks.context import CheckContext, Outcome

PING_COUNT = 3
PING_WAIT_S = 1
SSH_TIMEOUT_S = 3.0
LOOPBACK_PING_COUNT = 3
LOOPBACK_PING_TIMEOUT_S = 1


def mgmt_ping(ctx: CheckContext) -> Outcome:
    """ICMP echo to the management address, from the host hatang runs on."""
    address = str(ctx.inv.mgmt(ctx.device).ip)
    count = ctx.param("count", PING_COUNT)
    wait = ctx.param("wait_s", PING_WAIT_S)
    proc = subprocess.run(
        ["ping", "-n", "-q", "-c", str(count), "-i", "0.2", "-W", str(wait), address],
        capture_output=True,
        text=True,
        timeout=count * (wait + 1) + 2,
    )
    received = re.search(r"(\d+) received", proc.stdout)
    got = int(received.group(1)) if received else 0
    rtt = re.search(r"= [\d.]+/([\d.]+)/", proc.stdout)
    data = {"address": address, "sent": count, "received": got, "rtt_avg_ms": float(rtt.group(1)) if rtt else None}
    if got:
        return Outcome("ok", f"management {address} answers ping ({got}/{count}, {data['rtt_avg_ms']} ms)", data=data)
    return Outcome("fail", f"management {address} does not answer ping (0/{count}, {wait} s wait each)", data=data)


def mgmt_ssh(ctx: CheckContext) -> Outcome:
    """A TCP connection to port 22 of the management address, and the SSH banner."""
    address = str(ctx.inv.mgmt(ctx.device).ip)
    timeout = ctx.param("timeout_s", SSH_TIMEOUT_S)
    data = {"address": address, "port": 22, "timeout_s": timeout}
    try:
        with socket.create_connection((address, 22), timeout=timeout) as conn:
            banner = conn.recv(128).decode(errors="replace").strip()
    except OSError as exc:
        return Outcome("fail", f"SSH {address}:22 does not answer ({exc.strerror or exc}, {timeout} s timeout)", data=data)
    data["banner"] = banner
    if not banner.startswith("SSH-"):
        return Outcome("fail", f"{address}:22 accepts connections but sends no SSH banner ({banner!r})", data=data)
    return Outcome("ok", f"SSH {address}:22 answers ({banner})", data=data)


def loopback_from_core(ctx: CheckContext) -> Outcome:
    """Ping the device's loopback from the core router's loopback, through the network
    state layer: it proves the routed path across the data network, not the management one."""
    if ctx.core is None:
        return Outcome("skip", "no core router in the inventory")
    if ctx.device == ctx.core:
        return Outcome("skip", f"{ctx.device} is the core router itself")
    loopback = str(ctx.inv.loopback(ctx.device))
    source = str(ctx.inv.loopback(ctx.core))
    count = ctx.param("count", LOOPBACK_PING_COUNT)
    reply = ctx.state(ctx.core).ping(loopback, source=source, count=count, timeout=LOOPBACK_PING_TIMEOUT_S)
    data = {"from": ctx.core, "source": source, "destination": loopback, "reply": reply}
    if reply["error"]:
        return Outcome("fail", f"{ctx.core} cannot ping loopback {loopback}: {reply['error']}", data=data)
    sent, received = reply["sent"], reply["received"]
    if received:
        return Outcome("ok", f"loopback {loopback} answers from {ctx.core} ({received}/{sent}, {reply['rtt_avg_ms']} ms)", data=data)
    return Outcome("fail", f"loopback {loopback} unreachable from {ctx.core} ({sent - received}/{sent} lost): no routed path over the data network", data=data)
