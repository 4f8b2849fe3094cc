"""Password hashes as the platforms store them, computed locally so no clear-text
password ever reaches a rendered configuration.

Each hash gets a random salt, as the platforms' own ``username … secret`` commands give
one. Renders must still be stable (a second render, or a second push, must not differ),
so a hash is kept in the state directory (:class:`PasswordHashes`, 0600 in a 0700
directory) and reused for as long as it verifies the credential's password: a new
password gets a new salt; the same password keeps its hash. (The salt used to be derived
from the password itself, which made equal passwords hash alike across installations.)
"""

from __future__ import annotations

import base64
import ctypes
import ctypes.util
import hashlib
import json
import os
import secrets
import threading
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

from hatang.errors import HatangError
from hatang.paths import private_directory, state_dir, write_private

#: The alphabet of crypt(3) and of Cisco's type 8/9 secrets ("./0-9A-Za-z").
CRYPT_ALPHABET = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_STD_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_TO_CRYPT = str.maketrans(_STD_ALPHABET, CRYPT_ALPHABET)

_libcrypt = ctypes.CDLL(ctypes.util.find_library("crypt") or "libcrypt.so.1")
_libcrypt.crypt.restype = ctypes.c_char_p
_libcrypt.crypt.argtypes = (ctypes.c_char_p, ctypes.c_char_p)
_crypt_lock = threading.Lock()  # crypt(3) returns a static buffer


def random_salt(length: int) -> str:
    """``length`` crypt-alphabet characters from the system's CSPRNG."""
    return "".join(secrets.choice(CRYPT_ALPHABET) for _ in range(length))


@lru_cache(maxsize=64)
def sha512_crypt(password: str, salt: str) -> str:
    """A ``$6$`` SHA-512 crypt hash (Linux, Junos, EOS ``secret sha512``), 16-character salt."""
    with _crypt_lock:
        result = _libcrypt.crypt(password.encode(), f"$6${salt}$".encode())
    if not result or not result.startswith(b"$6$"):
        raise RuntimeError("libcrypt has no SHA-512 crypt")
    return result.decode()


@lru_cache(maxsize=64)
def cisco_type9(password: str, salt: str) -> str:
    """A Cisco IOS type 9 secret: scrypt (N=16384, r=1, p=1), 14-character salt."""
    key = hashlib.scrypt(password.encode(), salt=salt.encode(), n=16384, r=1, p=1, dklen=32)
    encoded = base64.b64encode(key).decode().rstrip("=").translate(_TO_CRYPT)
    return f"$9${salt}${encoded}"


#: kind -> (hash function of password and salt, salt length)
HASHERS: dict[str, tuple[Callable[[str, str], str], int]] = {"sha512": (sha512_crypt, 16), "cisco9": (cisco_type9, 14)}


def salt_of(hashed: str) -> str:
    """The salt of a ``$id$salt$hash`` string."""
    return hashed.split("$")[2]


class PasswordHashes:
    """The hashes in use, by credential and kind, kept while they verify their password."""

    def __init__(self, path: Path):
        self.path = path
        self.lock = threading.Lock()
        try:
            self.known: dict[str, str] = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
        except (OSError, ValueError) as exc:
            raise HatangError(f"cannot read the password hashes {path}: {exc}", details=["remove the file to hash every password anew"]) from None
        if not isinstance(self.known, dict):
            raise HatangError(f"{path} must hold a mapping of 'credential/kind' to hashes; remove it to hash every password anew")

    def hash(self, kind: str, credential: str, password: str) -> str:
        """The ``kind`` hash of ``credential``'s ``password``: the kept one if it still
        verifies, else a new one with a random salt (kept from then on)."""
        make, salt_length = HASHERS[kind]
        key = f"{credential}/{kind}"
        with self.lock:
            kept = self.known.get(key)
            if isinstance(kept, str) and kept.count("$") >= 3 and make(password, salt_of(kept)) == kept:
                return kept
            fresh = make(password, random_salt(salt_length))
            self.known[key] = fresh
            private_directory(self.path.parent, ours=True)
            temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}")
            write_private(temporary, json.dumps(self.known, indent=2, sort_keys=True) + "\n")
            temporary.replace(self.path)
            return fresh


_STORES: dict[Path, PasswordHashes] = {}
_STORES_LOCK = threading.Lock()


def password_hashes() -> PasswordHashes:
    """The hashes of this state directory (one instance per directory and process)."""
    path = state_dir() / "network" / "password_hashes.json"
    with _STORES_LOCK:
        if path not in _STORES:
            _STORES[path] = PasswordHashes(path)
        return _STORES[path]
