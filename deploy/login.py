"""How hatang logs in to servers: the ``server-admin`` credential (user and key) and
whose host keys to trust (in the lab, the file the lab hosts' keys were written to;
elsewhere, the user's own ``known_hosts``). Host keys are always checked."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hatang.credentials import secret
from hatang.errors import HatangError
from hatang.paths import state_dir

CONNECT_TIMEOUT_S = 5


@dataclass(frozen=True)
class Login:
    user: str
    key_file: str
    known_hosts: Path | None  # None: the user's own known_hosts

    def pyinfra_data(self) -> list[str]:
        """``--data`` arguments for pyinfra's SSH connector."""
        data = [f"ssh_user={self.user}", f"ssh_key={self.key_file}", "ssh_strict_host_key_checking=yes",
                f"ssh_connect_timeout={CONNECT_TIMEOUT_S}"]
        if self.known_hosts is not None:
            data.append(f"ssh_known_hosts_file={self.known_hosts}")
        return data

    def connect(self, address: str):
        """A paramiko client logged in to ``address`` (host key checked); raises
        HatangError naming the address when it cannot."""
        import paramiko

        client = paramiko.SSHClient()
        if self.known_hosts is not None:
            client.load_host_keys(str(self.known_hosts))
        else:
            client.load_system_host_keys()
        client.set_missing_host_key_policy(paramiko.RejectPolicy())
        try:
            client.connect(address, username=self.user, key_filename=self.key_file, timeout=CONNECT_TIMEOUT_S,
                           banner_timeout=CONNECT_TIMEOUT_S, auth_timeout=CONNECT_TIMEOUT_S, allow_agent=False, look_for_keys=False)
        except (OSError, paramiko.SSHException) as exc:
            client.close()
            raise HatangError(f"cannot log in to {address} as {self.user}: {exc or exc.__class__.__name__}") from exc
        return client


def login(env: str) -> Login:
    known = None
    if env == "lab":
        from hatang.lab.hosts import known_hosts_file

        known = known_hosts_file(state_dir() / "lab")
    return Login(secret("server-admin", "username", env=env), secret("server-admin", "ssh_private_key_file", env=env), known)
