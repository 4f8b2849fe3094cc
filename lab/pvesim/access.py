"""Who may call: users (ticket login) and API tokens, their roles, and PVE's permission checks.

Each user or token holds built-in roles on paths (propagated; the most specific path with
an entry decides, as in PVE), and every check names the path PVE checks, e.g.
``Permission check failed (/vms/105, VM.Allocate)`` or ``(/sdn/zones/localnetwork/vmbr0/20,
SDN.Use)``. The roles are PVE's own, built as pve-access-control builds them. Tokens are
privilege-separated: a token's roles are its own, not its user's. Secrets are kept as
SHA-256 digests. Custom roles (``pveum role add``) are kept beside the built-in ones.
Simplification, stated: no groups.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hatang.lab.pvesim.files import Watched, read_json, write_json

# pve-access-control, src/PVE/AccessControl.pm, ``$privgroups``: the privileges per
# category, split into what root, an admin, a user and an auditor hold; ``create_roles``
# builds the built-in roles from it (transcribed for the categories the API here checks).
PRIVGROUPS: dict[str, dict[str, tuple[str, ...]]] = {
    "VM": {
        "root": (),
        "admin": ("VM.Config.Disk", "VM.Config.CPU", "VM.Config.Memory", "VM.Config.Network", "VM.Config.HWType",
                  "VM.Config.Options", "VM.Allocate", "VM.Clone", "VM.GuestAgent.Unrestricted", "VM.Migrate",
                  "VM.Replicate", "VM.Snapshot", "VM.Snapshot.Rollback"),
        "user": ("VM.Config.CDROM", "VM.Config.Cloudinit", "VM.Console", "VM.Backup", "VM.GuestAgent.FileRead",
                 "VM.GuestAgent.FileSystemMgmt", "VM.GuestAgent.FileWrite", "VM.PowerMgmt"),
        "audit": ("VM.Audit", "VM.GuestAgent.Audit"),
    },
    "Sys": {
        "root": ("Sys.PowerMgmt", "Sys.Modify", "Sys.Incoming", "Sys.AccessNetwork"),
        "admin": ("Sys.Console", "Sys.Syslog"),
        "user": (),
        "audit": ("Sys.Audit",),
    },
    "Datastore": {
        "root": (),
        "admin": ("Datastore.Allocate", "Datastore.AllocateTemplate"),
        "user": ("Datastore.AllocateSpace",),
        "audit": ("Datastore.Audit",),
    },
    "SDN": {"root": (), "admin": ("SDN.Allocate", "SDN.Audit"), "user": ("SDN.Use",), "audit": ("SDN.Audit",)},
    "Pool": {"root": (), "admin": ("Pool.Allocate",), "user": ("Pool.Audit",), "audit": ("Pool.Audit",)},
}


def _built_in_roles() -> dict[str, frozenset[str]]:
    """``create_roles`` of AccessControl.pm: PVE<cat>Admin, PVE<cat>User, PVEAdmin, PVEAuditor."""
    roles: dict[str, set[str]] = {"NoAccess": set(), "Administrator": set(), "PVEAdmin": set(), "PVEAuditor": set()}
    for category, groups in PRIVGROUPS.items():
        roles["Administrator"].update(*groups.values())
        managed = {*groups["admin"], *groups["user"], *groups["audit"]}
        roles.setdefault(f"PVE{category}Admin", set()).update(managed)
        roles["PVEAdmin"].update(managed)
        if groups["user"]:
            roles[f"PVE{category}User"] = {*groups["user"], *groups["audit"]}
        roles["PVEAuditor"].update(groups["audit"])
    roles["PVETemplateUser"] = {"VM.Clone", "VM.Audit"}
    return {name: frozenset(privs) for name, privs in roles.items()}


ROLES: dict[str, frozenset[str]] = _built_in_roles()


class PermissionDenied(Exception):
    """403: ``Permission check failed (path, privilege)``."""


def _covers(acl_path: str, path: str) -> bool:
    return acl_path == "/" or path == acl_path or path.startswith(acl_path.rstrip("/") + "/")


@dataclass(frozen=True)
class Principal:
    """A caller and its ACL: roles per path, propagated to the paths below. As in PVE's
    ``RPCEnvironment::permissions``, the most specific path with an entry decides."""

    userid: str  # user@realm
    tokenid: str | None  # user@realm!name for tokens
    acl: tuple[tuple[str, frozenset[str]], ...]  # (path, privileges), shortest path first

    @property
    def name(self) -> str:
        return self.tokenid or self.userid

    def privileges_at(self, path: str = "/") -> frozenset[str]:
        held: frozenset[str] = frozenset()
        for acl_path, privileges in self.acl:
            if _covers(acl_path, path):
                held = privileges
        return held

    def has(self, privilege: str, path: str = "/") -> bool:
        return privilege in self.privileges_at(path)

    def require(self, path: str, *privileges: str, any_of: bool = False) -> None:
        here = self.privileges_at(path)
        held = [p for p in privileges if p in here]
        if (any_of and not held) or (not any_of and len(held) != len(privileges)):
            missing = [p for p in privileges if p not in here]
            raise PermissionDenied(f"Permission check failed ({path}, {'|'.join(privileges) if any_of else missing[0]})")


def parse_grants(grants: str | list[str], custom: dict[str, list[str]] | None = None) -> dict[str, list[str]]:
    """``["PVEVMAdmin", "/sdn/zones/localnetwork=PVESDNUser"]`` → {path: [roles]} (a bare role is on ``/``)."""
    out: dict[str, list[str]] = {}
    known = {*ROLES, *(custom or {})}
    for grant in [grants] if isinstance(grants, str) else grants:
        path, _, role = grant.rpartition("=")
        if role not in known:
            raise ValueError(f"unknown role {role!r}; known: {', '.join(sorted(known))}")
        if path and not path.startswith("/"):
            raise ValueError(f"an ACL path starts with '/', not {path!r}")
        out.setdefault(path or "/", []).append(role)
    return out


def _acl(entry: dict[str, Any], custom: dict[str, list[str]]) -> tuple[tuple[str, frozenset[str]], ...]:
    grants = entry.get("acl") or {"/": [entry["role"]]}
    roles_by_name = {**ROLES, **{name: frozenset(privs) for name, privs in custom.items()}}
    merged = {path: frozenset().union(*(roles_by_name.get(r, frozenset()) for r in roles)) for path, roles in grants.items()}
    return tuple(sorted(merged.items(), key=lambda item: len(item[0].rstrip("/"))))


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class Access:
    """``access.json``: ``{users: {id: {password_sha256, role}}, tokens: {id: {secret_sha256, acl: {path: [roles]}}}}``."""

    def __init__(self, directory: Path):
        self.path = directory / "access.json"
        self._watched = Watched(self.path, {"users": {}, "tokens": {}})
        self._key = secrets.token_bytes(32)  # signs tickets; a restart logs everyone out, as on PVE

    # --- the admin side -----------------------------------------------------------

    def add_token(self, tokenid: str, role: str | list[str], secret: str | None = None) -> str:
        """Create or replace an API token (``user@realm!name``) holding ``role`` on ``/``, or
        several grants (``ROLE`` or ``/path=ROLE``); returns its secret."""
        grants = parse_grants(role, read_json(self.path, {}).get("roles"))
        if "!" not in tokenid or "@" not in tokenid.split("!")[0]:
            raise ValueError(f"a token id reads user@realm!name, not {tokenid!r}")
        secret = secret or str(uuid.uuid4())
        data = read_json(self.path, {"users": {}, "tokens": {}})
        data["tokens"][tokenid] = {"secret_sha256": _digest(secret), "acl": grants}
        write_json(self.path, data, mode=0o600)
        return secret

    def add_role(self, name: str, privileges: list[str]) -> None:
        """A custom role, as ``pveum role add NAME --privs …``."""
        if name in ROLES:
            raise ValueError(f"{name} is a built-in role")
        data = read_json(self.path, {"users": {}, "tokens": {}})
        data.setdefault("roles", {})[name] = sorted(privileges)
        write_json(self.path, data, mode=0o600)

    def add_user(self, userid: str, password: str, role: str) -> None:
        data = read_json(self.path, {"users": {}, "tokens": {}})
        data["users"][userid] = {"password_sha256": _digest(password), "role": role}
        write_json(self.path, data, mode=0o600)

    # --- the server side ----------------------------------------------------------

    def _entry(self, kind: str, name: str) -> dict[str, Any] | None:
        return self._watched.data().get(kind, {}).get(name)

    def from_token(self, header_value: str) -> Principal | None:
        """``PVEAPIToken=user@realm!name=secret`` → the token's principal, None if invalid."""
        tokenid, _, secret = header_value.partition("=")
        entry = self._entry("tokens", tokenid)
        if entry is None or not hmac.compare_digest(entry["secret_sha256"], _digest(secret)):
            return None
        return Principal(tokenid.split("!")[0], tokenid, _acl(entry, self._watched.data().get("roles", {})))

    def login(self, username: str, password: str) -> tuple[str, str] | None:
        """Check a password; returns (ticket, CSRFPreventionToken) or None."""
        entry = self._entry("users", username)
        if entry is None or not hmac.compare_digest(entry["password_sha256"], _digest(password)):
            return None
        stamp = f"{int(time.time()):08X}"
        ticket = f"PVE:{username}:{stamp}::{self._sign(f'PVE:{username}:{stamp}')}"
        return ticket, f"{stamp}:{self._sign(f'{stamp}:{username}')}"

    def from_ticket(self, ticket: str, csrf: str | None, *, needs_csrf: bool) -> Principal | None:
        parts = ticket.split(":")
        if len(parts) != 5 or parts[0] != "PVE":
            return None
        _, username, stamp, _, signature = parts
        if not hmac.compare_digest(signature, self._sign(f"PVE:{username}:{stamp}")):
            return None
        if time.time() - int(stamp, 16) > 7200:
            return None  # PVE tickets live two hours
        if needs_csrf and (csrf or "") != f"{stamp}:{self._sign(f'{stamp}:{username}')}":
            raise PermissionDenied("Permission denied - invalid csrf token")
        entry = self._entry("users", username)
        return Principal(username, None, _acl(entry, self._watched.data().get("roles", {}))) if entry else None

    def _sign(self, text: str) -> str:
        return base64.b64encode(hmac.new(self._key, text.encode(), hashlib.sha256).digest()).decode().rstrip("=")


def check(principal: Principal, expression: dict[str, Any], params: dict[str, Any]) -> None:
    """Evaluate a method's ``permissions`` from the schema; raises PermissionDenied.

    ``user: all`` lets any authenticated caller through (the handler then checks what the
    schema only describes in words, as PVE's code does).
    """
    if "check" not in expression:
        return
    failure = _evaluate(principal, expression["check"], params)
    if failure:
        raise PermissionDenied(failure)


def _evaluate(principal: Principal, check_expr: list[Any], params: dict[str, Any]) -> str | None:
    """None when the check passes, else PVE's message."""
    op = check_expr[0]
    if op in ("and", "or"):
        failures = [_evaluate(principal, sub, params) for sub in check_expr[1:]]
        failed = [f for f in failures if f]
        if op == "and":
            return failed[0] if failed else None
        return failed[0] if len(failed) == len(failures) else None
    if op == "perm":
        path, privileges, options = check_expr[1], check_expr[2], check_expr[3:]
        if "require_param" in options:
            needed = options[options.index("require_param") + 1]
            if needed not in params:
                return f"Permission check failed ({path}, {privileges[0]})"
        for name, value in params.items():
            path = path.replace("{" + name + "}", str(value))
        try:
            principal.require(path, *privileges, any_of="any" in options)
        except PermissionDenied as exc:
            return str(exc)
        return None
    return f"Permission check failed ({op} checks are not simulated)"
