"""Alertmanager's configuration from the inventory: who is paged, once per cause.

- **Grouping** by area (a network region — a former district — and its communes, or the core): every alert of one
  outage lands in one notification, since a fibre cut raises the commune's
  HatangSiteUnreachable and both ends' HatangWanLinkDown within seconds of each other.
- **Routes** by severity, then area. A page is a loss of service: HatangSiteUnreachable
  (a site the IIC cannot reach) or HatangExporterDown (monitoring blind); they page the
  area's on-call receiver (webhook + Telegram). Other critical alerts (a link down, a
  device silent over SNMP, a burning budget) are the cause or the echo of a page, so they
  go to the NOC's board (webhook) grouped the same way, not to a phone: a fibre cut is one
  page, not one per signal, and an outage already paged does not page again when its
  burn-rate alert outlives it. Warnings open a ticket (webhook + email).
- **Inhibition** from the topology: a router unreachable mutes every alert of the
  routers behind it (a region's router mutes its communes, the core mutes everything) and the
  HatangWanLinkDown of the port facing it; a site unreachable mutes its own
  HatangDeviceDown and burn-rate alerts. So a region's router (``dr-*``) powered off is
  one page, and its HatangSiteUnreachable names the communes behind it (2025 unit first).
- **Receivers**: a webhook (the IIC's NOC log; the lab's receiver), email over SMTP,
  Telegram (``telegram_configs``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from hatang.errors import HatangError
from hatang.monitoring.areas import CORE_AREA, placements
from hatang.monitoring.promconfig import write_files
from hatang.monitoring.promtool import amtool

PAGE_ALERT = "HatangSiteUnreachable"
PAGING = (PAGE_ALERT, "HatangExporterDown")
#: alerts a site's own HatangSiteUnreachable makes redundant
SAME_DEVICE_MUTED = ("HatangDeviceDown", "HatangAvailabilityBurnRateFast", "HatangAvailabilityBurnRateSlow")


@dataclass(frozen=True)
class Receivers:
    """Where notifications go. Only the webhook is required; email and Telegram are added
    when their address or chat is given."""

    webhook_url: str
    email_to: str | None = None
    email_from: str = "hatang@iic.invalid"
    smarthost: str | None = None
    telegram_chat_id: int | None = None
    telegram_bot_token: str | None = None
    telegram_api_url: str | None = None  # the lab points it at its receiver

    def __post_init__(self) -> None:
        if self.email_to and not self.smarthost:
            raise HatangError("alertmanager: an email receiver needs --smtp HOST:PORT")
        if self.telegram_chat_id is not None and not self.telegram_bot_token:
            raise HatangError("alertmanager: a Telegram receiver needs a bot token ($HATANG_TELEGRAM_BOT_TOKEN)")


@dataclass(frozen=True)
class Timing:
    """Alertmanager's grouping times. group_wait is long enough for the alerts of one
    outage (probe, SNMP, ``for``) and the alert that inhibits them to arrive together."""

    group_wait: str = "30s"
    group_interval: str = "5m"
    repeat_interval: str = "4h"
    resolve_timeout: str = "5m"


@dataclass(frozen=True)
class AlertmanagerOptions:
    receivers: Receivers
    timing: Timing = field(default_factory=Timing)


def _webhook(receivers: Receivers) -> dict[str, Any]:
    return {"url": receivers.webhook_url, "send_resolved": True, "max_alerts": 0}


def _page_receiver(name: str, receivers: Receivers) -> dict[str, Any]:
    receiver: dict[str, Any] = {"name": name, "webhook_configs": [_webhook(receivers)]}
    if receivers.telegram_chat_id is not None:
        telegram = {"bot_token": receivers.telegram_bot_token, "chat_id": receivers.telegram_chat_id, "send_resolved": True,
                    "parse_mode": "", "message": '{{ template "hatang.telegram" . }}'}
        if receivers.telegram_api_url:
            telegram["api_url"] = receivers.telegram_api_url
        receiver["telegram_configs"] = [telegram]
    return receiver


def _ticket_receiver(receivers: Receivers) -> dict[str, Any]:
    receiver: dict[str, Any] = {"name": "ticket", "webhook_configs": [_webhook(receivers)]}
    if receivers.email_to:
        receiver["email_configs"] = [{"to": receivers.email_to, "from": receivers.email_from, "smarthost": receivers.smarthost,
                                      "require_tls": False, "send_resolved": True}]
    return receiver


def _one_of(names: list[str]) -> str:
    return "|".join(re.escape(n) for n in names)


def inhibit_rules(inv: Any, devices: set[str] | None) -> list[dict[str, Any]]:
    """The topology's inhibitions: what a router's unreachability makes redundant."""
    rules: list[dict[str, Any]] = []
    for place in placements(inv, devices).values():
        if not place.behind:
            continue
        source = [f'alertname="{PAGE_ALERT}"', f'device="{place.device}"']
        rules.append({"source_matchers": list(source), "target_matchers": [f'device=~"{_one_of(list(place.behind))}"']})
        rules.append({"source_matchers": list(source), "target_matchers": ['alertname="HatangWanLinkDown"', f'peer="{place.device}"']})
    rules.append({"source_matchers": [f'alertname="{PAGE_ALERT}"'],
                  "target_matchers": [f'alertname=~"{_one_of(list(SAME_DEVICE_MUTED))}"'], "equal": ["device"]})
    return rules


def areas(inv: Any, devices: set[str] | None) -> list[str]:
    found = {p.area for p in placements(inv, devices).values()}
    return [CORE_AREA, *sorted(found - {CORE_AREA})]


def alertmanager_yml(inv: Any, options: AlertmanagerOptions, devices: set[str] | None = None) -> dict[str, Any]:
    t, r = options.timing, options.receivers
    area_routes = [{"matchers": [f'area="{area}"'], "receiver": f"page-{area}"} for area in areas(inv, devices)]
    return {
        "global": {"resolve_timeout": t.resolve_timeout},
        "templates": ["templates/*.tmpl"],
        "route": {
            "receiver": "noc",
            "group_by": ["area"],
            "group_wait": t.group_wait,
            "group_interval": t.group_interval,
            "repeat_interval": t.repeat_interval,
            "routes": [
                {"matchers": ['severity="critical"', f'alertname=~"{_one_of(list(PAGING))}"'], "receiver": f"page-{CORE_AREA}", "routes": area_routes},
                {"matchers": ['severity="warning"'], "receiver": "ticket"},
            ],
        },
        "inhibit_rules": inhibit_rules(inv, devices),
        "receivers": [
            {"name": "noc", "webhook_configs": [_webhook(r)]},
            _ticket_receiver(r),
            *(_page_receiver(f"page-{area}", r) for area in areas(inv, devices)),
        ],
    }


# What a Telegram page says: each firing alert's summary, runbook and next step (the
# webhook and email carry the same annotations as data), then the group's resolved ones,
# named only. A notification carries every alert of its group: also those of an earlier
# incident that ended unpaged (a blip shorter than group_wait) and that Prometheus still
# re-sends resolved; read as firing, they would send the on-call to a router that is fine.
TELEGRAM_TEMPLATE = """{{ define "hatang.telegram" }}[{{ .Status | toUpper }}] {{ .GroupLabels.area }}: {{ len .Alerts.Firing }} firing
{{ range .Alerts.Firing }}- {{ .Annotations.summary }}
  runbook: {{ .Annotations.runbook_url }}
  next: {{ .Annotations.description }}
{{ end }}{{ with .Alerts.Resolved }}resolved:
{{ range . }}- {{ .Labels.alertname }} {{ .Labels.device }}
{{ end }}{{ end }}{{ end }}
"""


def write_alertmanager_config(inv: Any, out_dir: Path, options: AlertmanagerOptions, devices: set[str] | None = None) -> Path:
    """Write alertmanager.yml and its template under ``out_dir`` (replaced, never truncated);
    checked by ``amtool check-config``."""
    files = {
        "alertmanager.yml": yaml.safe_dump(alertmanager_yml(inv, options, devices), sort_keys=False, allow_unicode=True),
        "templates/hatang.tmpl": TELEGRAM_TEMPLATE,
    }
    write_files(out_dir, files)
    config = out_dir / "alertmanager.yml"
    amtool("check-config", str(config))
    return config


def route_of(config: Path, labels: dict[str, str]) -> list[str]:
    """The receivers an alert with ``labels`` reaches (``amtool config routes test``)."""
    pairs = [f"{k}={v}" for k, v in sorted(labels.items())]
    output = amtool("config", "routes", "test", f"--config.file={config}", *pairs)
    first = output.splitlines()[0] if output else ""  # later lines are amtool's warnings
    return [name.strip() for name in first.split(",") if name.strip()]
