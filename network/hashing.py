"""Password hashes as the platforms store them, computed locally so no clear-text
password ever reaches a rendered configuration.

Renders must be deterministic (a second render, or a second push, must not differ), so
the salt is not random: it is derived from the password itself with HMAC. It changes
when the password changes and reveals nothing about it.
"""

from __future__ import annotations

import base64
import ctypes
import ctypes.util
import hashlib
import hmac
import threading
from functools import lru_cache

#: The alphabet of crypt(3) and of Cisco's type 8/9 secrets ("./0-9A-Za-z").
CRYPT_ALPHABET = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_STD_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_TO_CRYPT = str.maketrans(_STD_ALPHABET, CRYPT_ALPHABET)

_libcrypt = ctypes.CDLL(ctypes.util.find_library("crypt") or "libcrypt.so.1")
_libcrypt.crypt.restype = ctypes.c_char_p
_libcrypt.crypt.argtypes = (ctypes.c_char_p, ctypes.c_char_p)
_crypt_lock = threading.Lock()  # crypt(3) returns a static buffer


def derived_salt(secret: str, purpose: str, length: int) -> str:
    """A salt of ``length`` crypt-alphabet characters, stable for one secret and purpose."""
    digest = hmac.new(secret.encode(), purpose.encode(), hashlib.sha256).digest()
    return "".join(CRYPT_ALPHABET[b % 64] for b in digest)[:length]


@lru_cache(maxsize=64)
def sha512_crypt(password: str) -> str:
    """A ``$6$`` SHA-512 crypt hash (Linux, Junos, EOS ``secret sha512``)."""
    salt = derived_salt(password, "sha512-crypt", 16)
    with _crypt_lock:
        result = _libcrypt.crypt(password.encode(), f"$6${salt}$".encode())
    if not result or not result.startswith(b"$6$"):
        raise RuntimeError("libcrypt has no SHA-512 crypt")
    return result.decode()


@lru_cache(maxsize=64)
def cisco_type9(password: str) -> str:
    """A Cisco IOS type 9 secret: scrypt (N=16384, r=1, p=1), 14-character salt."""
    salt = derived_salt(password, "cisco-type9", 14)
    key = hashlib.scrypt(password.encode(), salt=salt.encode(), n=16384, r=1, p=1, dklen=32)
    encoded = base64.b64encode(key).decode().rstrip("=").translate(_TO_CRYPT)
    return f"$9${salt}${encoded}"
