"""Who may call: users (ticket login) and API tokens, their roles, and PVE's permission checks.

Simplification, stated: each user or token holds one built-in role on ``/`` (propagated),
so a privilege is held everywhere or nowhere; the checks still name the path PVE would,
e.g. ``Permission check failed (/vms/105, VM.Allocate)``. Tokens are privilege-separated:
a token's role is its own, not its user's. Secrets are kept as SHA-256 digests.
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

VM_PRIVS = (
    "VM.Allocate", "VM.Audit", "VM.Backup", "VM.Clone", "VM.Config.CDROM", "VM.Config.CPU",
    "VM.Config.Cloudinit", "VM.Config.Disk", "VM.Config.HWType", "VM.Config.Memory",
    "VM.Config.Network", "VM.Config.Options", "VM.Console", "VM.Migrate", "VM.PowerMgmt",
    "VM.Snapshot", "VM.Snapshot.Rollback",
)
DATASTORE_PRIVS = ("Datastore.Allocate", "Datastore.AllocateSpace", "Datastore.AllocateTemplate", "Datastore.Audit")
SYS_PRIVS = ("Sys.Audit", "Sys.Console", "Sys.Modify", "Sys.PowerMgmt", "Sys.Syslog")
AUDIT_PRIVS = ("VM.Audit", "Sys.Audit", "Datastore.Audit", "Pool.Audit", "SDN.Audit")

# PVE's built-in roles, restricted to the privileges the simulator checks.
ROLES: dict[str, frozenset[str]] = {
    "Administrator": frozenset((*VM_PRIVS, *DATASTORE_PRIVS, *SYS_PRIVS, "SDN.Use", "Pool.Audit", "SDN.Audit")),
    "PVEAdmin": frozenset((*VM_PRIVS, *DATASTORE_PRIVS, "Sys.Audit", "Sys.Console", "Sys.Syslog", "SDN.Use", "Pool.Audit", "SDN.Audit")),
    "PVEVMAdmin": frozenset((*VM_PRIVS, "SDN.Use")),
    "PVEVMUser": frozenset(("VM.Audit", "VM.Backup", "VM.Config.CDROM", "VM.Config.Cloudinit", "VM.Console", "VM.PowerMgmt")),
    "PVEAuditor": frozenset(AUDIT_PRIVS),
    "PVESysAdmin": frozenset((*SYS_PRIVS, "Pool.Audit")),
    "NoAccess": frozenset(),
}


class PermissionDenied(Exception):
    """403: ``Permission check failed (path, privilege)``."""


@dataclass(frozen=True)
class Principal:
    userid: str  # user@realm
    tokenid: str | None  # user@realm!name for tokens
    privileges: frozenset[str]

    @property
    def name(self) -> str:
        return self.tokenid or self.userid

    def has(self, privilege: str) -> bool:
        return privilege in self.privileges

    def require(self, path: str, *privileges: str, any_of: bool = False) -> None:
        held = [p for p in privileges if self.has(p)]
        if (any_of and not held) or (not any_of and len(held) != len(privileges)):
            missing = [p for p in privileges if not self.has(p)]
            raise PermissionDenied(f"Permission check failed ({path}, {'|'.join(privileges) if any_of else missing[0]})")


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class Access:
    """``access.json``: ``{users: {id: {password_sha256, role}}, tokens: {id: {secret_sha256, role}}}``."""

    def __init__(self, directory: Path):
        self.path = directory / "access.json"
        self._watched = Watched(self.path, {"users": {}, "tokens": {}})
        self._key = secrets.token_bytes(32)  # signs tickets; a restart logs everyone out, as on PVE

    # --- the admin side -----------------------------------------------------------

    def add_token(self, tokenid: str, role: str, secret: str | None = None) -> str:
        """Create or replace an API token (``user@realm!name``); returns its secret."""
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}; known: {', '.join(ROLES)}")
        if "!" not in tokenid or "@" not in tokenid.split("!")[0]:
            raise ValueError(f"a token id reads user@realm!name, not {tokenid!r}")
        secret = secret or str(uuid.uuid4())
        data = read_json(self.path, {"users": {}, "tokens": {}})
        data["tokens"][tokenid] = {"secret_sha256": _digest(secret), "role": role}
        write_json(self.path, data, mode=0o600)
        return secret

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
        return Principal(tokenid.split("!")[0], tokenid, ROLES[entry["role"]])

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
        return Principal(username, None, ROLES[entry["role"]]) if entry else None

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
