#!/usr/bin/python3
"""PID 1 of a hatang lab host (copied into the host; runs on the host's own python3).

A lab host has no systemd, as in a container: this init starts the services enabled
in runlevel 2 (``/etc/rc2.d/S*``, Debian's sysvinit scripts, which use
start-stop-daemon), reaps the orphans every PID 1 inherits, and exits on SIGTERM,
which makes the kernel kill everything left in the host's PID namespace.
"""

import os
import signal
import subprocess
import sys

RC_DIR = "/etc/rc2.d"


def reap(*_: object) -> None:
    while True:
        try:
            pid, _status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def start_enabled_services() -> None:
    for link in sorted(os.listdir(RC_DIR)):
        if link.startswith("S"):
            subprocess.run([os.path.join(RC_DIR, link), "start"], stdin=subprocess.DEVNULL, check=False)


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    start_enabled_services()
    signal.signal(signal.SIGCHLD, reap)
    reap()
    print("lab host up", flush=True)
    while True:
        signal.pause()


if __name__ == "__main__":
    main()
