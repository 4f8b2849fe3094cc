"""Resolve credential references to values, never storing a value in the repo.

The inventory names credentials (``net-admin``, ``snmp-v3``, ``pve-token``); each is a
small mapping of fields (``username``, ``password``, ``auth_key``…). A field's value
comes from, in order:

1. the environment: ``HATANG_SECRET_<REF>_<FIELD>`` (upper case, ``-`` as ``_``), e.g.
   ``HATANG_SECRET_NET_ADMIN_PASSWORD``;
2. an ansible-vault file, ``$HATANG_VAULT_FILE`` (a YAML mapping ``ref: {field: value}``),
   opened with ``$HATANG_VAULT_PASSWORD_FILE`` or ``$HATANG_VAULT_PASSWORD``;
3. in the ``lab`` environment only, the secrets the lab generated in its state directory.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path

import yaml

from hatang.errors import CredentialError
from hatang.paths import state_dir


def env_var_name(ref: str, field: str) -> str:
    return "HATANG_SECRET_" + re.sub(r"[^A-Za-z0-9]", "_", f"{ref}_{field}").upper()


def lab_secrets_file() -> Path:
    """Where ``hatang lab up`` writes the credentials it generated (mode 0600)."""
    return state_dir() / "lab" / "secrets.yaml"


@lru_cache(maxsize=4)
def _vault(path: str, password: str) -> dict:
    from ansible.constants import DEFAULT_VAULT_ID_MATCH
    from ansible.parsing.vault import VaultLib, VaultSecret

    vault = VaultLib([(DEFAULT_VAULT_ID_MATCH, VaultSecret(password.encode()))])
    try:
        encrypted = Path(path).read_bytes()
    except OSError as exc:
        raise CredentialError(f"cannot read the vault {path}: {exc.strerror}") from None
    try:
        plaintext = vault.decrypt(encrypted)
    except Exception:  # ansible's errors may quote the input: say what, never what it holds
        raise CredentialError(f"cannot decrypt the vault {path}: wrong vault password, or not an ansible-vault file") from None
    return secrets_mapping(plaintext, f"the vault {path}")


def secrets_mapping(text: bytes | str, source: str) -> dict:
    """``text`` (decrypted secrets) as a mapping; errors say where, never quote the content
    (YAML's own messages show the lines around the problem: secrets)."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise CredentialError(f"{source} is not valid YAML{where} (content not shown)") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise CredentialError(f"{source} must hold a mapping of credential names to fields")
    return data


def _vault_data() -> dict:
    path = os.environ.get("HATANG_VAULT_FILE")
    if not path:
        return {}
    if "HATANG_VAULT_PASSWORD_FILE" in os.environ:
        password = Path(os.environ["HATANG_VAULT_PASSWORD_FILE"]).read_text().strip()
    elif "HATANG_VAULT_PASSWORD" in os.environ:
        password = os.environ["HATANG_VAULT_PASSWORD"]
    else:
        raise CredentialError("HATANG_VAULT_FILE is set but neither HATANG_VAULT_PASSWORD_FILE nor HATANG_VAULT_PASSWORD is")
    return _vault(path, password)


def _lab_data() -> dict:
    path = lab_secrets_file()
    try:
        stat = path.stat()
    except FileNotFoundError:
        return {}
    return _lab_file(str(path), stat.st_ino, stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=2)
def _lab_file(path: str, inode: int, mtime_ns: int, size: int) -> dict:
    """The parsed lab secrets, read again only when the file changes (a push asks for
    four fields per router; each new lab writes a new file)."""
    return secrets_mapping(Path(path).read_bytes(), f"the lab secrets {path}")


def secret(ref: str, field: str, *, env: str) -> str:
    """The value of ``field`` of credential ``ref``; raises CredentialError naming both."""
    value = os.environ.get(env_var_name(ref, field))
    if value is not None:
        return value
    for source in (_vault_data(), _lab_data() if env == "lab" else {}):
        fields = source.get(ref) or {}
        if not isinstance(fields, dict):
            raise CredentialError(f"credential '{ref}' must be a mapping of fields (e.g. {field}: …), not a {type(fields).__name__}")
        value = fields.get(field)
        if value is not None:
            return str(value)
    where = f"${env_var_name(ref, field)}, $HATANG_VAULT_FILE"
    if env == "lab":
        where += f", {lab_secrets_file()} (run 'hatang lab up' first)"
    raise CredentialError(f"credential '{ref}' field '{field}' is not set: looked in {where}")


def credential(ref: str, fields: tuple[str, ...], *, env: str) -> dict[str, str]:
    return {field: secret(ref, field, env=env) for field in fields}
