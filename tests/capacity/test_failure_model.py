"""Storage by its real failure model, thin provisioning and silent defaults (issue 24),
each figure worked out by hand in the test."""

from __future__ import annotations

import json

import pytest

from hatang.cloud.capacity.assumptions import inventory_defaults
from hatang.cloud.capacity.model import allocation_from_vms, capacity
from hatang.cloud.capacity.months import parse_month
from hatang.cloud.capacity.outlook import outlook, storage_warnings
from hatang.cloud.capacity.report import build_report
from hatang.cloud.capacity.rules import Rules, minimum_nodes, needs
from hatang.cloud.capacity.storage import AT_RISK, PoolCapacity, copies, pool_capacity, spread_gb
from hatang.inventory import model as m
from hatang.inventory.load import load

BASE = parse_month("2026-04")


def host(name: str, osd: tuple[int, int] = (1000, 1), local: int = 0, cores: int = 16, ram: int = 128) -> m.Node:
    disks = [m.Disk(role="osd", kind="ssd", size_gb=osd[0], count=osd[1])] if osd[1] else []
    disks += [m.Disk(role="local", kind="ssd", size_gb=local)] if local else []
    return m.Node(name=name, cores=cores, ram_gib=ram, disks=tuple(disks))


def guest(name: str, cls: str, disk_gb: int, pool: str = "ceph", cores: int = 4, ram: int = 16, sizing: str | None = None, ha: bool = True) -> m.Vm:
    spec = m.VmSpec(name=name, cores=cores, memory_mib=ram * 1024, disks=(m.VmDisk(storage=pool, size_gb=disk_gb),), nics=(m.VmNic(vlan=110),), ha=ha)
    return m.Vm(name=name, service=name, service_class=cls, cluster="t", spec=spec, storage_sizing=sizing)


def cluster(nodes: list[m.Node], *storage: m.Storage) -> m.Cluster:
    return m.Cluster(name="t", nodes=tuple(nodes), storage=storage)


# --- Ceph: copies in distinct failure domains ---------------------------------------


def test_pve_core_n2_cannot_re_replicate() -> None:
    """pve-core: 4 hosts × 4 × 3840 GB OSD = 15,360 GB a host, 3 replicas per host, near-full 0.85.
    N: 61,440 ÷ 3 × 0.85 = 17,408 GB; N+1: 46,080 ÷ 3 × 0.85 = 13,056 GB; N+2: 2 hosts
    cannot hold 3 replicas, so no number: "cannot re-replicate: data at risk" (was 8,704)."""
    report = build_report(load(None, "lab"), horizon_years=1, clusters=["pve-core"])
    core = report.clusters[0]
    n, n1, n2 = (core.check("storage:ceph-vm", level) for level in (0, 1, 2))
    assert (n.limit, n.at_risk) == (pytest.approx(17_408), False)
    assert (n1.limit, n1.at_risk) == (pytest.approx(13_056), False)
    assert (n2.limit, n2.at_risk, n2.headroom_pct) == (0, True, None)
    assert n2.runs_out == core.months[0]  # any data in an at-risk pool is over the limit
    assert f"ceph-vm at N+2: {AT_RISK} (2 host(s) left for 3 copies)" in core.warnings


def test_pve_core_report_prints_at_risk_not_a_number(tmp_path, hatang) -> None:
    run = hatang("capacity", "report", "--cluster", "pve-core", "--no-drivers", "--horizon-years", "1", "-o", str(tmp_path))
    assert run.code == 0, run.err
    text = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert f"| storage:ceph-vm | N+2 | {AT_RISK} |" in text
    assert "8,704" not in text
    assert f"pve-core: ceph-vm at N+2: {AT_RISK}" in run.err


def test_unequal_hosts_the_small_ones_bound_the_data() -> None:
    """3 replicas on hosts of 4000, 1000, 1000, 1000 GB (7000 raw). Raw ÷ 3 would say 2333,
    but the big host holds at most one copy of each object, so the three small ones (3000
    GB) must hold the other two copies: D ≤ 3000 ÷ 2 = 1500. Near-full 1: usable 1500."""
    assert spread_gb([4000, 1000, 1000, 1000], 3) == pytest.approx(1500)
    pool = m.Storage(name="ceph", type="rbd", replicas=3, near_full_ratio=1)
    c = cluster([host("a", (4000, 1)), *(host(x) for x in "bcd")], pool)
    assert capacity(c).storage_usable_gb["ceph"] == pytest.approx(1500)
    # N+1 loses the 4000 GB host: 3 × 1000 hold 1000 of data; N+2: 2 hosts, at risk.
    assert capacity(c, 1).storage_usable_gb["ceph"] == pytest.approx(1000)
    assert capacity(c, 2).storage_at_risk == {"ceph"}


def test_erasure_coded_pool_k_plus_m() -> None:
    """EC 2+1 on 4 hosts of 1000 GB, near-full 0.85: each object is 3 chunks of half its
    size on distinct hosts. Chunk space = min(4000 ÷ 3, 3000 ÷ 2, 2000 ÷ 1) = 1333.3, data =
    2 × 1333.3 = 2666.7 → usable 2266.7 GB. N+1: 3 hosts, 1000 a chunk, data 2000 → 1700.
    N+2: 2 hosts cannot hold 3 chunks: at risk."""
    pool = m.Storage(name="ceph", type="rbd", erasure=m.ErasureCode(k=2, m=1), near_full_ratio=0.85)
    c = cluster([host(x) for x in "abcd"], pool)
    assert capacity(c).storage_usable_gb["ceph"] == pytest.approx(4000 / 3 * 2 * 0.85)
    assert capacity(c, 1).storage_usable_gb["ceph"] == pytest.approx(1700)
    assert capacity(c, 2).storage_at_risk == {"ceph"}
    # an EC 4+2 pool needs 6 hosts (+1 for N+1): the recommendation's floor says 7
    wide = m.Storage(name="ceph", type="rbd", erasure=m.ErasureCode(k=4, m=2))
    assert minimum_nodes(cluster([host(x) for x in "abcdef"], wide), [], policy=1) == 7


def test_osds_as_failure_domains_survive_a_host_loss() -> None:
    """Same 3 hosts × 2 × 1000 GB, 3 replicas: with hosts as domains N+1 leaves 2 hosts (at
    risk); with OSDs as domains it leaves 4 OSDs of 1000: min(4000 ÷ 3, 3000 ÷ 2, 2000) ×
    0.85 = 1133.3 GB."""
    nodes = [host(x, (1000, 2)) for x in "abc"]
    by_host = cluster(nodes, m.Storage(name="ceph", type="rbd", replicas=3, near_full_ratio=0.85))
    by_osd = cluster(nodes, m.Storage(name="ceph", type="rbd", replicas=3, failure_domain="osd", near_full_ratio=0.85))
    assert capacity(by_host, 1).storage_at_risk == {"ceph"}
    assert capacity(by_osd, 1).storage_usable_gb["ceph"] == pytest.approx(4000 / 3 * 0.85)


# --- local storage is lost with its node --------------------------------------------


def test_losing_a_node_with_local_storage_guests() -> None:
    """Local disks: a 1000, b 1000, c 2000 GB, near-full 0.85; guests on local-lvm: 3 ×
    400 GB = 1200 GB (4 vCPU, 16 GiB each, not HA: their disks die with their node).
    N: 4000 × 0.85 = 3400 GB. N+1 loses c, the node with most local disk: the guests it
    carried must be restored on a and b: 2000 × 0.85 = 1700 ≥ 1200 holds.
    N+2 leaves one node: 1000 × 0.85 = 850 < 1200 runs out now. The restored guests' RAM
    counts on the survivors too: 3 × 16 = 48 GiB of the 2 × 128 left."""
    local = m.Storage(name="local-lvm", type="lvmthin", shared=False, near_full_ratio=0.85)
    c = cluster([host("a", (0, 0), 1000), host("b", (0, 0), 1000), host("c", (0, 0), 2000)], local)
    vms = [guest(f"l{i}", "standard", 400, pool="local-lvm", ha=False) for i in range(3)]
    need = [needs(allocation_from_vms(vms).demand, Rules(), c)]
    checks = {(k.resource, k.level): k for k in outlook(c, [BASE + 1], need)}
    assert [checks[("storage:local-lvm", lv)].limit for lv in (0, 1, 2)] == pytest.approx([3400, 1700, 850])
    assert checks[("storage:local-lvm", 1)].runs_out is None and checks[("storage:local-lvm", 1)].headroom == pytest.approx(500)
    assert checks[("storage:local-lvm", 2)].runs_out == BASE + 1
    assert not any(k.at_risk for k in checks.values())  # nothing to re-replicate: the survivors take the guests
    assert (checks[("ram", 1)].need_first, checks[("ram", 1)].limit) == (48, 256)


# --- thin provisioning: used beside committed ---------------------------------------


def test_committed_above_n1_usable_is_flagged() -> None:
    """4 hosts × 1000 GB, 3 replicas, near-full 0.9: N 4000 ÷ 3 × 0.9 = 1200 GB usable,
    N+1 3000 ÷ 3 × 0.9 = 900 GB. Guests are given 2 × 500 = 1000 GB of disks (committed)
    but store 600 GB (history). Used fits everywhere; committed 1000 > 900 at N+1 is
    flagged, at N (1000 ≤ 1200) it is not."""
    pool = m.Storage(name="ceph", type="rbd", replicas=3, near_full_ratio=0.9)
    c = cluster([host(x) for x in "abcd"], pool)
    alloc = allocation_from_vms([guest("s1", "standard", 500), guest("s2", "standard", 500)])
    assert alloc.demand.committed_gb == {"ceph": 1000}
    warnings = storage_warnings(c, alloc.demand)
    assert warnings[0] == "ceph at N+1: 1,000 GB committed to guests exceeds the 900 GB usable (thin provisioning: the promised disks do not fit if they fill)"
    assert not any(w.startswith("ceph at N:") for w in warnings)
    assert "ceph at N+2: cannot re-replicate: data at risk (2 host(s) left for 3 copies)" in warnings


def test_pve_core_flags_its_committed_disks() -> None:
    """pve-core gives its guests 14,548 GB of ceph-vm disks; N+1 usable is 13,056 GB."""
    core = build_report(load(None, "lab"), horizon_years=1, clusters=["pve-core"]).clusters[0]
    assert core.baseline.demand.committed_gb["ceph-vm"] == 14_548
    assert "ceph-vm at N+1: 14,548 GB committed to guests exceeds the 13,056 GB usable (thin provisioning: the promised disks do not fit if they fill)" in core.warnings


def test_sizing_policy_takes_the_larger_of_used_and_committed() -> None:
    """A critical guest with a 1000 GB disk and a standard one with 800 GB; 600 GB stored.
    Critical services are sized for their disks by default: need = max(600, 1000) = 1000.
    A critical service stated ``storage_sizing: used`` is sized for the data: 600; a
    standard one stated ``committed``: max(600, 800) = 800."""
    pool = m.Storage(name="ceph", type="rbd", replicas=3, near_full_ratio=0.9)
    c = cluster([host(x) for x in "abcd"], pool)

    def need(*vms: m.Vm) -> float:
        demand = allocation_from_vms(vms).demand
        stored = type(demand)(demand.vcpu, demand.ram_gib, {"ceph": 600.0}, demand.committed_gb, demand.reserved_gb)
        return needs(stored, Rules(), c)["storage:ceph"]

    assert need(guest("crit", "critical", 1000), guest("std", "standard", 800)) == 1000
    assert need(guest("crit", "critical", 1000, sizing="used"), guest("std", "standard", 800)) == 600
    assert need(guest("crit", "critical", 1000, sizing="used"), guest("std", "standard", 800, sizing="committed")) == 800


# --- no silent defaults --------------------------------------------------------------


def test_local_lvm_near_full_default_is_listed_with_its_place() -> None:
    """local-lvm states no near-full ratio: 0.85 is applied (3840 → 3264), and said so."""
    inv = load(None, "lab")
    assumed = {a.what: a for a in inventory_defaults(inv)}
    near_full = assumed["near-full ratio of pve-core/local-lvm"]
    line = inv.sources["datacenter.yaml"].line_of(("clusters", 0, "storage", 1))
    assert (near_full.value, near_full.state_at) == ("0.85", f"{inv.sources['datacenter.yaml'].file}:{line}: clusters[0].storage[1].near_full_ratio")
    # ceph-vm states its ratio and replicas, not its failure domain
    assert "near-full ratio of pve-core/ceph-vm" not in assumed and "copies of pve-core/ceph-vm" not in assumed
    assert assumed["failure domain of pve-core/ceph-vm"].value == "host"
    assert assumed["storage sizing of qlvb (critical)"].value == "committed"
    assert assumed["storage sizing of mail (standard)"].value == "used"


def test_report_and_validate_list_each_default(tmp_path, hatang) -> None:
    run = hatang("capacity", "report", "--no-drivers", "--horizon-years", "1", "--ratio", "critical=1.5", "--policy", "n+1", "--json")
    assert run.code == 0, run.err
    assumed = {a["what"]: a for a in json.loads(run.out)["assumed"]}
    # the command line stated the critical ratio and the policy; the other rules are defaults
    assert "vCPU per physical core, critical" not in assumed and "redundancy the recommendation keeps" not in assumed
    assert (assumed["vCPU per physical core, batch"]["value"], assumed["service life of a server"]["value"]) == ("8", "5 years")
    assert assumed["near-full ratio of pve-core/local-lvm"]["value"] == "0.85"
    validate = hatang("inventory", "validate")
    assert validate.code == 0
    assert "clusters[0].storage[1].near_full_ratio: not stated, near-full ratio of pve-core/local-lvm is assumed 0.85" in validate.err
    inventory_keys = [k for k in assumed if "vCPU" not in k and k not in ("service life of a server", "lead time from order to service", "demand a purchase covers")]
    assert validate.err.count("warning:") == len(inventory_keys)


def test_a_stated_value_is_no_longer_assumed(tmp_path, hatang) -> None:
    import shutil

    from hatang.paths import DEFAULT_INVENTORY

    inv_dir = tmp_path / "inventory"
    shutil.copytree(DEFAULT_INVENTORY, inv_dir, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    dc = inv_dir / "datacenter.yaml"
    dc.write_text(dc.read_text(encoding="utf-8").replace("{name: local-lvm, type: lvmthin, shared: false,", "{name: local-lvm, type: lvmthin, shared: false, near_full_ratio: 0.8,"), encoding="utf-8")
    run = hatang("inventory", "validate", "--inventory", str(inv_dir), "--json")
    assert run.code == 0, run.err
    warnings = json.loads(run.out)["warnings"]
    assert warnings and not any("near-full ratio of pve-core/local-lvm" in w for w in warnings)
    # and the report uses the stated 0.8: 3840 × 0.8 = 3072 GB
    core = build_report(load(inv_dir, "lab"), horizon_years=1, clusters=["pve-core"]).clusters[0]
    assert core.capacity.storage_usable_gb["local-lvm"] == pytest.approx(3072)


def test_each_pool_kind_counts_its_domains_and_copies() -> None:
    """The whole PoolCapacity, by hand: hosts a, b, c with 2 × 1000 GB OSD and 500 GB local,
    d with no OSD and 700 GB local; NFS of 1000 GB."""
    nodes = [host(x, (1000, 2), local=500) for x in "abc"] + [host("d", (0, 0), local=700)]
    ceph = m.Storage(name="ceph", type="rbd", replicas=3, near_full_ratio=0.5)
    # hosts: d carries no OSD, so 3 domains of 2000: 6000 ÷ 3 × 0.5 = 1000
    assert pool_capacity(ceph, nodes) == PoolCapacity(6000, 1000, 3, 3)
    # without a: 2 OSD hosts (d is no domain) for 3 copies → at risk
    assert pool_capacity(ceph, nodes[1:]) == PoolCapacity(4000, 0, 2, 3, at_risk=True)
    # OSDs as domains: 6 of 1000 → 6000 ÷ 3 × 0.5 = 1000; EC 2+2: 4 chunks, data 2 × 6000 ÷ 4 × 0.5 = 1500
    assert pool_capacity(ceph.model_copy(update={"failure_domain": "osd"}), nodes) == PoolCapacity(6000, 1000, 6, 3)
    assert pool_capacity(m.Storage(name="ec", type="rbd", erasure=m.ErasureCode(k=2, m=2), failure_domain="osd", near_full_ratio=0.5), nodes) == PoolCapacity(6000, 1500, 6, 4)
    # local: every node with local disk is a domain; 2200 × 0.8 = 1760
    local = m.Storage(name="local", type="lvmthin", shared=False, near_full_ratio=0.8)
    assert pool_capacity(local, nodes) == PoolCapacity(2200, pytest.approx(1760), 4, 1)
    # NFS does not live on the nodes: its stated size ÷ replicas × near-full, no domains
    nfs = m.Storage(name="nfs", type="nfs", raw_gb=1000, replicas=2, near_full_ratio=0.9)
    assert pool_capacity(nfs, nodes) == PoolCapacity(1000, 450, 0, 2)
    assert (copies(ceph), copies(m.Storage(name="ec", type="rbd", erasure=m.ErasureCode(k=4, m=2)))) == (3, 6)


def test_pool_capacities_are_values_and_count_every_disk() -> None:
    import dataclasses

    # local disks with a count: 2 × 300 GB on one node = 600 GB
    node = m.Node(name="n", cores=4, ram_gib=16, disks=(m.Disk(role="local", kind="ssd", size_gb=300, count=2),))
    pool = pool_capacity(m.Storage(name="local", type="dir", shared=False, near_full_ratio=1), [node])
    assert (pool.raw_gb, pool.usable_gb, pool.at_risk) == (600, 600, False)
    assert pool.at_risk is False
    with pytest.raises(dataclasses.FrozenInstanceError):
        pool.usable_gb = 1.0  # type: ignore[misc]


def test_smallest_domains_and_unsized_shared_storage() -> None:
    # three hosts of a single 1 GB OSD are three domains: 3 ÷ 3 = 1 GB
    tiny = [host(x, (1, 1)) for x in "abc"]
    assert pool_capacity(m.Storage(name="ceph", type="rbd", replicas=3, near_full_ratio=1), tiny) == PoolCapacity(3, 1, 3, 3)
    # shared storage without a stated size offers nothing (and inventory validate says so)
    assert pool_capacity(m.Storage(name="nfs", type="nfs"), tiny) == PoolCapacity(0, 0, 0, 1)
