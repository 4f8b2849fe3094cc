"""The SLA report's parts to the letter: the figures' and the report's JSON, the services
it pools, and its few calls of Prometheus' HTTP API against a real Prometheus (30 s
evaluation, an hour of backfilled history) — the answers used and the errors worded.
The arithmetic-only tests come first: they need no Prometheus."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest
from mon_agent import backfilled_prometheus, free_tcp_port

from hatang.errors import HatangError
from hatang.inventory import load
from hatang.monitoring.maintenance import Window
from hatang.monitoring.sla import SERIES, SERVICES, Figures, PrometheusApi, SlaReport, build_report, device_figures, group, parse_duration

STEP_S = 30
DOWN = range(10, 16)  # the CPE's samples that are 0: six of them (180 s), one incident
CPE, DISTRICT = "cpe-tich-son", "dr-vinh-yen"  # lab routers, so that the report groups them


def test_figures_without_a_step_count_no_time() -> None:
    f = Figures("a", "A", up_samples=1, samples=2)
    assert (f.step_s, f.downtime_min, f.observed_min, f.members) == (0.0, 0.0, 0.0, 1)


def test_figures_round_to_what_the_report_shows() -> None:
    f = Figures("a", "A", up_samples=2, samples=3, incidents=1, step_s=20)  # 20 s down of 60 s observed
    assert f.as_dict() == {"key": "a", "name": "A", "district": "", "availability_pct": 66.6667, "downtime_min": 0.33,
                           "observed_min": 1.0, "incidents": 1, "error_budget_left_pct": -33233.3, "devices": 1}
    assert Figures("b", "B", up_samples=3, samples=4, step_s=20).as_dict()["observed_min"] == 1.33  # 80 s


def test_a_maintenance_window_as_data() -> None:
    start = datetime(2026, 10, 1, tzinfo=timezone.utc)
    window = Window("w1", start, start + timedelta(minutes=30), frozenset({"r2", "r1"}), "fibre splice")
    report = SlaReport(start, start + timedelta(hours=1), "http://127.0.0.1:9090", 60, windows=[window])
    assert report.as_dict()["maintenance_windows"] == [
        {"id": "w1", "start": "2026-10-01T00:00:00+00:00", "end": "2026-10-01T00:30:00+00:00", "devices": ["r1", "r2"], "reason": "fibre splice"}]


def test_years_and_weeks() -> None:
    assert (parse_duration("1y"), parse_duration("2w"), parse_duration("5ms1s")) == (365 * 86400, 14 * 86400, pytest.approx(1.005))


@pytest.mark.parametrize(("text", "message"), [
    ("5x", "not a Prometheus duration: '5x'"), ("1m30", "not a Prometheus duration: '1m30' (a unit is missing)")])
def test_durations_refused_to_the_letter(text: str, message: str) -> None:
    with pytest.raises(HatangError) as refused:
        parse_duration(text)
    assert refused.value.message == message


def test_a_period_and_a_step_are_checked_before_prometheus_is_asked() -> None:
    start = datetime(2026, 10, 1, tzinfo=timezone.utc)
    for end, step, message in (
        (start, None, "--to (2026-10-01T00:00:00+00:00) must be after --from (2026-10-01T00:00:00+00:00)"),
        (start + timedelta(hours=1), "0s", "--step must be a positive duration (e.g. 30s), got '0s'"),
    ):
        with pytest.raises(HatangError) as refused:
            build_report(None, "http://127.0.0.1:9", start, end, step=step)
        assert (refused.value.message, refused.value.exit_code) == (message, 2)


def test_an_empty_report_as_data() -> None:
    start = datetime(2026, 10, 1, tzinfo=timezone.utc)
    assert SlaReport(start, start + timedelta(hours=1), "http://127.0.0.1:9090", 60).as_dict() == {
        "from": "2026-10-01T00:00:00+00:00", "to": "2026-10-01T01:00:00+00:00", "objective_pct": pytest.approx(99.9),
        "prometheus": "http://127.0.0.1:9090", "step_s": 60, "districts": [], "units_2025": [], "communes": [], "services": [],
        "devices": [], "devices_without_data": [], "rpo": [], "planned_policy": "exclude", "maintenance_windows": [], "outages": [],
    }


def test_the_services_pool_their_network_tier() -> None:
    inv = load(None, "lab")
    by_device = {d.name: Figures(d.name, d.name, up_samples=99, samples=100, step_s=60) for d in inv.routers()}
    start = datetime(2026, 10, 1, tzinfo=timezone.utc)
    report = group(inv, by_device, SlaReport(start, start + timedelta(days=1), "http://127.0.0.1:9090", 60))
    assert {s.key: s.name for s in report.services} == {
        "core": "Core network (IIC data center)", "district": "District WAN", "commune_cpe": "Commune WAN (dedicated data network)"}
    assert {s.key: s.members for s in report.services} == {role: sum(d.role.value == role for d in inv.routers()) for role in SERVICES}
    core = next(d for d in inv.routers() if d.role.value == "core")
    host = inv.district_by_code[inv.sites[core.site].district]
    pooled = next(d for d in report.districts if d.key == host.slug)  # the core serves the province, not its host district
    assert pooled.members == sum(1 for d in inv.routers() if d.role.value != "core" and inv.sites[d.site].district == host.code)
    assert {f.key: f.district for f in report.devices}[core.name] == host.name
    assert report.units_2025 and all(u["devices"] >= 1 for u in report.units_2025)
    assert SERIES == "hatang:device_available"  # the recording rule of monitoring/rules (hatang monitor config)


def test_a_router_outside_any_district_has_no_district() -> None:
    inv = load(None, "lab")
    index, cpe = next((i, d) for i, (_, d) in enumerate(inv.devices) if d.name == CPE)
    agency = next(key for key, site in inv.sites.items() if site.kind == "agency" and not site.district)
    moved = dataclasses.replace(inv, devices=[(path, cpe.model_copy(update={"site": agency}) if i == index else d) for i, (path, d) in enumerate(inv.devices)])
    start = datetime(2026, 10, 1, tzinfo=timezone.utc)
    report = group(moved, {CPE: Figures(CPE, CPE, up_samples=1, samples=1, step_s=60)}, SlaReport(start, start + timedelta(days=1), "http://127.0.0.1:9090", 60))
    assert [(f.key, f.district) for f in report.devices] == [(CPE, "")] and report.districts == []


def test_the_api_url_and_its_default_timeout() -> None:
    api = PrometheusApi("http://127.0.0.1:9090/")
    assert (api.url, api.timeout) == ("http://127.0.0.1:9090", 30)
    assert PrometheusApi("http://127.0.0.1:9090/prometheus-X/").url == "http://127.0.0.1:9090/prometheus-X"  # only the slash goes


def test_an_unreachable_prometheus_is_named() -> None:
    url = f"http://127.0.0.1:{free_tcp_port()}"
    with pytest.raises(HatangError) as refused:
        PrometheusApi(url + "/").alerts()
    assert refused.value.message == f"cannot reach Prometheus at {url}: ConnectionError" and "Connection refused" in refused.value.details[0]


def history(start: datetime) -> str:
    lines = ["# TYPE hatang:device_available gauge"]
    for device, down in ((CPE, DOWN), (DISTRICT, range(0))):
        lines += [f'hatang:device_available{{device="{device}"}} {0 if i in down else 1} {int(start.timestamp()) + i * STEP_S}' for i in range(121)]
    return "\n".join(lines) + "\n# EOF\n"


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[PrometheusApi, datetime]]:
    start = (datetime.now(timezone.utc) - timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
    with backfilled_prometheus(tmp_path_factory.mktemp("prometheus"), history(start), evaluation_interval="30s") as url:
        yield PrometheusApi(url), start


def test_the_evaluation_interval_is_read_from_prometheus(prometheus: tuple[PrometheusApi, datetime]) -> None:
    api, _ = prometheus
    assert api.evaluation_interval_s() == STEP_S


def test_a_query_is_evaluated_at_the_time_given(prometheus: tuple[PrometheusApi, datetime]) -> None:
    api, start = prometheus
    during = api.query(SERIES, start + timedelta(minutes=30))
    assert sorted((r["metric"]["device"], r["value"][1]) for r in during) == [(CPE, "1"), (DISTRICT, "1")]
    assert api.query(SERIES, start - timedelta(hours=1)) == []
    assert api.alerts() == []  # no alerting rules here


def test_device_figures_from_the_history(prometheus: tuple[PrometheusApi, datetime]) -> None:
    api, start = prometheus
    figures = device_figures(api, start, start + timedelta(hours=1), STEP_S)
    r1, r2 = figures[CPE], figures[DISTRICT]
    assert sorted(figures) == [CPE, DISTRICT] and r1.samples == r2.samples and r1.samples in (120, 121)
    assert (r1.samples - r1.up_samples, r1.incidents, r1.step_s) == (len(DOWN), 1, STEP_S)
    assert (r2.up_samples, r2.incidents) == (r2.samples, 0)
    assert r1.downtime_min == pytest.approx(len(DOWN) * STEP_S / 60)


def test_prometheus_refusals_are_worded(prometheus: tuple[PrometheusApi, datetime]) -> None:
    api, start = prometheus
    with pytest.raises(HatangError) as refused:
        api.query("sum(", start)
    assert refused.value.message.startswith("Prometheus refused /api/v1/query: bad_data invalid parameter \"query\": ")
    elsewhere = PrometheusApi(f"{api.url}/nowhere")
    with pytest.raises(HatangError) as refused:
        elsewhere.query(SERIES, start)
    assert refused.value.message == f"Prometheus at {api.url}/nowhere answered HTTP 404 without JSON on /api/v1/query"


def test_a_report_from_prometheus(prometheus: tuple[PrometheusApi, datetime]) -> None:
    api, start = prometheus
    inv = load(None, "lab")
    report = build_report(inv, api.url, start, start + timedelta(hours=1))
    assert (report.step_s, report.planned_policy, report.windows) == (STEP_S, "exclude", [])
    cpe = next(f for f in report.devices if f.key == CPE)
    assert cpe.downtime_min == pytest.approx(len(DOWN) * STEP_S / 60) and cpe.district == "Vĩnh Yên"
    assert [(o.device, o.site_name, o.duration_s) for o in report.outages] == [(CPE, "Phường Vĩnh Yên, Tích Sơn cũ", len(DOWN) * STEP_S)]
    assert sorted(report.without_data) == sorted(d.name for d in inv.routers() if d.name not in (CPE, DISTRICT))
    assert build_report(inv, api.url, start, start + timedelta(hours=1), step="1s").step_s == 1


def test_a_planned_window_over_part_of_an_outage(prometheus: tuple[PrometheusApi, datetime]) -> None:
    """The window covers the first half (90 s) of the CPE's 180 s outage: excluded, 90 s
    stay downtime; included, all 180 s do."""
    api, start = prometheus
    inv = load(None, "lab")
    down_at = start + timedelta(seconds=DOWN[0] * STEP_S)
    window = Window("splice", down_at, down_at + timedelta(seconds=90), frozenset({CPE}), "fibre splice")
    downtime = {}
    for policy in ("exclude", "include"):
        report = build_report(inv, api.url, start, start + timedelta(hours=1), windows=[window], planned_policy=policy)
        assert report.windows == [window] and report.planned_policy == policy
        downtime[policy] = next(f for f in report.devices if f.key == CPE).downtime_min
    assert downtime == {"exclude": pytest.approx(1.5), "include": pytest.approx(3.0)}


def test_a_period_without_samples_says_so(prometheus: tuple[PrometheusApi, datetime]) -> None:
    api, start = prometheus
    before = start - timedelta(days=3)
    with pytest.raises(HatangError) as refused:
        build_report(load(None, "lab"), api.url, before, before + timedelta(hours=1))
    assert refused.value.message == (f"Prometheus at {api.url} has no 'hatang:device_available' samples between "
                                     f"{before.isoformat()} and {(before + timedelta(hours=1)).isoformat()}")
    assert refused.value.details == ["is it running hatang's rules ('hatang monitor config') and scraping the exporter?"]
