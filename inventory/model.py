"""The inventory's typed records, one class per kind of thing the province owns.

Every record rejects unknown keys, so a typo in the YAML is an error, not a silent
default. Addresses are not here: they live in the per-environment address plan
(:mod:`hatang.inventory.addressing`), so one inventory serves production and the lab.
"""

from __future__ import annotations

import re
from enum import Enum
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictInt, StringConstraints, field_validator

from hatang.inventory.text import Tag, Text, checked

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length=40)]
ENVIRONMENTS = ("production", "lab")
Environment = Literal["production", "lab"]


class Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- the province -----------------------------------------------------------------


class Province(Record):
    code: Annotated[str, StringConstraints(pattern=r"^\d{2}$")]
    name: Text
    slug: Slug


class Area(Record):
    """A former province merged into this one in 2025 (the merged inventory only): its
    data center (a site key) and, through its districts' ``area``, its network. Each area
    has its own WAN supernets in the address plan."""

    slug: Slug
    code: Annotated[str, StringConstraints(pattern=r"^\d{2}$")]
    name: Text
    datacenter: Slug
    district: Annotated[str, StringConstraints(pattern=r"^\d{3}$")]


class District(Record):
    """A district-level unit (thành phố, thị xã, huyện) with its GSO code."""

    code: Annotated[str, StringConstraints(pattern=r"^\d{3}$")]
    name: Text
    type: Literal["thanh-pho", "thi-xa", "huyen"]
    slug: Slug
    area: Slug | None = None  # the former province (an ``areas`` slug), in the merged inventory


class Commune(Record):
    """A commune-level unit (xã, phường, thị trấn) with its GSO code and district."""

    code: Annotated[str, StringConstraints(pattern=r"^\d{5}$")]
    name: Text
    type: Literal["xa", "phuong", "thi-tran"]
    slug: Slug
    district: Annotated[str, StringConstraints(pattern=r"^\d{3}$")]


class Agency(Record):
    """A provincial agency on the dedicated data network."""

    slug: Slug
    name: Text
    name_en: Text
    fibre: bool = True
    portal: bool = True


# --- the network ------------------------------------------------------------------


class Role(str, Enum):
    core = "core"
    district = "district"
    commune_cpe = "commune_cpe"
    firewall = "firewall"


class Management(str, Enum):
    """How hatang reaches a device: over the WAN to its loopback (``in-band``, every
    district and commune: there is no separate management circuit to them), or on the
    IIC's own management network (``out-of-band``, the data center's devices)."""

    in_band = "in-band"
    out_of_band = "out-of-band"


class Platform(str, Enum):
    frr = "frr"
    ios = "ios"
    eos = "eos"
    junos = "junos"
    huawei_vrp = "huawei_vrp"


_OS_VERSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9.()_+:/-]{0,63}")


def _os_version(value: str) -> str:
    if not _OS_VERSION.fullmatch(value):
        raise ValueError(f"{value!r} is not a software version: one word of up to 64 letters, digits and . ( ) _ + : / -, "
                         "starting with a letter or digit, as the vendor writes it (15.9(3)M7, 17.9.4a, 4.30.2F, 23.2R1-S1.6, V200R010C10SPC700)")
    return value


#: A software version as the vendor writes it (``15.9(3)M7``, ``17.9.4a``, ``4.30.2F``,
#: ``23.2R1-S1.6``, ``V200R010C10SPC700``).
OsVersion = Annotated[str, AfterValidator(checked), AfterValidator(_os_version)]


class Device(Record):
    """A network device. ``platform`` is its production platform; in the lab every
    router is FRRouting. ``model`` and ``os_version`` describe the production device:
    ``hatang net preflight`` compares them with what the router reports (the version by
    :func:`hatang.network.state.readers.version_matches`: ``15.9(3)M`` accepts
    ``15.9(3)M7``)."""

    name: Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length=48)]
    site: Text
    role: Role
    platform: Platform
    model: Text = ""
    os_version: OsVersion = Field(default="", description="the software version the router must run (a leading part is enough: 15.9(3)M accepts 15.9(3)M7)")
    credentials: Text = "net-admin"
    environments: tuple[Environment, ...] = ENVIRONMENTS
    lan_port: StrictInt | None = Field(default=None, ge=0, description="port carrying the site LAN, if any")
    management: Management | None = Field(default=None, description="overrides the role's management mode")
    mgmt_lan_port: StrictInt | None = Field(default=None, ge=0, description="the core's port on the IIC management network: the in-band path into the WAN")


class LinkEnd(Record):
    device: Text
    port: StrictInt = Field(ge=0, le=63)


class Link(Record):
    """A point-to-point link of the dedicated data network."""

    a: LinkEnd
    b: LinkEnd
    kind: Literal["wan"] = "wan"
    medium: Literal["fibre", "leased", "radio"] = "fibre"
    bandwidth_mbps: StrictInt = Field(default=100, gt=0)

    @property
    def id(self) -> str:
        return f"{self.a.device}--{self.b.device}"


# --- the data center --------------------------------------------------------------


class Disk(Record):
    role: Literal["os", "osd", "local"]
    kind: Literal["ssd", "nvme", "hdd"]
    size_gb: StrictInt = Field(gt=0)
    count: StrictInt = Field(default=1, gt=0)


class Node(Record):
    """A Proxmox VE node: a physical server."""

    name: Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")]
    cores: StrictInt = Field(gt=0, description="physical cores")
    threads_per_core: StrictInt = Field(default=2, ge=1, le=2)
    ram_gib: StrictInt = Field(gt=0)
    disks: tuple[Disk, ...] = ()
    model: Text = ""
    purchased: StrictInt | None = Field(default=None, description="year the server was bought")


class ErasureCode(Record):
    """An erasure-coded pool's profile: ``k`` data chunks and ``m`` coding chunks per object."""

    k: StrictInt = Field(ge=1, le=16)
    m: StrictInt = Field(ge=1, le=8)


class Storage(Record):
    """A Proxmox storage. Ceph (``rbd``) capacity is the cluster's ``osd`` disks; other
    shared storage states ``raw_gb``; ``local`` storage is per node.

    A Ceph pool keeps ``replicas`` copies (or, with ``erasure``, k+m chunks) of each
    object in distinct ``failure_domain`` units (hosts, as Ceph's default CRUSH rule, or
    single OSDs). Defaults the inventory leaves unstated are listed by the capacity
    report and warned about by ``inventory validate``: ``model_fields_set`` tells them apart.
    """

    name: Text
    type: Literal["rbd", "lvmthin", "zfspool", "dir", "nfs"]
    shared: bool = True
    raw_gb: StrictInt | None = Field(default=None, gt=0)
    replicas: StrictInt = Field(default=1, ge=1, le=5)
    erasure: ErasureCode | None = None
    failure_domain: Literal["host", "osd"] = "host"
    near_full_ratio: float = Field(default=0.85, gt=0, le=1)
    content: tuple[Literal["images", "rootdir", "backup", "iso", "vztmpl"], ...] = ("images", "rootdir")


class Vlan(Record):
    id: StrictInt = Field(ge=1, le=4094)
    name: Slug
    purpose: Text


class Cluster(Record):
    name: Slug
    nodes: tuple[Node, ...] = Field(min_length=1)
    storage: tuple[Storage, ...]
    vlans: tuple[StrictInt, ...] = ()


class Datacenter(Record):
    name: Text
    site: Slug
    district: Text
    ntp_servers: tuple[Text, ...] = ("ntp1", "ntp2")
    syslog_server: Text = "syslog"


# --- services ---------------------------------------------------------------------


class VmDisk(Record):
    storage: Text
    size_gb: StrictInt = Field(gt=0)


class VmNic(Record):
    vlan: StrictInt = Field(ge=1, le=4094)


class VmSpec(Record):
    """One VM or container definition; ``count`` > 1 makes ``name-01`` … ``name-NN``."""

    name: Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length=40)]
    kind: Literal["qemu", "lxc"] = "qemu"
    count: StrictInt = Field(default=1, ge=1, le=99)
    template: Text = "debian-12-cloud"
    cores: StrictInt = Field(gt=0, le=128)
    memory_mib: StrictInt = Field(gt=0)
    disks: tuple[VmDisk, ...]
    nics: tuple[VmNic, ...]
    ha: bool = False
    anti_affinity: Tag | None = None
    roles: tuple[Tag, ...] = ()

    def instance_names(self) -> list[str]:
        if self.count == 1:
            return [self.name]
        return [f"{self.name}-{i:02d}" for i in range(1, self.count + 1)]


class Service(Record):
    name: Slug
    title: Text
    title_en: Text
    service_class: Literal["critical", "standard", "batch"] = Field(alias="class")
    cluster: Text
    vms: tuple[VmSpec, ...] = Field(min_length=1)
    storage_sizing: Literal["used", "committed"] | None = Field(
        default=None, description="size storage for the data stored or for the disks allocated (default: committed for critical services)"
    )

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class BackupPolicy(Record):
    """How the guests of one service class are backed up: a PVE backup job per cluster
    (``hatang-bk-<class>``), its schedule (a PVE calendar event), target storage, mode,
    retention, and the recovery point objective its freshness is judged by."""

    service_class: Literal["critical", "standard", "batch"] = Field(alias="class")
    schedule: Annotated[str, StringConstraints(pattern=r"^[a-z0-9 :.,*/-]+$", max_length=64)]
    storage: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_.-]*[a-z0-9]$")]
    mode: Literal["snapshot", "suspend", "stop"] = "snapshot"
    keep_daily: int = Field(default=7, ge=0, le=366)
    keep_weekly: int = Field(default=4, ge=0, le=53)
    keep_monthly: int = Field(default=6, ge=0, le=120)
    rpo_hours: int = Field(gt=0, le=744)
    #: A guest's archive as a share of its data: the capacity plan's estimate of the
    #: backup store until an archive is measured (1: no compression, the safe side).
    archive_ratio: float = Field(default=1.0, gt=0, le=1)

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Vm(Record):
    """One concrete VM of a service (a VmSpec expanded by its count)."""

    name: str
    service: str
    service_class: str
    cluster: str
    spec: VmSpec
    storage_sizing: Literal["used", "committed"] | None = None  # as its service states it

    @property
    def sizing(self) -> str:
        return storage_sizing(self.service_class, self.storage_sizing)


def storage_sizing(service_class: str, stated: str | None) -> str:
    """How capacity planning sizes a service's storage when the service does not say:
    for the disks allocated (``committed``) if it is critical, since its disks are
    promised and a thin pool running full stops it; else for the data stored (``used``)."""
    return stated or ("committed" if service_class == "critical" else "used")


# --- credentials ------------------------------------------------------------------


class CredentialRef(Record):
    """A credential the inventory names; its values come from the environment or a vault."""

    description: Text
    fields: tuple[str, ...]

    @field_validator("fields")
    @classmethod
    def _fields_are_identifiers(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for name in value:
            if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
                raise ValueError(f"field name {name!r} must be lower-case letters, digits and _")
        return value
