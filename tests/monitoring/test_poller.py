"""The poller against a real snmpd on loopback: same values as net-snmp's snmpbulkwalk,
v2c and v3 authPriv, clear failures, one dead target never holding up the others."""

from __future__ import annotations

import asyncio

import pytest
from mon_agent import Agent, free_udp_port, snmpbulkwalk

from hatang.errors import HatangError
from hatang.monitoring import modules as mods
from hatang.monitoring.poller import TargetResult, poll
from hatang.monitoring.snmp import SnmpAuth
from hatang.monitoring.targets import Target


def target(agent: Agent, auth: SnmpAuth, name: str = "agent") -> Target:
    return Target(name=name, address="127.0.0.1", port=agent.port, auth=auth)


def poll_one(agent: Agent, auth: SnmpAuth, module: str, **options) -> TargetResult:
    return asyncio.run(poll([target(agent, auth)], module, timeout=options.pop("timeout", 1.0), retries=options.pop("retries", 1), **options))[0]


def by_oid(result: TargetResult, module: mods.Module) -> dict[str, str]:
    """The result's samples keyed the way snmpbulkwalk keys them: column OID + index."""
    oids = {m.name: m.oid for t in module.tables for m in t.columns}
    index = {m.name: t.index for t in module.tables for m in t.columns}
    return {f"{oids[s.name]}.{s.labels[index[s.name]]}": str(int(s.value)) for s in result.samples if s.name in oids}


@pytest.mark.parametrize("version", ["v2c", "v3"])
def test_if_mib_equals_snmpbulkwalk(agent: Agent, version: str) -> None:
    module = mods.load("if_mib")
    result = poll_one(agent, getattr(agent, version), "if_mib")
    assert result.ok, result.error
    expected: dict[str, str] = {}
    for column in module.tables[0].columns:
        expected.update(snmpbulkwalk(agent.address, agent.cli_auth(version), column.oid))
    got = by_oid(result, module)
    assert set(got) == set(expected)
    volatile = {c.oid for c in module.tables[0].columns if c.type == "counter"}
    for oid, value in expected.items():
        if oid.rsplit(".", 1)[0] in volatile:
            assert int(got[oid]) >= int(value)  # counters only grow between the two reads
        else:
            assert got[oid] == value, oid
    names = snmpbulkwalk(agent.address, agent.cli_auth(version), "1.3.6.1.2.1.31.1.1.1.1")
    rows = result.rows("ifIndex")
    assert {f"1.3.6.1.2.1.31.1.1.1.1.{i}": row["ifName"] for i, row in rows.items()} == names


def test_system_module_scalars(agent: Agent) -> None:
    result = poll_one(agent, agent.v3, "system")
    assert result.ok, result.error
    assert next(s for s in result.samples if s.name == "sysName").labels == {"sysName": "hatang-test-agent"}
    assert result.value("sysUpTime") > 0
    assert result.requests == 1  # all scalars in one GET


def test_small_bulk_repetitions_give_the_same_rows(agent: Agent) -> None:
    """Several columns per GETBULK, many requests: the same table as one big request."""
    from hatang.monitoring.poller import poll_target
    from pysnmp.entity.engine import SnmpEngine

    module = mods.load("if_mib")

    async def both() -> tuple[TargetResult, TargetResult]:
        engine = SnmpEngine()
        try:
            small = await poll_target(engine, target(agent, agent.v2c), module, timeout=1, retries=1, max_repetitions=2)
            large = await poll_target(engine, target(agent, agent.v2c), module, timeout=1, retries=1, max_repetitions=50)
            return small, large
        finally:
            engine.close_dispatcher()

    small, large = asyncio.run(both())
    assert small.requests > large.requests
    status = lambda r: {k: (v["ifName"], v["ifOperStatus"], v["ifAdminStatus"]) for k, v in r.rows("ifIndex").items()}  # noqa: E731
    assert status(small) == status(large) and status(small)


def test_wrong_auth_key_fails_clearly(agent: Agent) -> None:
    wrong = SnmpAuth("v3", username=agent.user, auth_key="not-the-key-123", priv_key=agent.priv_key)
    result = poll_one(agent, wrong, "system", retries=0)
    assert not result.ok and result.samples == []
    assert "authentication failed" in result.error and agent.user in result.error


def test_unknown_user_fails_clearly(agent: Agent) -> None:
    stranger = SnmpAuth("v3", username="nobody", auth_key="whatever-12345", priv_key="whatever-12345")
    result = poll_one(agent, stranger, "system", retries=0)
    assert not result.ok and "does not know SNMPv3 user 'nobody'" in result.error


def test_dead_target_fails_alone(agent: Agent) -> None:
    dead = Target(name="dead", address="127.0.0.1", port=free_udp_port(), auth=agent.v2c)
    live = [target(agent, agent.v2c, f"live-{n}") for n in range(3)]
    finished: list[str] = []
    results = asyncio.run(poll([dead, *live], "system", timeout=0.5, retries=1, concurrency=4, on_result=lambda r: finished.append(r.target)))
    assert [r.target for r in results] == ["dead", "live-0", "live-1", "live-2"]
    assert all(r.ok for r in results[1:])
    assert not results[0].ok and "no SNMP response" in results[0].error and "dead" in results[0].error
    assert finished[-1] == "dead"  # the live ones did not wait for it


def test_unknown_module_names_the_known_ones() -> None:
    with pytest.raises(HatangError, match="unknown SNMP module 'nope'.*if_mib"):
        mods.load("nope")


def test_malformed_module_names_the_file(tmp_path, monkeypatch) -> None:
    (tmp_path / "broken.yaml").write_text("module: broken\nscalars:\n  - {name: x, oid: 1.3.6, type: kilograms}\n")
    monkeypatch.setattr(mods, "MODULES_DIR", tmp_path)
    mods.load.cache_clear()
    try:
        with pytest.raises(HatangError, match="broken.yaml: malformed SNMP module") as caught:
            mods.load("broken")
        assert any("type" in line for line in caught.value.details)
    finally:
        mods.load.cache_clear()


def test_every_shipped_module_loads() -> None:
    assert set(mods.available()) >= {"system", "if_mib", "host"}
    for name in mods.available():
        module = mods.load(name)
        assert module.scalars or module.tables


def test_host_module_storage_equals_snmpbulkwalk(agent: Agent) -> None:
    result = poll_one(agent, agent.v2c, "host")
    assert result.ok, result.error
    walked = snmpbulkwalk(agent.address, agent.cli_auth("v2c"), "1.3.6.1.2.1.25.2.3.1.3")
    rows = result.rows("hrStorageIndex")
    assert {f"1.3.6.1.2.1.25.2.3.1.3.{i}": r["hrStorageDescr"] for i, r in rows.items()} == walked
    assert all(r["hrStorageSize"] >= r["hrStorageUsed"] for r in rows.values() if "hrStorageUsed" in r)
