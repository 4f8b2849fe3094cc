"""Prometheus text exposition of poll results, with snmp_exporter's exact names.

Where prometheus-client forces a difference: its exposition (``generate_latest``)
appends ``_total`` to every counter family, so ``ifHCInOctets`` would be published
as ``ifHCInOctets_total`` and every snmp_exporter dashboard and rule would miss it.
snmp_exporter (Go client, text format 0.0.4) publishes counters under their MIB names
with ``# TYPE ifHCInOctets counter``. hatang builds prometheus-client ``Metric``
families and writes them with :func:`render_families` below, which uses the client's
own escaping and float formatting but keeps the family name as given. The exporter's
own health on ``/metrics`` uses prometheus-client unchanged (``_total`` is right there).
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client.metrics_core import Metric
from prometheus_client.utils import floatToGoString

from hatang.monitoring.poller import TargetResult

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# snmp_exporter's scrape metrics, and hatang's count of values of the wrong type
# (text in a counter column, say), which are left out of the samples but never silently.
SCRAPE_METRICS = (
    ("snmp_scrape_duration_seconds", "Total SNMP time scrape took (walk and processing)."),
    ("snmp_scrape_walk_duration_seconds", "Time SNMP walk/bulkwalk took."),
    ("snmp_scrape_pdus_returned", "PDUs returned from walk."),
    ("snmp_scrape_packets_sent", "Packets sent for get and bulkget, including retries."),
    ("hatang_snmp_scrape_value_errors", "Values left out because their type cannot be their metric's (e.g. text in a counter column)."),
)


def escape_value(value: str) -> str:
    """Label value escaping of the text format: backslash, double quote, newline."""
    return value.replace("\\", r"\\").replace('"', r'\"').replace("\n", r"\n")


def _labels(labels: dict[str, str]) -> str:
    if not labels:
        return ""
    inner = ",".join(f'{key}="{escape_value(value)}"' for key, value in sorted(labels.items()))
    return "{" + inner + "}"


def render_families(families: Iterable[Metric]) -> bytes:
    """Text format 0.0.4 with family names kept exactly (no ``_total`` added). A table
    row's samples share one labels dict: its text is made once per render."""
    lines: list[str] = []
    texts: dict[int, str] = {}
    for family in families:
        doc = family.documentation.replace("\\", r"\\").replace("\n", r"\n")
        lines.append(f"# HELP {family.name} {doc}\n# TYPE {family.name} {family.type}\n")
        for sample in family.samples:
            labels = texts.get(id(sample.labels))
            if labels is None:
                labels = texts[id(sample.labels)] = _labels(sample.labels)
            lines.append(f"{sample.name}{labels} {floatToGoString(sample.value)}\n")
    return "".join(lines).encode("utf-8")


def families(results: Iterable[TargetResult]) -> list[Metric]:
    """Metric families of the results' samples, then snmp_exporter's scrape metrics."""
    by_name: dict[str, Metric] = {}
    seen: set[tuple[str, tuple[tuple[str, str], ...]]] = set()
    results = list(results)
    for result in results:
        for sample in result.samples:
            if len(results) > 1:  # e.g. sysUpTime in both system and if_mib of one scrape
                key = (sample.name, tuple(sorted(sample.labels.items())))
                if key in seen:
                    continue
                seen.add(key)
            family = by_name.get(sample.name)
            if family is None:
                family = by_name[sample.name] = Metric(sample.name, sample.help, sample.type)
            family.add_sample(sample.name, sample.labels, sample.value)
    scrape = {name: Metric(name, doc, "gauge") for name, doc in SCRAPE_METRICS}
    for result in results:
        module = {"module": result.module} if len(results) > 1 else {}
        for name, value in (
            ("snmp_scrape_duration_seconds", result.duration_s),
            ("snmp_scrape_walk_duration_seconds", result.walk_duration_s),
            ("snmp_scrape_pdus_returned", result.pdus_returned),
            ("snmp_scrape_packets_sent", result.requests),
            ("hatang_snmp_scrape_value_errors", result.value_errors),
        ):
            scrape[name].add_sample(name, module, value)
    return [*by_name.values(), *scrape.values()]


def render(results: Iterable[TargetResult]) -> bytes:
    return render_families(families(results))
