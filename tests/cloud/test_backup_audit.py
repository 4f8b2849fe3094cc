"""BAK-01 reads the freshness 'hatang cloud backups' computes (issue 27, point 4): the
guest whose newest PVE backup is older than its RPO, or missing, fails the control with
host, what was found and what was expected; the Ansible audit gets the same data in the
host variables 'hatang deploy playbook' writes."""

from __future__ import annotations

import subprocess
import time

import yaml

from hatang.cloud.backup_report import backup_states
from hatang.deploy import playbook_runner
from hatang.deploy.baseline.audit import applicable, failure_text, parse
from hatang.deploy.baseline.controls import BACKUP_DUMP, BY_ID, GUEST_BACKUP
from hatang.deploy.baseline.guest_backup import freshness
from hatang.deploy.baseline.playbook import HOST_VAR
from hatang.deploy.baseline.script import audit_script

from .conftest import back_up_all_but_the_first_node

BAK = BY_ID["BAK-01"]


def bak01(host: str, env: dict[str, str]) -> tuple[bool, str]:
    """The control's own check, as the hatang audit runs it (here, on this machine: its
    guest part reads nothing of the host), parsed as the audit parses it."""
    out = subprocess.run(["/bin/sh", "-s"], input=audit_script([BAK], {BACKUP_DUMP: "no", **env}), capture_output=True,
                         text=True, timeout=30).stdout
    [outcome] = parse(out, [BAK])
    return outcome.passed, failure_text(host, [outcome])


def test_bak01_fails_a_guest_whose_backup_is_missing_or_older_than_its_rpo(sim, inv, tmp_path):
    admin, nodes = back_up_all_but_the_first_node(sim, inv)  # the first node's guests are never backed up
    hosts = [h for h in inv.linux_hosts() if h.cluster == "pve-core"]
    assert all(BAK in applicable(h) for h in hosts if h.kind == "vm") and not any(BAK in applicable(h) for h in hosts if h.kind != "vm")

    now = time.time()
    states = {s.guest: s for s in backup_states(inv, ["pve-core"], now=now)}
    env = freshness(inv, hosts, now=now)
    assert set(env) == set(states) and {g: e[GUEST_BACKUP] for g, e in env.items()} == {g: s.status for g, s in states.items()}
    missing = sorted(g for g, s in states.items() if s.status == "missing")
    fresh = sorted(g for g, s in states.items() if s.status == "fresh")
    assert missing and fresh
    passed, text = bak01(missing[0], env[missing[0]])
    s = states[missing[0]]
    assert not passed and text == (f"{s.guest}: BAK-01: found no PVE backup of {s.guest} (vmid {s.vmid} on pve-core); "
                                   f"expected a backup within {s.rpo_h} h (RPO of class {s.service_class}, job hatang-bk-{s.service_class})")
    assert bak01(fresh[0], env[fresh[0]])[0]

    later = now + 25 * 3600  # past the 24 h RPO of the daily classes, within the weekly one's 168 h
    aged = freshness(inv, hosts, now=later)
    for guest in fresh:
        state = {x.guest: x for x in backup_states(inv, ["pve-core"], now=later)}[guest]
        passed, text = bak01(guest, aged[guest])
        assert passed == (state.rpo_h == 168)
        if not passed:
            assert text == (f"{guest}: BAK-01: found newest PVE backup of {guest} {state.age_h} h old ({state.volid}); "
                            f"expected a backup within 24 h (RPO of class {state.service_class}, job hatang-bk-{state.service_class})")
            assert state.age_h and state.age_h > 24

    # the Ansible audit: the same freshness, in the host variables hatang writes for it
    playbook_runner._host_vars(inv, [h.name for h in hosts], tmp_path)
    for guest in (missing[0], fresh[0]):
        written = yaml.safe_load((tmp_path / f"{guest}.yml").read_text())[HOST_VAR]
        assert written[GUEST_BACKUP] == env[guest][GUEST_BACKUP] and written[f"{GUEST_BACKUP}_EXPECTED"] == env[guest][f"{GUEST_BACKUP}_EXPECTED"]
    assert GUEST_BACKUP not in yaml.safe_load((tmp_path / f"{nodes[0]}.yml").read_text())[HOST_VAR]


def test_bak01_fails_when_the_backups_cannot_be_read(hatang_tmp_env, inv, monkeypatch):
    monkeypatch.setenv("HATANG_PVE_ENDPOINTS", str(hatang_tmp_env / "no-such-endpoints.json"))
    guest = next(h for h in inv.linux_hosts() if h.kind == "vm" and h.cluster == "pve-dmz")
    env = freshness(inv, [guest])[guest.name]
    passed, text = bak01(guest.name, env)
    assert env[GUEST_BACKUP] == "unknown" and not passed
    assert text.startswith(f"{guest.name}: BAK-01: found the backups of pve-dmz unreadable (no Proxmox endpoints file ")
