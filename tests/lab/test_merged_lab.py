"""The merged province's lab (issue 22): its wiring (no root needed), the inventory
``--size merged`` picks, and the host limits it raises and ``down`` restores."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hatang.inventory import load
from hatang.lab import hostlimits
from hatang.lab.context import LabContext
from hatang.lab.topology import build
from hatang.paths import MERGED_INVENTORY


def test_the_merged_lab_is_every_router_of_the_three_areas_in_one_tree() -> None:
    inv = load(MERGED_INVENTORY, "lab")
    topo = build(inv, "merged")
    assert len(topo.routers) == 547
    assert len(topo.links) == len(topo.routers) - 1  # a tree: the IIC's core at the root
    assert len({r.index for r in topo.routers}) == len(topo.routers)  # host-side names unique
    assert all(len(f"r{r.index}p63") <= 15 for r in topo.routers)
    assert len(topo.wan_prefixes) == 9  # loopbacks, links and LANs of each area, routed via the IIC's core
    assert topo.link("core-iic", "core-phu-tho") and topo.link("core-iic", "core-hoa-binh")


def test_size_merged_reads_the_merged_inventory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HATANG_STATE_DIR", str(tmp_path))
    ctx = LabContext.load("merged")
    assert ctx.inventory.directory == MERGED_INVENTORY
    assert len(ctx.device_names) == 547


@pytest.fixture
def proc_sys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "proc-sys"
    for n, value in ((1, 128), (2, 512), (3, 1024)):
        path = root / "net/ipv4/neigh/default" / f"gc_thresh{n}"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"{value}\n")
    monkeypatch.setattr(hostlimits, "PROC_SYS", root)
    return root


def test_a_large_lab_raises_the_neighbour_table_and_down_restores_it(proc_sys: Path, tmp_path: Path) -> None:
    state = tmp_path / "lab"
    state.mkdir()
    changed = hostlimits.raise_for(547, state)
    assert changed == {f"net.ipv4.neigh.default.gc_thresh{n}": v for n, v in ((3, 1024), (2, 512), (1, 128))}
    assert hostlimits.read("net.ipv4.neigh.default.gc_thresh3") >= 2 * 547 * 2  # two entries a link end, with margin
    assert hostlimits.raise_for(547, state) == {}  # a repeated up: nothing more, the host's values kept
    assert json.loads((state / hostlimits.RECORD).read_text())["net.ipv4.neigh.default.gc_thresh3"] == 1024
    hostlimits.restore(state)
    assert [hostlimits.read(f"net.ipv4.neigh.default.gc_thresh{n}") for n in (1, 2, 3)] == [128, 512, 1024]
    assert not (state / hostlimits.RECORD).exists()


def test_a_lab_that_fits_the_host_changes_nothing(proc_sys: Path, tmp_path: Path) -> None:
    assert hostlimits.raise_for(146, tmp_path) == {}
    assert hostlimits.restore(tmp_path) == {}
    assert hostlimits.read("net.ipv4.neigh.default.gc_thresh3") == 1024


def test_the_push_starts_with_the_core_that_reaches_the_others() -> None:
    """The other areas' cores hang off the IIC's: it is the canary, alone, and every
    router's uplink peer is pushed before it (by name, core-hoa-binh would go first and
    find its uplink peer unconfigured)."""
    from hatang.network.push import plan_waves

    inv = load(MERGED_INVENTORY, "lab")
    waves = plan_waves(inv, [d.name for d in inv.routers()], 50)
    assert waves[0] == ["core-iic"]
    assert waves[1] == ["core-hoa-binh", "core-phu-tho"]
    done: set[str] = set()
    for wave in waves:
        for name in wave:
            uplink = inv.uplink(name)
            assert uplink is None or uplink.peer in done, name
        done.update(wave)
