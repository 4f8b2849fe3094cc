"""Every outage interval of every router over a period, and its cause.

An outage is a run of ``hatang:device_available`` samples at 0 (the IIC's ICMP probe of
the router's loopback failed, every 5 s): it starts at the first failed sample and ends
at the first good one after it, so its duration is true to one probe interval. Only the
stretches that hold a failure are fetched as raw samples (6 h chunks, found with one
``min_over_time`` query per chunk), so a month of a province stays a bounded number of
queries.

The cause comes from the other signals, looked at around the outage once things have
settled (SNMP scrapes are slower than probes, so the evidence runs from
:data:`MARGIN_SCRAPES` SNMP scrape intervals before the outage, the last answers of
routers about to go silent, to as many after it, their first answers; ``ifLastChange``
and ``sysUpTime`` keep what happened between two scrapes). An outage whose evidence
window has not passed yet is not ``settled``: its cause may still change.

- **planned change**: the part inside a declared maintenance window (``maintenance.py``);
- **upstream**: the router it hangs from was unreachable when it went;
- **power**: the router restarted (sysUpTime went back), or it was silent over SNMP for
  most of the outage while the far ends of all its WAN links saw them drop: two or more
  links at once, or the one link of a router managed out of band. A router managed in
  band is silent whenever its uplink is cut, and a cut of its only link looks the same
  from the far end as a power loss: without a restart, that is a link. What the router's
  own ports say is no evidence either way: a router coming back sees its ports come up;
- **link**: a WAN port of the router, or the far end's port facing it, went down or
  changed state (ifOperStatus, ifLastChange);
- **unknown**: none of these.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from hatang.errors import HatangError
from hatang.inventory.reorganisation import display_name
from hatang.monitoring.areas import placements
from hatang.monitoring.maintenance import Window, split

SERIES = "hatang:device_available"
CHUNK_S = 6 * 3600
OVERLAP_S = 120  # fetched past each chunk, so an outage ending just after it has its end
SNMP_JOB = "snmp"
MARGIN_SCRAPES = 3  # SNMP evidence is looked at this many scrape intervals either side of the outage
MAX_FETCHES = 2000
MAX_CLASSIFIED = 500  # each costs a few queries; past this a report lists the rest as "unknown"
CAUSES = ("link", "power", "upstream", "planned change", "unknown")


@dataclass
class Outage:
    device: str
    site: str
    site_name: str
    district: str
    start: datetime
    end: datetime
    ongoing: bool = False
    cause: str = "unknown"
    detail: str = ""
    window: str = ""
    settled: bool = True

    @property
    def duration_s(self) -> float:
        return (self.end - self.start).total_seconds()

    @property
    def planned(self) -> bool:
        return self.cause == "planned change"

    def as_dict(self) -> dict[str, Any]:
        return {
            "device": self.device, "site": self.site, "name": self.site_name, "district": self.district,
            "start": self.start.isoformat(), "end": self.end.isoformat(), "duration_s": round(self.duration_s, 1),
            "ongoing": self.ongoing, "cause": self.cause, "settled": self.settled, "detail": self.detail, "maintenance_window": self.window,
        }


def intervals(samples: list[tuple[float, float]], period_end: float) -> list[tuple[float, float, bool]]:
    """Runs of 0 in time-ordered (timestamp, value) samples: (start, end, ongoing)."""
    found: list[tuple[float, float, bool]] = []
    down_since: float | None = None
    for stamp, value in samples:
        if value == 0 and down_since is None:
            down_since = stamp
        elif value != 0 and down_since is not None:
            found.append((down_since, stamp, False))
            down_since = None
    if down_since is not None:
        found.append((down_since, period_end, True))
    return found


def _chunks(start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    chunks, cursor = [], start
    while cursor < end:
        nxt = min(end, cursor + timedelta(seconds=CHUNK_S))
        chunks.append((cursor, nxt))
        cursor = nxt
    return chunks


def raw_samples(api: Any, start: datetime, end: datetime) -> dict[str, list[tuple[float, float]]]:
    """The raw availability samples of every device that failed at least once, by device."""
    wanted: list[tuple[str, datetime, datetime]] = []
    for chunk_start, chunk_end in _chunks(start, end):
        seconds = max(1, int((chunk_end - chunk_start).total_seconds()))
        failing = api.query(f"min by (device) (min_over_time({SERIES}[{seconds}s])) == 0", chunk_end)
        wanted += [(r["metric"].get("device", ""), chunk_start, chunk_end) for r in failing]
    if len(wanted) > MAX_FETCHES:
        raise HatangError(f"more than {MAX_FETCHES} device-chunks with outages between {start.isoformat()} and {end.isoformat()}",
                          details=["ask for a shorter period (--from/--to)"])
    by_device: dict[str, dict[float, float]] = {}
    for device, chunk_start, chunk_end in wanted:
        until = min(end, chunk_end + timedelta(seconds=OVERLAP_S))
        seconds = max(1, int((until - chunk_start).total_seconds()))
        for series in api.query(f'{SERIES}{{device="{device}"}}[{seconds}s]', until):
            for stamp, value in series.get("values", []):
                by_device.setdefault(device, {})[float(stamp)] = float(value)
    return {device: sorted(samples.items()) for device, samples in by_device.items()}


def _seen_changing(api: Any, devices: list[str], since: datetime, at: datetime) -> set[tuple[str, str]]:
    """(device, ifName) of the ports that went down or changed state between ``since`` and ``at``."""
    seconds = max(1, int((at - since).total_seconds()))
    names = "|".join(devices)
    query = (f'count by (device, ifName) ((max_over_time(ifOperStatus{{job="snmp", device=~"{names}"}}[{seconds}s]) > 1)'
             f' or (changes(ifLastChange{{job="snmp", device=~"{names}"}}[{seconds}s]) > 0))')
    return {(r["metric"].get("device", ""), r["metric"].get("ifName", "")) for r in api.query(query, at)}


def _monitored(api: Any, devices: list[str], since: datetime, at: datetime) -> set[str]:
    """Those of ``devices`` whose interfaces Prometheus has around the outage."""
    if not devices:
        return set()
    seconds = max(1, int((at - since).total_seconds()))
    names = "|".join(devices)
    query = " or ".join(f'count by (device) (count_over_time({metric}{{job="snmp", device=~"{names}"}}[{seconds}s]))'
                        for metric in ("ifOperStatus", "ifLastChange"))
    return {r["metric"].get("device", "") for r in api.query(query, at)}


def _scalar(api: Any, query: str, at: datetime) -> float | None:
    result = api.query(query, at)
    return float(result[0]["value"][1]) if result else None


def evidence_margin(snmp_scrape_s: float) -> float:
    """How far either side of an outage its SNMP evidence lies: the last scrapes of the
    routers it silenced, and their first scrapes once they answer again."""
    return MARGIN_SCRAPES * snmp_scrape_s


def classify(api: Any, inv: Any, outage: Outage, upstream_outages: list[Outage], step_s: float, now: datetime, margin_s: float) -> None:
    """Set ``outage.cause``, ``detail`` and ``settled`` from the upstream's outages and SNMP evidence."""
    margin = timedelta(seconds=margin_s)
    outage.settled = not outage.ongoing and now >= outage.end + margin
    slack = timedelta(seconds=step_s)
    for up in upstream_outages:
        if up.start <= outage.start + slack and up.end >= outage.start:
            outage.cause, outage.detail = "upstream", f"{up.device} unreachable from {up.start:%H:%M:%S}"
            return
    since, at = outage.start - margin, min(now, outage.end + margin)
    seconds = max(1, int((at - since).total_seconds()))
    if (_scalar(api, f'sum(resets(sysUpTime{{job="snmp", device="{outage.device}"}}[{seconds}s]))', at) or 0) > 0:
        outage.cause, outage.detail = "power", f"{outage.device} restarted (sysUpTime went back)"
        return
    wan = [p for p in inv.ports(outage.device) if p.kind in ("uplink", "downlink") and p.peer]
    watched = _monitored(api, [p.peer for p in wan], since, at)  # a lab, or a site not yet onboarded, has fewer
    far = {(p.peer, next((q.name for q in inv.ports(p.peer) if q.peer == outage.device), "")) for p in wan if p.peer in watched}
    changed = _seen_changing(api, sorted({outage.device, *(peer for peer, _ in far)}), since, at)
    own = sorted(name for device, name in changed if device == outage.device and name in {p.name for p in wan})
    far_seen = sorted(f"{peer} {port}" for peer, port in far if (peer, port) in changed)
    during = max(1, int(outage.duration_s))
    # silent: its SNMP failed most of the outage (it may answer just before its loopback does)
    answered = _scalar(api, f'avg(avg_over_time(up{{job="snmp", device="{outage.device}"}}[{during}s]))', outage.end)
    silent = answered is not None and answered < 0.5
    every_link = bool(far) and len(far_seen) == len(far)
    if silent and every_link and (len(far) > 1 or not inv.in_band(outage.device)):
        outage.cause, outage.detail = "power", f"silent while every link dropped at its far end ({', '.join(far_seen)})"
    elif own or far_seen:
        outage.cause = "link"
        outage.detail = "; ".join(x for x in (f"{outage.device} {', '.join(own)} down" if own else "",
                                              f"far end {', '.join(far_seen)} down" if far_seen else "",
                                              "no restart seen: from the far end, its only link lost looks like a power loss" if silent and every_link and not own else "") if x)


def find_outages(api: Any, inv: Any, start: datetime, end: datetime, step_s: float, windows: list[Window], margin_s: float) -> list[Outage]:
    """Every outage of the period, cut at maintenance windows, with its cause; by start."""
    now = datetime.now(timezone.utc)
    places = placements(inv)
    whole: dict[str, list[Outage]] = {}
    for device, samples in raw_samples(api, start, end).items():
        if device not in places:
            continue
        site = inv.sites[inv.device(device).site]
        district = inv.district_by_code.get(site.district or "")
        for s, e, ongoing in intervals(samples, end.timestamp()):
            whole.setdefault(device, []).append(Outage(
                device, site.key, display_name(inv, site), district.name if district else "",
                datetime.fromtimestamp(s, timezone.utc), datetime.fromtimestamp(e, timezone.utc), ongoing))
    result: list[Outage] = []
    classified = 0
    for device, outages in whole.items():
        for outage in outages:
            if classified < MAX_CLASSIFIED:
                classify(api, inv, outage, whole.get(places[device].upstream, []), step_s, now, margin_s)
                classified += 1
            else:
                outage.detail = f"not classified: more than {MAX_CLASSIFIED} outages in the period"
            for piece_start, piece_end, window in split(device, outage.start, outage.end, windows):
                piece = Outage(**{**outage.__dict__, "start": piece_start, "end": piece_end, "ongoing": outage.ongoing and piece_end == outage.end})
                if window is not None:
                    piece.cause, piece.window = "planned change", window.id
                    piece.detail = window.reason or piece.detail
                result.append(piece)
    return sorted(result, key=lambda o: (o.start, o.device))
