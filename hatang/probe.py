"""Reachability probes shared by every room: does an address accept a TCP connection?"""

from __future__ import annotations

import socket


def tcp_open(host: str, port: int, timeout_s: float, *, device: str | None = None) -> bool:
    """Whether ``host:port`` accepts a fresh TCP connection within ``timeout_s``.

    ``device`` binds the probe to one interface, so an address that is absent there
    (a lab that is down) cannot look alive through another route.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        if device:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, device.encode())
        sock.settimeout(timeout_s)
        sock.connect((host, port))
        return True
    except OSError:
        return False
    finally:
        sock.close()
