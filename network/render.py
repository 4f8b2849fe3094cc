"""Intent → configuration text, through the Jinja2 template of the device's platform and role.

Rendering is pure and deterministic: the same inventory and credentials always give
the same bytes (salts are derived, no timestamps), so a diff against the running
configuration shows only real change.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import jinja2

from hatang.errors import HatangError
from hatang.inventory import model as m
from hatang.inventory.inventory import Inventory
from hatang.network.escape import text_filter
from hatang.network.intent import IntentBuilder, SecretResolver, bootstrap
from hatang.network.lint import lint
from hatang.paths import private_directory, write_private

TEMPLATES = Path(__file__).parent / "templates"
#: File name suffix of a rendered configuration, per platform.
SUFFIX = {"frr": "conf", "ios": "cfg", "eos": "cfg", "junos": "conf", "huawei_vrp": "cfg"}


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.filters["text"] = text_filter
    return env


def template_name(platform: str, role: str) -> str:
    return f"{platform}/{role}.j2"


@dataclass(frozen=True)
class Rendered:
    device: str
    platform: str
    role: str
    text: str

    @property
    def filename(self) -> str:
        return f"{self.device}.{SUFFIX[self.platform]}"


class Renderer:
    """Renders the devices of one inventory (intents share per-run lookups)."""

    def __init__(self, inv: Inventory, resolve: SecretResolver | None = None):
        self.inv = inv
        self.builder = IntentBuilder(inv, resolve)

    def render(self, name: str, platform: m.Platform | None = None, *, day0: bool = False) -> Rendered:
        """``day0``: the provider's bootstrap only (see :func:`hatang.network.intent.bootstrap`)."""
        intent = self.builder.build(name, platform)
        if day0:
            intent = bootstrap(intent)
        template = template_name(intent["platform"], intent["role"])
        try:
            text = environment().get_template(template).render(**intent)
        except jinja2.TemplateNotFound:
            raise HatangError(f"{name}: no template {TEMPLATES.name}/{template} for platform {intent['platform']} role {intent['role']}") from None
        except jinja2.UndefinedError as exc:
            raise HatangError(f"{name}: template {template}: {exc.message}") from None
        problems = lint(intent["platform"], text)
        if problems:
            raise HatangError(f"{name}: the rendered {template} does not pass lint", details=problems)
        return Rendered(name, intent["platform"], intent["role"], text)

    def render_many(self, names: Iterable[str], platform: m.Platform | None = None) -> list[Rendered]:
        return [self.render(name, platform) for name in names]


def routers_of(inv: Inventory, sites: Sequence[str] = ()) -> list[str]:
    """Router names of the given sites (each a slug, GSO code or device name; each router
    once, in the order given), or of the whole province when none is given."""
    if not sites:
        return [d.name for d in inv.routers()]
    routers = {d.name for d in inv.routers()}
    chosen: dict[str, None] = {}
    for site in sites:
        names = [d.name for d in inv.devices_at(site) if d.name in routers]
        if not names:
            raise HatangError(f"site '{site}' has no router in environment '{inv.env}'")
        chosen.update(dict.fromkeys(names))
    return list(chosen)


def write(rendered: Iterable[Rendered], directory: Path) -> list[Path]:
    """Write each configuration as ``<device>.<suffix>``, 0600 in a 0700 directory
    (rendered configurations hold password hashes and SNMP keys)."""
    private_directory(directory)
    paths = []
    for item in rendered:
        path = directory / item.filename
        write_private(path, item.text)
        paths.append(path)
    return paths
