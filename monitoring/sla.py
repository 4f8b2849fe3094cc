"""Availability over a period, from Prometheus' HTTP API, against the 99.9% objective.

The measure is the recording rule ``hatang:device_available`` (1 when the device
answers SNMP and its inventory uplink is up, else 0), evaluated every rule interval.
For each device, at the end of the period, Prometheus gives the average of that series
over the period (availability), the number of samples (observed time) and the number
of 1→0 drops (incidents, ``resets()``). Downtime is the unavailable share of the
observed time, so a period Prometheus only partly saw is neither padded nor punished;
the observed minutes are reported next to it.

Communes are their CPE's figures; a district and a service pool device-time over
their members (a district: its communes and its district router; a service: the
network tier a role serves — the core, the district WAN, the commune WAN).

Every outage interval is listed with its cause (``outages.py``). The parts inside a
declared maintenance window are shown as planned and, under the default policy
``exclude``, not counted as downtime (``maintenance.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import requests

from hatang.errors import HatangError
from hatang.inventory.reorganisation import display_name
from hatang.monitoring.maintenance import Window
from hatang.monitoring.outages import SNMP_JOB, Outage, evidence_margin, find_outages
from hatang.monitoring.sla_units import group_by_unit

OBJECTIVE = 0.999
SERIES = "hatang:device_available"
SERVICES = {
    "core": "Core network (IIC data center)",
    "district": "District WAN",
    "commune_cpe": "Commune WAN (dedicated data network)",
}


@dataclass
class Figures:
    """Availability figures of one device or one group of devices."""

    key: str
    name: str
    district: str = ""
    up_samples: float = 0.0
    samples: float = 0.0
    incidents: int = 0
    step_s: float = 0.0
    members: int = 1

    @property
    def availability(self) -> float | None:
        return self.up_samples / self.samples if self.samples else None

    @property
    def downtime_min(self) -> float:
        return (self.samples - self.up_samples) * self.step_s / 60

    @property
    def observed_min(self) -> float:
        return self.samples * self.step_s / 60

    @property
    def budget_left(self) -> float | None:
        """Share of the error budget (0.1% of the observed time) not yet spent; negative when overspent."""
        budget = (1 - OBJECTIVE) * self.observed_min
        return 1 - self.downtime_min / budget if budget else None

    def add(self, other: "Figures") -> None:
        self.up_samples += other.up_samples
        self.samples += other.samples
        self.incidents += other.incidents

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "name": self.name,
            "district": self.district,
            "availability_pct": None if self.availability is None else round(self.availability * 100, 4),
            "downtime_min": round(self.downtime_min, 2),
            "observed_min": round(self.observed_min, 2),
            "incidents": self.incidents,
            "error_budget_left_pct": None if self.budget_left is None else round(self.budget_left * 100, 1),
            "devices": self.members,
        }


@dataclass
class SlaReport:
    start: datetime
    end: datetime
    prometheus: str
    step_s: float
    communes: list[Figures] = field(default_factory=list)
    districts: list[Figures] = field(default_factory=list)
    services: list[Figures] = field(default_factory=list)
    devices: list[Figures] = field(default_factory=list)
    without_data: list[str] = field(default_factory=list)
    rpo: list[Any] = field(default_factory=list)  # sla_rpo.RpoFigures per cloud service
    outages: list[Outage] = field(default_factory=list)
    planned_policy: str = "exclude"
    windows: list[Window] = field(default_factory=list)
    units_2025: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "objective_pct": OBJECTIVE * 100,
            "prometheus": self.prometheus,
            "step_s": self.step_s,
            "districts": [f.as_dict() for f in self.districts],
            "units_2025": self.units_2025,
            "communes": [f.as_dict() for f in self.communes],
            "services": [f.as_dict() for f in self.services],
            "devices": [f.as_dict() for f in self.devices],
            "devices_without_data": self.without_data,
            "rpo": [r.as_dict() for r in self.rpo],
            "planned_policy": self.planned_policy,
            "maintenance_windows": [{"id": w.id, "start": w.start.isoformat(), "end": w.end.isoformat(), "devices": sorted(w.devices), "reason": w.reason}
                                    for w in self.windows],
            "outages": [o.as_dict() for o in self.outages],
        }


class PrometheusApi:
    """The few calls of Prometheus' HTTP API the report needs, with errors users can read."""

    def __init__(self, url: str, timeout: float = 30):
        self.url, self.timeout = url.rstrip("/"), timeout

    def _get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        try:
            response = requests.get(f"{self.url}{path}", params=params, timeout=self.timeout)
        except requests.RequestException as exc:
            raise HatangError(f"cannot reach Prometheus at {self.url}: {exc.__class__.__name__}", details=[str(exc)]) from None
        try:
            body = response.json()
        except ValueError:
            raise HatangError(f"Prometheus at {self.url} answered HTTP {response.status_code} without JSON on {path}") from None
        if body.get("status") != "success":
            raise HatangError(f"Prometheus refused {path}: {body.get('errorType', '')} {body.get('error', '')}".strip())
        return body["data"]

    def query(self, promql: str, at: datetime) -> list[dict[str, Any]]:
        return self._get("/api/v1/query", {"query": promql, "time": at.timestamp()})["result"]

    def alerts(self) -> list[dict[str, Any]]:
        """Alerts pending or firing now (labels, state, activeAt)."""
        return self._get("/api/v1/alerts")["alerts"]

    def _config(self) -> dict[str, Any]:
        import yaml

        return yaml.safe_load(self._get("/api/v1/status/config")["yaml"]) or {}

    def evaluation_interval_s(self) -> float:
        return parse_duration((self._config().get("global") or {}).get("evaluation_interval", "1m"))

    def scrape_interval_s(self, job: str) -> float:
        """``job``'s scrape interval (its own, else the global one; Prometheus' default 1m)."""
        config = self._config()
        default = (config.get("global") or {}).get("scrape_interval", "1m")
        jobs = {j.get("job_name"): j for j in config.get("scrape_configs") or []}
        return parse_duration((jobs.get(job) or {}).get("scrape_interval", default))


def parse_duration(text: str) -> float:
    """Prometheus durations as used in configs: 5s, 1m, 1m30s, 2h, 1d."""
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
    total, number = 0.0, ""
    index = 0
    while index < len(text):
        char = text[index]
        if char.isdigit() or char == ".":
            number += char
            index += 1
            continue
        unit = "ms" if text[index:index + 2] == "ms" else char
        if unit not in units or not number:
            raise HatangError(f"not a Prometheus duration: '{text}'")
        total += float(number) * units[unit]
        number, index = "", index + len(unit)
    if number:
        raise HatangError(f"not a Prometheus duration: '{text}' (a unit is missing)")
    return total


def as_utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def device_figures(api: PrometheusApi, start: datetime, end: datetime, step_s: float) -> dict[str, Figures]:
    window = f"{max(1, int((end - start).total_seconds()))}s"
    queries = {
        "up": f"sum by (device) (sum_over_time({SERIES}[{window}]))",
        "samples": f"sum by (device) (count_over_time({SERIES}[{window}]))",
        "incidents": f"sum by (device) (resets({SERIES}[{window}]))",
    }
    answers = {name: {r["metric"].get("device", ""): float(r["value"][1]) for r in api.query(q, end)} for name, q in queries.items()}
    figures = {}
    for device, samples in answers["samples"].items():
        figures[device] = Figures(
            key=device, name=device, up_samples=answers["up"].get(device, 0.0), samples=samples,
            incidents=int(answers["incidents"].get(device, 0)), step_s=step_s,
        )
    return figures


def build_report(inv: Any, prometheus: str, start: datetime, end: datetime, *, step: str | None = None,
                 windows: list[Window] | None = None, planned_policy: str = "exclude") -> SlaReport:
    start, end = as_utc(start), as_utc(end)
    if end <= start:
        raise HatangError(f"--to ({end.isoformat()}) must be after --from ({start.isoformat()})", exit_code=2)
    if step and parse_duration(step) <= 0:
        raise HatangError(f"--step must be a positive duration (e.g. 30s), got '{step}'", exit_code=2)
    api = PrometheusApi(prometheus)
    step_s = parse_duration(step) if step else api.evaluation_interval_s()
    by_device = device_figures(api, start, end, step_s)
    if not by_device:
        raise HatangError(
            f"Prometheus at {prometheus} has no '{SERIES}' samples between {start.isoformat()} and {end.isoformat()}",
            details=["is it running hatang's rules ('hatang monitor config') and scraping the exporter?"],
        )
    from hatang.monitoring.sla_rpo import rpo_figures

    report = SlaReport(start, end, prometheus, step_s, planned_policy=planned_policy, windows=windows or [],
                       rpo=rpo_figures(api, inv, start, end, step_s))
    report.outages = find_outages(api, inv, start, end, step_s, report.windows, margin_s=evidence_margin(api.scrape_interval_s(SNMP_JOB)))
    if planned_policy == "exclude":
        excuse_planned(by_device, report.outages)
    return group(inv, by_device, report)


def excuse_planned(by_device: dict[str, Figures], outages: list[Outage]) -> None:
    """Count the planned part of each outage as available time (policy ``exclude``)."""
    for outage in outages:
        figures = by_device.get(outage.device)
        if outage.planned and figures is not None and figures.step_s:
            figures.up_samples = min(figures.samples, figures.up_samples + outage.duration_s / figures.step_s)


def group(inv: Any, by_device: dict[str, Figures], report: SlaReport) -> SlaReport:
    """Attach devices to their commune, district and service, and pool the groups."""
    districts: dict[str, Figures] = {}
    services: dict[str, Figures] = {}
    for device in inv.routers():
        figures = by_device.get(device.name)
        if figures is None:
            report.without_data.append(device.name)
            continue
        site = inv.sites[device.site]
        district = inv.district_by_code.get(site.district) if site.district else None
        figures.district = district.name if district else ""
        report.devices.append(figures)
        if device.role.value == "commune_cpe":
            report.communes.append(Figures(site.key, display_name(inv, site), figures.district, figures.up_samples, figures.samples, figures.incidents, figures.step_s))
        if district is not None and device.role.value != "core":  # the core serves the province, not its host district
            pooled = districts.setdefault(district.slug, Figures(district.slug, district.name, district.name, step_s=report.step_s, members=0))
            pooled.add(figures)
            pooled.members += 1
        service = SERVICES.get(device.role.value)
        if service:
            pooled = services.setdefault(device.role.value, Figures(device.role.value, service, step_s=report.step_s, members=0))
            pooled.add(figures)
            pooled.members += 1
    report.districts = sorted(districts.values(), key=lambda f: f.key)
    report.units_2025 = group_by_unit(inv, report.devices, Figures, report.step_s)
    report.services = list(services.values())
    report.communes.sort(key=lambda f: (f.availability if f.availability is not None else 2, f.key))
    return report
