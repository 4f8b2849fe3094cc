"""Intent → configuration text, through the Jinja2 template of the device's platform and role.

Rendering is pure and deterministic: the same inventory and credentials always give
the same bytes (salts are derived, no timestamps), so a diff against the running
configuration shows only real change.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import jinja2

from hatang.errors import HatangError
from hatang.inventory import model as m
from hatang.inventory.inventory import Inventory
from hatang.network.escape import text_filter
from hatang.network.intent import IntentBuilder, SecretResolver
from hatang.network.lint import lint

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

    def render(self, name: str, platform: m.Platform | None = None) -> Rendered:
        intent = self.builder.build(name, platform)
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


def routers_of(inv: Inventory, site: str | None = None) -> list[str]:
    """Router names of a site (slug, GSO code or device name), or of the whole province."""
    routers = {d.name for d in inv.routers()}
    if site is None:
        return [d.name for d in inv.routers()]
    chosen = [d.name for d in inv.devices_at(site) if d.name in routers]
    if not chosen:
        raise HatangError(f"site '{site}' has no router in environment '{inv.env}'")
    return chosen


def write(rendered: Iterable[Rendered], directory: Path) -> list[Path]:
    """Write each configuration as ``<device>.<suffix>``, readable by its owner only
    (rendered configurations hold password hashes and SNMP keys)."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for item in rendered:
        path = directory / item.filename
        path.touch(mode=0o600, exist_ok=True)
        path.chmod(0o600)
        path.write_text(item.text, encoding="utf-8")
        paths.append(path)
    return paths
