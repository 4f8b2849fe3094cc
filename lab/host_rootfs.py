"""The Debian root file system the lab's Linux hosts share, built once by debootstrap.

Choice for apt inside the hosts: the lab hosts have no route to Debian's mirror (lab
traffic stays inside 198.18.0.0/15), so the build also downloads every package the
deploys install, with its dependencies, into a local repository *inside* the rootfs
(``file:/var/lib/hatang-lab-repo``, the only apt source of a lab host). Deploys then
run a real ``apt-get update``/``apt-get install`` offline, exactly as on a real server,
and the second run finds everything installed.

The tree is cached under the state directory, keyed by suite, mirror and package lists;
hosts mount it read-only as the lower layer of their own overlay.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from hatang.errors import HatangError, MissingDependencyError
from hatang.paths import state_path

SUITE = "bookworm"
MIRROR = os.environ.get("HATANG_DEBIAN_MIRROR", "http://deb.debian.org/debian")
#: Installed in the rootfs: what a freshly cloned VM template has (login and Python).
INCLUDE = ("openssh-server", "python3", "iproute2", "procps", "iputils-ping")
#: Downloaded into the local repository: what the deploy roles install.
REPO_PACKAGES = (
    "sudo", "chrony", "rsyslog", "auditd", "unattended-upgrades", "snmpd", "cron",
    "libpam-pwquality", "logrotate", "rsync", "nginx", "postgresql", "nftables",
)
REPO_DIR = "var/lib/hatang-lab-repo"


def cache_key() -> str:
    text = "|".join([SUITE, MIRROR, ",".join(INCLUDE), ",".join(REPO_PACKAGES)])
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def rootfs_dir() -> Path:
    """Where the cached tree for the current package lists lives (may not be built yet)."""
    return state_path("lab-cache", "rootfs") / f"{SUITE}-{cache_key()}"


def _run(argv: list[str], what: str) -> None:
    proc = subprocess.run(argv, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
        raise HatangError(f"building the lab hosts' Debian rootfs: {what} failed (exit {proc.returncode})", details=tail)


def _chroot(root: Path, script: str, what: str) -> None:
    _run(["chroot", str(root), "/bin/sh", "-ec", script], what)


def build(*, log: Callable[[str], None]) -> Path:
    """The rootfs tree, built with debootstrap if the cache does not hold it yet."""
    final = rootfs_dir()
    if (final / ".complete").exists():
        return final / "root"
    if shutil.which("debootstrap") is None:
        raise MissingDependencyError("debootstrap is not installed (apt-get install debootstrap)")
    work = final.with_name(final.name + ".building")
    shutil.rmtree(work, ignore_errors=True)
    root = work / "root"
    root.mkdir(parents=True)
    log(f"building the lab hosts' Debian {SUITE} rootfs with debootstrap (once; cached in {final})")
    _run(["debootstrap", "--variant=minbase", f"--include={','.join(INCLUDE)}", SUITE, str(root), MIRROR], "debootstrap")
    shutil.copy("/etc/resolv.conf", root / "etc/resolv.conf")
    _chroot(root, f"apt-get update -qq && apt-get install -y -qq --download-only --no-install-recommends {' '.join(REPO_PACKAGES)}", "downloading the deploys' packages")
    repo = root / REPO_DIR
    repo.mkdir(parents=True)
    for deb in (root / "var/cache/apt/archives").glob("*.deb"):
        deb.rename(repo / deb.name)
    packages = subprocess.run(["dpkg-scanpackages", "--multiversion", "."], cwd=repo, capture_output=True, check=True)
    (repo / "Packages").write_bytes(packages.stdout)
    for listing in (root / "etc/apt/sources.list.d").glob("*"):
        listing.unlink()
    (root / "etc/apt/sources.list").write_text(f"deb [trusted=yes] file:/{REPO_DIR} ./\n")
    (root / "etc/resolv.conf").unlink()
    _chroot(root, "apt-get update -qq && rm -f /etc/ssh/ssh_host_*", "indexing the local repository")
    (work / ".complete").write_text(f"{SUITE} {MIRROR}\n")
    for stale in final.parent.iterdir():  # trees of older package lists
        if stale != work:
            shutil.rmtree(stale, ignore_errors=True)
    work.rename(final)
    return final / "root"
