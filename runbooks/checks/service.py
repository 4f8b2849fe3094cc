"""hatang's own monitoring path: is the SNMP exporter serving, and can it scrape the
target? (HTTP GETs only; the exporter's /snmp endpoint itself only reads the agent.)"""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from urllib.parse import urlencode

from hatang.runbooks.context import CheckContext, Outcome

HTTP_TIMEOUT_S = 5.0


def exporter_url() -> str:
    """Where the exporter listens: ``$HATANG_EXPORTER_URL``, else the monitoring room's default."""
    from hatang.monitoring.exporter import DEFAULT_LISTEN

    return os.environ.get("HATANG_EXPORTER_URL", f"http://{DEFAULT_LISTEN}").rstrip("/")


def _get(url: str, timeout: float) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as reply:
            return reply.status, reply.read(4096).decode(errors="replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(512).decode(errors="replace")


def exporter(ctx: CheckContext) -> Outcome:
    """The exporter answers /metrics, and an /snmp scrape of the subject succeeds."""
    base = ctx.params.get("url") or exporter_url()
    timeout = ctx.param("timeout_s", HTTP_TIMEOUT_S)
    data: dict = {"url": base, "timeout_s": timeout}
    try:
        status, _ = _get(f"{base}/metrics", timeout)
    except OSError as exc:
        return Outcome("fail", f"exporter {base} does not answer ({getattr(exc, 'reason', exc)}); is it running?", data=data)
    data["metrics_status"] = status
    if status != 200:
        return Outcome("fail", f"exporter {base}/metrics answers HTTP {status}", data=data)
    scrape = f"{base}/snmp?" + urlencode({"target": str(ctx.inv.mgmt(ctx.device).ip), "module": "if_mib"})
    try:
        status, body = _get(scrape, timeout)
    except OSError as exc:
        return Outcome("fail", f"exporter is up but scraping {ctx.device} timed out ({exc})", data=data)
    data["scrape_status"] = status
    if status != 200:
        return Outcome("fail", f"exporter is up but cannot scrape {ctx.device}: HTTP {status} {body.strip()[:200]}", data=data)
    return Outcome("ok", f"exporter {base} is up and scrapes {ctx.device}", data=data)
