"""Deploys against real lab hosts over SSH: pyinfra roles, the audit, ansible-runner.

The lab hosts are namespaces with a debootstrapped Debian, sshd and no systemd. The
tests run in file order, as an engineer would: audit (fails), dry run (changes
nothing), deploy (changes), deploy again (no change), audit (passes), playbook, and
then the failure cases.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from hatang.deploy import backup, playbook_runner, runner
from hatang.deploy.baseline.audit import audit
from hatang.deploy.login import login
from hatang.deploy.targets import select
from hatang.inventory import load

pytestmark = pytest.mark.lab
HATANG = [sys.executable, "-m", "hatang.cli"]
WEB, DB, BACKUP, PVE = "portal-web-01", "db-pg-01", "backup", "pve-core-01"
SYS_NAME_OID = "1.3.6.1.2.1.1.5.0"  # numeric: the machine need not have the MIB files


@pytest.fixture(scope="module")
def inv(lab_small):
    return load(None, "lab")


@pytest.fixture(scope="module")
def hosts(inv):
    return {h.name: h for h in inv.linux_hosts()}


def ssh(hosts, name: str, command: str) -> str:
    client = login("lab").connect(str(hosts[name].address.ip))
    try:
        _, stdout, _ = client.exec_command(command, timeout=30)
        return stdout.read().decode()
    finally:
        client.close()


def controls_of(result) -> dict[str, bool]:
    return {c["id"]: c["passed"] for c in result.data["controls"]}


def deploy_cli(role: str, *args: str) -> dict:
    proc = subprocess.run([*HATANG, "deploy", role, "--json", *args], capture_output=True, text=True, timeout=300)
    report = json.loads(proc.stdout)
    report["exit"] = proc.returncode
    report["by_host"] = {h["host"]: h for h in report["hosts"]}
    return report


def test_lab_hosts_are_debian_without_systemd_at_their_inventory_address(hosts):
    out = ssh(hosts, WEB, "hostname; cat /etc/debian_version; cat /proc/1/comm; ip -4 -o addr show eth0")
    name, version, init, address = out.splitlines()
    assert name == WEB and version.startswith("12.")
    assert init != "systemd"
    assert str(hosts[WEB].address) in address
    assert ssh(hosts, WEB, "test -w /proc/sys/kernel/kptr_restrict && echo writable || echo read-only").strip() == "read-only"
    # the overlays live in the hosts' own mount namespaces: none shows on the machine
    assert not [line for line in Path("/proc/mounts").read_text().splitlines() if "/lab/hosts/" in line]


def test_audit_fails_before_the_baseline(inv, hosts):
    results = audit(inv, select(inv, [WEB]), login("lab"), show_progress=False)
    result = results.by_host[WEB]
    assert not result.ok
    assert controls_of(result)["AUTH-02"] is False  # Debian's sshd still takes passwords
    assert f"{WEB}: AUTH-02: found passwordauthentication yes" in result.error


def test_a_dry_run_shows_changes_and_makes_none(inv, hosts):
    run = runner.run(inv, "base", limit=[WEB], dry=True, show_progress=False)
    assert run.results.by_host[WEB].ok and run.results.by_host[WEB].changed
    assert any("sshd_config" in op for op in run.results.by_host[WEB].data["operations"])
    assert ssh(hosts, WEB, "test -e /etc/nftables.conf && echo yes || echo no").strip() == "no"


def test_base_and_web_portal_deploy_then_change_nothing(inv, hosts):
    assert runner.run(inv, "backup-server", limit=[BACKUP], show_progress=False).results.by_host[BACKUP].ok
    first = deploy_cli("base", "--limit", WEB)
    assert first["exit"] == 0, first
    assert first["by_host"][WEB]["changed"]
    portal = runner.run(inv, "web-portal", limit=[WEB], show_progress=False).results.by_host[WEB]
    assert portal.ok and portal.changed, portal.error
    with urllib.request.urlopen(f"http://{hosts[WEB].address.ip}/healthz", timeout=5) as response:
        assert response.read() == b"ok\n"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Server"] == "nginx"  # server_tokens off: no version
    second = deploy_cli("base", "--limit", WEB)
    assert second["exit"] == 0 and not second["by_host"][WEB]["changed"], second["by_host"][WEB]["data"]
    again = runner.run(inv, "web-portal", limit=[WEB], show_progress=False).results.by_host[WEB]
    assert again.ok and not again.changed, again.data["operations"]


def test_every_run_is_in_the_audit_log():
    from hatang import audit as audit_log

    records = [r for r in audit_log.read("deploy") if r.get("role") == "base" and WEB in r.get("hosts", {})]
    assert len(records) >= 3  # the dry run and the two deploys
    assert {r["dry"] for r in records[-3:]} == {True, False}


def test_services_run_without_systemd(hosts):
    out = ssh(hosts, WEB, "for p in sshd nginx rsyslogd chronyd snmpd cron; do pidof $p >/dev/null && echo $p; done")
    assert out.split() == ["sshd", "nginx", "rsyslogd", "chronyd", "snmpd", "cron"]


def test_snmpd_answers_the_monitoring_over_v3_only(hosts):
    from hatang.credentials import credential

    v3 = credential("snmp-v3", ("username", "auth_key", "priv_key"), env="lab")
    address = str(hosts[WEB].address.ip)
    v3_get = ["snmpget", "-v3", "-l", "authPriv", "-u", v3["username"], "-a", "SHA", "-A", v3["auth_key"],
              "-x", "AES", "-X", v3["priv_key"], "-Ovq", "-t", "2", "-r", "1", address, SYS_NAME_OID]
    assert subprocess.run(v3_get, capture_output=True, text=True, timeout=30).stdout.strip().strip('"') == WEB
    v2c = subprocess.run(["snmpget", "-v2c", "-c", "public", "-t", "1", "-r", "0", address, SYS_NAME_OID],
                         capture_output=True, text=True, timeout=30)
    assert v2c.returncode != 0  # no community access


def test_audit_passes_after_the_baseline(inv):
    result = audit(inv, select(inv, [WEB]), login("lab"), show_progress=False).by_host[WEB]
    assert result.ok, result.error
    assert controls_of(result)["AUTH-02"] and controls_of(result)["BAK-01"]


def test_backup_reached_the_backup_server(hosts):
    listing = ssh(hosts, BACKUP, "ls /srv/backup/data/portal-web-01/")
    assert "www-cong-ttdt.tar.gz" in listing


def test_proxmox_node_writes_its_network_and_repositories(inv, hosts):
    first = runner.run(inv, "proxmox-node", limit=[PVE], show_progress=False).results.by_host[PVE]
    assert first.ok and first.changed, first.error
    interfaces = ssh(hosts, PVE, "cat /etc/network/interfaces.d/hatang-pve")
    assert "bridge-vlan-aware yes" in interfaces
    assert f"address {hosts[PVE].address}" in interfaces
    assert "pve-no-subscription" in ssh(hosts, PVE, "cat /etc/apt/sources.list.d/pve-no-subscription.list")
    assert "pve-core-04-corosync" in ssh(hosts, PVE, "cat /etc/hosts")
    assert not runner.run(inv, "proxmox-node", limit=[PVE], show_progress=False).results.by_host[PVE].changed


def test_playbook_through_ansible_runner_reports_per_host(inv):
    run = playbook_runner.run(inv, playbook_runner.resolve(playbook_runner.PLAYBOOKS_DIR / "baseline-audit.yml"),
                              limit=[WEB, PVE], check=True, show_progress=False)
    assert run.results.by_host[WEB].ok, run.results.by_host[WEB].error
    assert not run.results.by_host[WEB].changed
    assert not run.results.by_host[PVE].ok  # no baseline there yet
    assert "AUTH-02" in run.results.by_host[PVE].error
    assert (run.artifacts / "job_events").is_dir() and any((run.artifacts / "job_events").iterdir())


def test_postgresql_serves_dumps_to_backup_and_converges(inv, hosts):
    first = runner.run(inv, "postgresql", limit=[DB], show_progress=False).results.by_host[DB]
    assert first.ok and first.changed, first.error
    assert ssh(hosts, DB, "runuser -u postgres -- psql -qAtc 'SHOW password_encryption'").strip() == "scram-sha-256"
    assert "pg_dumpall.sql.gz" in ssh(hosts, BACKUP, f"ls /srv/backup/data/{DB}/")
    again = runner.run(inv, "postgresql", limit=[DB], show_progress=False).results.by_host[DB]
    assert again.ok and not again.changed, again.data["operations"]


def test_servers_back_up_at_the_same_time(hosts):
    """Nightly jobs start together: concurrent clients must not lock each other out."""
    loop = f"for i in 1 2 3 4 5; do {backup.SCRIPT} || exit 1; done 2>&1; echo BACKUP-OK"
    with ThreadPoolExecutor(max_workers=2) as pool:
        outputs = list(pool.map(lambda name: ssh(hosts, name, loop), [WEB, DB]))
    for name, output in zip([WEB, DB], outputs):
        assert output.rstrip().endswith("BACKUP-OK"), f"{name}: {output}"


@pytest.mark.parametrize("host, moved, said", [
    (WEB, "/srv/www/cong-ttdt/index.html", "web-portal: site present: exit 1: missing /srv/www/cong-ttdt/index.html"),
    (DB, "/etc/postgresql/15/main/conf.d/50-hatang.conf", "postgresql: cluster data: exit 1: missing /etc/postgresql/15/main/conf.d/50-hatang.conf"),
    (DB, "/var/lib/postgresql/15/main/PG_VERSION", "postgresql: cluster data: exit 1: missing /var/lib/postgresql/15/main/PG_VERSION"),
    (BACKUP, "/srv/backup/.ssh/authorized_keys", "backup-server: repository and key: exit 1: the backup key is not limited to"),
])
def test_the_role_health_checks_pass_and_fail_on_what_each_role_needs(inv, hosts, host, moved, said):
    """The checks restore-test runs in a restored copy (deploy/health.py), over SSH here."""
    from hatang.deploy.health import check_hosts

    def checked():
        return check_hosts(select(inv, [host]), login("lab"), show_progress=False).by_host[host]

    assert checked().ok, checked().error
    ssh(hosts, host, f"mv {moved} {moved}.away")
    try:
        broken = checked()
    finally:
        ssh(hosts, host, f"mv {moved}.away {moved}")
    assert not broken.ok and broken.error.startswith(f"{host}: {said}"), broken.error
    assert checked().ok


def test_deploy_all_runs_each_role_of_a_converged_host_without_change():
    proc = subprocess.run([*HATANG, "deploy", "all", "--limit", WEB, "--json"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    runs = {run["role"]: run["hosts"] for run in json.loads(proc.stdout)["runs"]}
    assert set(runs) == {"base", "web-portal"}
    assert all(h["ok"] and not h["changed"] for hosts in runs.values() for h in hosts)

def test_unreachable_host_and_failing_operation_fail_alone(inv, hosts):
    ssh(hosts, PVE, "echo 'this is not an apt source' > /etc/apt/sources.list")
    report = deploy_cli("base", "--limit", WEB, "--limit", PVE, "--limit", "dvc-web-01")  # dvc-web-01 is not in the lab
    assert report["exit"] != 0
    by_host = report["by_host"]
    assert by_host[WEB]["ok"] and not by_host[WEB]["changed"]
    assert not by_host[PVE]["ok"] and "Install" in by_host[PVE]["error"]
    assert not by_host["dvc-web-01"]["ok"] and "connect" in by_host["dvc-web-01"]["error"].lower()



def test_hosts_down_leaves_nothing_and_up_brings_them_back(lab_small, hosts):
    from hatang.lab import hosts as lab_hosts
    from hatang.lab import timeserver
    from hatang.lab.processes import is_alive

    names = [h.name for h in lab_hosts.selected(lab_small)]
    time_servers = [h.name for h in timeserver.served(lab_small.inventory, lab_hosts.selected(lab_small))][:1]  # one holds them all
    recorded = lab_small.registry.select(lab_hosts.PROCESS_PREFIX)
    assert sorted(p.name for p in recorded) == sorted(lab_hosts.PROCESS_PREFIX + n for n in names + time_servers)
    lab_hosts.down(lab_small)
    netns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert lab_hosts.NETNS_PREFIX not in netns
    assert subprocess.run(["ip", "link", "show", lab_hosts.BRIDGE], capture_output=True).returncode != 0
    assert not (lab_small.state_dir / "hosts").exists()
    assert not [p for p in recorded if is_alive(p)]
    lab_hosts.up(lab_small)  # the session's lab, as the other rooms' tests expect it
    assert all(item["ssh"] for item in lab_hosts.status(lab_small))

