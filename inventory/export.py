"""Exports of the inventory for the tools that consume it, each in that tool's own format.

Only names of credentials travel; values are resolved by whoever runs the tool.

Exports are data, never code: the pyinfra module holds only assignments of literals
(every string is a ``repr``, every group name a checked identifier, and the module is
parsed back to prove it); the Ansible inventory marks every inventory string
``!unsafe``, so Ansible never runs it as a template.
"""

from __future__ import annotations

import ast
import json
import keyword
import re
from collections.abc import Callable

import yaml

from hatang.errors import InventoryError
from hatang.inventory import model as m
from hatang.inventory import reorganisation
from hatang.inventory.inventory import Inventory

#: napalm driver names and Ansible network OS per platform.
NAPALM_DRIVER = {m.Platform.frr: "frr", m.Platform.ios: "ios", m.Platform.eos: "eos", m.Platform.junos: "junos", m.Platform.huawei_vrp: "huawei_vrp"}
ANSIBLE_NETWORK_OS = {
    m.Platform.frr: "cisco.ios.ios",  # vtysh speaks a Cisco-like CLI
    m.Platform.ios: "cisco.ios.ios",
    m.Platform.eos: "arista.eos.eos",
    m.Platform.junos: "junipernetworks.junos.junos",
    m.Platform.huawei_vrp: "community.network.ce",
}


_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _group_name(text: str) -> str:
    """A group name for pyinfra (a Python variable) and Ansible: letters, digits, ``_``."""
    name = text.replace("-", "_")
    if not _IDENTIFIER.fullmatch(name) or keyword.iskeyword(name):
        raise InventoryError(f"cannot export group {text!r}: a group name must be letters, digits, '-' and '_'")
    return name


def _literal_module(text: str) -> str:
    """``text`` if it is nothing but ``name = <literal>`` assignments (and the docstring)."""
    for statement in ast.parse(text).body:
        if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant):
            continue
        if not (isinstance(statement, ast.Assign) and len(statement.targets) == 1 and isinstance(statement.targets[0], ast.Name)):
            raise InventoryError(f"the pyinfra export would hold code at line {statement.lineno}; nothing written")
        ast.literal_eval(statement.value)
    return text


class Unsafe(str):
    """A string Ansible must never template (YAML tag ``!unsafe``)."""


class _AnsibleDumper(yaml.SafeDumper):
    def ignore_aliases(self, data: object) -> bool:
        return True  # each host's variables written out, not as YAML aliases


_AnsibleDumper.add_representer(Unsafe, lambda dumper, value: dumper.represent_scalar("!unsafe", str(value), style="'"))


def _unsafe(value: object) -> object:
    """Inventory data for Ansible: strings (also inside lists) marked ``!unsafe``."""
    if isinstance(value, str):
        return Unsafe(value)
    if isinstance(value, (list, tuple)):
        return [_unsafe(v) for v in value]
    return value


def device_data(inv: Inventory, device: m.Device) -> dict:
    site = inv.sites[device.site]
    district = inv.district_by_code.get(site.district or "")
    assignment = reorganisation.assignment(inv, site)
    unit = assignment.unit if assignment else None
    return {
        "site": device.site,
        "site_name": reorganisation.display_name(inv, site),
        "gso_code": site.code,
        "district": district.slug if district else None,
        "region": district.slug if district else None,
        "commune_2025": unit.name if unit else None,
        "commune_2025_code": unit.code if unit else None,
        "role": device.role.value,
        "platform": inv.platform(device).value,
        "loopback": str(inv.loopback(device.name)) if device.role != m.Role.firewall else None,
        "credentials": device.credentials,
    }


def pyinfra(inv: Inventory) -> dict[str, str]:
    """A pyinfra inventory module: one list per group of (name, data) tuples."""
    groups: dict[str, list[tuple[str, dict]]] = {}
    for host in inv.linux_hosts():
        data = {"ssh_hostname": str(host.address.ip), "kind": host.kind, "roles": list(host.roles), "service": host.service, "cluster": host.cluster}
        for group in host.groups:
            groups.setdefault(_group_name(group), []).append((host.name, data))
        for role in host.roles:
            groups.setdefault(f"role_{_group_name(role)}", []).append((host.name, data))
    lines = [
        f'"""pyinfra inventory of the {inv.env} environment, exported by hatang. Do not edit."""',
        "",
    ]
    for group, members in sorted(groups.items()):
        lines.append(f"{group} = [")
        lines.extend(f"    ({name!r}, {data!r})," for name, data in members)
        lines.append("]")
        lines.append("")
    return {"inventory.py": _literal_module("\n".join(lines))}


def groups_of(device: m.Device, data: dict) -> list[str]:
    """A device's Nornir groups: its role, its district (kept so existing selections keep
    working), its network region, and its 2025 unit."""
    member_of = [f"role_{device.role.value}"]
    if data["district"]:
        member_of.append(f"district_{_group_name(data['district'])}")
        member_of.append(f"region_{_group_name(data['region'])}")
    if data["commune_2025_code"]:
        member_of.append(f"commune_2025_{data['commune_2025_code']}")
    return member_of


def prometheus_labels(inv: Inventory, device: m.Device, data: dict) -> dict[str, str]:
    """A target's labels. ``district``, ``site`` and ``gso_code`` stay as they were, so the
    time series continue; ``commune_2025`` and ``region`` are added."""
    return {
        "device": device.name,
        "site": data["site"],
        "role": data["role"],
        "district": data["district"] or "",
        "gso_code": data["gso_code"] or "",
        "region": data["region"] or "",
        "commune_2025": data["commune_2025"] or "",
        "commune_2025_code": data["commune_2025_code"] or "",
        "environment": inv.env,
    }


def nornir(inv: Inventory) -> dict[str, str]:
    """Nornir's SimpleInventory: hosts.yaml, groups.yaml, defaults.yaml."""
    hosts = {}
    groups: dict[str, dict] = {}
    for device in inv.device_by_name.values():
        data = device_data(inv, device)
        member_of = groups_of(device, data)
        for group in member_of:
            groups.setdefault(group, {"data": {}})
        hosts[device.name] = {
            "hostname": str(inv.mgmt(device.name).ip),
            "platform": NAPALM_DRIVER[inv.platform(device)],
            "groups": member_of,
            "data": data,
        }
    defaults = {"data": {"environment": inv.env}, "connection_options": {"napalm": {"extras": {"optional_args": {}}}}}
    dump = lambda doc: yaml.safe_dump(doc, sort_keys=True, allow_unicode=True)  # noqa: E731
    return {"hosts.yaml": dump(hosts), "groups.yaml": dump(dict(sorted(groups.items()))), "defaults.yaml": dump(defaults)}


def ansible(inv: Inventory) -> dict[str, str]:
    """An Ansible YAML inventory: network devices (network_cli) and Linux servers."""
    children: dict[str, dict] = {}

    def add(group: str, host: str, variables: dict) -> None:
        children.setdefault(_group_name(group), {"hosts": {}})["hosts"][host] = variables

    for device in inv.device_by_name.values():
        data = device_data(inv, device)
        variables = {
            "ansible_host": str(inv.mgmt(device.name).ip),
            "ansible_connection": "ansible.netcommon.network_cli",
            "ansible_network_os": ANSIBLE_NETWORK_OS[inv.platform(device)],
            **{f"hatang_{key}": _unsafe(data[key]) for key in ("role", "site", "site_name", "gso_code", "credentials")},
        }
        add(f"role_{device.role.value}", device.name, variables)
    for host in inv.linux_hosts():
        variables = {"ansible_host": str(host.address.ip), "hatang_kind": _unsafe(host.kind), "hatang_roles": _unsafe(list(host.roles))}
        for group in host.groups:
            add(group, host.name, variables)
    network = {name: {} for name in children if name.startswith("role_")}
    servers = {name: {} for name in children if not name.startswith("role_")}
    doc = {
        "all": {
            "vars": {"hatang_environment": inv.env},
            "children": {
                "network": {"children": network},
                "servers": {"children": servers},
                **children,
            },
        }
    }
    return {"inventory.yml": yaml.dump(doc, Dumper=_AnsibleDumper, sort_keys=False, allow_unicode=True)}


def prometheus_sd(inv: Inventory) -> dict[str, str]:
    """Prometheus file_sd targets: one entry per device, labelled for rules and reports."""
    targets = []
    for device in inv.device_by_name.values():
        labels = prometheus_labels(inv, device, device_data(inv, device))
        targets.append({"targets": [str(inv.mgmt(device.name).ip)], "labels": labels})
    return {"targets.json": json.dumps(targets, indent=2, ensure_ascii=False) + "\n"}


EXPORTERS: dict[str, Callable[[Inventory], dict[str, str]]] = {
    "pyinfra": pyinfra,
    "nornir": nornir,
    "ansible": ansible,
    "prometheus-sd": prometheus_sd,
}


def export(inv: Inventory, fmt: str) -> dict[str, str]:
    """The files of export ``fmt``, by file name."""
    return EXPORTERS[fmt](inv)
