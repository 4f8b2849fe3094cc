"""The deploy room without a lab: host selection, pyinfra's output read per host, the
baseline's controls and playbook, and bad input on the command line."""

from __future__ import annotations

import subprocess
import sys
from ipaddress import ip_network
from pathlib import Path

import pytest

from hatang.deploy import runner
from hatang.deploy.baseline import audit, controls, playbook, script
from hatang.deploy.baseline.expected import environment
from hatang.deploy.intent import for_host
from hatang.deploy.targets import select
from hatang.errors import HatangError
from hatang.inventory import load

HATANG = [sys.executable, "-m", "hatang.cli"]


@pytest.fixture(scope="module")
def inv():
    return load(None, "production")


def test_every_role_the_inventory_names_has_a_deploy(inv):
    named = {role for host in inv.linux_hosts() for role in host.roles}
    assert named <= set(runner.roles()), f"roles without a deploy file: {named - set(runner.roles())}"


def test_limit_selects_by_name_group_and_glob(inv):
    assert [h.name for h in select(inv, ["db-pg-0[12]"], role="postgresql")] == ["db-pg-01", "db-pg-02"]
    assert {h.name for h in select(inv, ["service_cong_ttdt"], role="web-portal")} == {"portal-web-01", "portal-web-02", "portal-web-03"}
    assert {h.kind for h in select(inv, ["pve_nodes"])} == {"pve-node"}


def test_a_limit_matching_nothing_names_the_pattern(inv):
    with pytest.raises(HatangError, match="'db-pg-01' matches no server with the role 'web-portal'"):
        select(inv, ["db-pg-01"], role="web-portal")


def test_an_unknown_role_lists_the_roles():
    with pytest.raises(HatangError, match="no deploy for role 'mail'.*base"):
        runner.role_file("mail")


def test_results_from_pyinfra_json_keep_hosts_apart(tmp_path):
    report = {"plan": [], "results": {"failed_hosts": ["gone-1", "web-2"], "operations": [
        {"name": "Install nginx", "success": ["web-1"], "error": ["web-2"], "no_change": []},
        {"name": "Write /etc/nginx/conf.d/x.conf", "success": [], "error": [], "no_change": ["web-1"]},
    ]}}
    results = runner.results_from(report, ["web-1", "web-2", "gone-1"], dry=False, log_file=tmp_path / "pyinfra.log")
    assert results.by_host["web-1"].ok and results.by_host["web-1"].changed
    assert results.by_host["web-1"].data["operations"] == ["Install nginx"]
    assert not results.by_host["web-2"].ok and results.by_host["web-2"].error.startswith("Install nginx: failed")
    assert not results.by_host["gone-1"].ok and "could not connect" in results.by_host["gone-1"].error


def test_a_stopped_run_names_the_operation_it_stopped_in():
    log = ["--> Starting operation: Install nginx\n", "    [web-1] Success\n", "--> Starting operation: Back up now\n",
           "    [web-1] Error: executed 0 commands\n", "--> pyinfra error: No hosts remaining!\n"]
    assert runner.stop_reason(log, 1) == "--> pyinfra error: No hosts remaining! (last operation started: Back up now)"
    assert runner.stop_reason([], 2) == "exit 2"


def test_a_run_pyinfra_stopped_fails_every_host_with_its_reason(tmp_path):
    results = runner.results_from(None, ["web-1", "web-2"], dry=False, log_file=tmp_path / "pyinfra.log", stopped="No hosts remaining!")
    assert [r.ok for r in results] == [False, False]
    assert all("No hosts remaining!" in r.error for r in results)


def test_a_dry_plan_reports_what_would_change():
    report = {"plan": [{"name": "Install nginx", "hosts_with_change": ["web-1"], "hosts_with_conditional_change": ["web-2"]},
                       {"name": "Restart nginx", "hosts_with_change": [], "hosts_with_conditional_change": []}], "results": None}
    results = runner.results_from(report, ["web-1", "web-2", "web-3"], dry=True, log_file=Path("pyinfra.log"))
    assert [r.host for r in results if r.changed] == ["web-1", "web-2"]
    assert all(r.ok for r in results)


def test_controls_have_ids_references_and_areas():
    ids = [c.id for c in controls.CONTROLS]
    assert len(ids) == len(set(ids))
    areas = {c.area for c in controls.CONTROLS}
    assert {"authentication", "access control", "logging", "backup"} <= areas
    assert all("85/2016/NĐ-CP" in c.reference and "TCVN 11930:2017 §7" in c.reference for c in controls.CONTROLS)
    assert {"AUTH-06", "AUTH-07", "ACC-03", "FW-01"} <= set(ids)  # uid 0, SSH sources, account files, firewall


def test_checks_survive_ansible_templating():
    """Ansible templates variable values again: no check may hold Jinja's delimiters."""
    for text in (controls.PRELUDE, *(c.check for c in controls.CONTROLS)):
        assert not any(d in text for d in ("{{", "{%", "{#"))


def test_checks_run_in_a_shell_and_report_found_and_expected():
    chosen = [controls.Control("T-1", "test", "passes", "", "", "", "true"),
              controls.Control("T-2", "test", "fails", "", "", "", "fail \"value $HATANG_X\" 'value 1'")]
    output = subprocess.run(["/bin/sh", "-s"], input=script.audit_script(chosen, {"HATANG_X": "2"}), capture_output=True, text=True).stdout
    outcomes = audit.parse(output, chosen)
    assert [(o.control.id, o.passed) for o in outcomes] == [("T-1", True), ("T-2", False)]
    assert outcomes[1].message == "found value 2; expected value 1"
    assert audit.failure_text("web-1", outcomes) == "web-1: T-2: found value 2; expected value 1"
    with pytest.raises(HatangError, match="T-2"):
        audit.parse(output.splitlines()[0], chosen)


def test_prelude_compares_sets_and_modes(tmp_path):
    def run(snippet: str) -> subprocess.CompletedProcess:
        return subprocess.run(["/bin/sh", "-c", controls.PRELUDE + snippet], capture_output=True, text=True)

    assert run("sets_equal \"$(printf 'a\\nb')\" \"$(printf 'b\\na')\"").returncode == 0
    differ = run("sets_equal \"$(printf 'a\\nc')\" \"$(printf 'a\\nb')\"")
    assert differ.returncode == 1 and differ.stdout == "unexpected [c]; missing [b]"
    f = tmp_path / "f"
    f.write_text("x")
    f.chmod(0o604)  # world-readable: as octal, 604 > 640 fails although 604 < 640 as a number
    modes = run(f"file_modes '{f}=640 root root'")
    assert modes.returncode == 1 and modes.stdout.startswith(f"found {f} 604 root root; expected {f} 640 root root")
    f.chmod(0o640)
    assert run(f"file_modes '{f}=640 root root'").returncode == 0


def test_firewall_rules_follow_the_roles_of_the_inventory():
    from hatang.deploy.baseline import firewall
    from hatang.deploy.intent import for_host

    web, db, backup = (firewall.rules(for_host(n, "", "lab")) for n in ("portal-web-01", "db-pg-01", "backup"))
    assert web.ssh == ("ip saddr 198.19.0.0/22 tcp dport 22 accept",)
    assert "tcp dport { 80, 443 } accept" in web.other and not any("5432" in r for r in web.other)
    assert "ip saddr { 198.19.19.0/24, 198.19.21.0/24 } tcp dport 5432 accept" in db.other
    assert len(backup.ssh) == 2 and "198.19.20.2" in backup.ssh[1]  # the backup clients send over SSH
    assert "policy drop;" in firewall.ruleset(web)


def test_backup_control_applies_to_guests_and_its_job_part_to_data_holders(inv):
    by_name = {h.name: h for h in inv.linux_hosts()}
    assert "BAK-01" in [c.id for c in audit.applicable(by_name["db-pg-01"])]
    assert "BAK-01" in [c.id for c in audit.applicable(by_name["mail-mx-01"])]  # a guest: its PVE backup
    assert "BAK-01" not in [c.id for c in audit.applicable(by_name["pve-core-01"])]
    assert "BAK-01" not in [c.id for c in audit.applicable(by_name["mail-mx-01"], role="base")]  # no deploy repairs it
    dump = {n: environment(for_host(n, "", "lab"))["HATANG_BACKUP_DUMP"] for n in ("db-pg-01", "portal-web-01", "mail-mx-01")}
    assert dump == {"db-pg-01": "yes", "portal-web-01": "yes", "mail-mx-01": "no"}


def test_shipped_playbook_is_rendered_from_the_controls():
    assert playbook.PATH.read_text() == playbook.render(), "run: python -m hatang.deploy.baseline.playbook"


def test_cli_rejects_a_limit_that_matches_nothing():
    proc = subprocess.run([*HATANG, "deploy", "base", "--env", "production", "--limit", "no-such-host", "--dry"], capture_output=True, text=True)
    assert proc.returncode != 0
    assert "--limit 'no-such-host' matches no server" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_cli_rejects_an_unknown_playbook():
    proc = subprocess.run([*HATANG, "deploy", "playbook", "no-such.yml"], capture_output=True, text=True)
    assert proc.returncode != 0 and "no playbook no-such.yml" in proc.stderr and "baseline-audit.yml" in proc.stderr


def test_lab_hosts_cover_every_role_and_reject_unknown_names(tmp_path, monkeypatch):
    from hatang.lab import hosts
    from hatang.lab.context import LabContext

    ctx = LabContext(load(None, "lab"), "small", tmp_path)
    monkeypatch.delenv("HATANG_LAB_HOSTS", raising=False)
    roles = {role for host in hosts.selected(ctx) for role in host.roles}
    assert set(runner.roles()) <= roles
    assert all(h.address.ip in ip_network("198.18.0.0/15") for h in hosts.selected(ctx))
    monkeypatch.setenv("HATANG_LAB_HOSTS", "db-pg-01,no-such-vm")
    with pytest.raises(HatangError, match="no-such-vm"):
        hosts.selected(ctx)


def test_every_control_and_its_clauses_are_in_the_docs_table():
    from hatang.paths import REPO_ROOT

    rows = [line for line in (REPO_ROOT / "docs" / "deploy.md").read_text().splitlines() if line.startswith("| ")]
    for c in controls.CONTROLS:
        row = next((r for r in rows if r.startswith(f"| {c.id} |")), None)
        assert row is not None, f"{c.id} missing from docs/deploy.md"
        assert c.decree in row and c.clause in row and c.title in row


def test_the_corpus_breaks_name_real_controls_and_hosts():
    from hatang.deploy.baseline import drift

    assert len(drift.BREAKS) >= 20
    assert {i for b in drift.BREAKS for i in b.controls} <= set(controls.BY_ID)
    assert {b.host for b in drift.BREAKS} <= set(drift.HOSTS)
    assert set(controls.BY_ID) <= {i for b in drift.BREAKS for i in b.controls}  # every control is broken at least once


def test_the_time_control_requires_synchronisation_to_an_iic_server(tmp_path):
    """LOG-04 on what the running chronyd reports (``chronyc -n -c``, stubbed with its CSV
    output): synchronised to an IIC server passes at once; not synchronised, or
    synchronised to another server, fails after the bounded wait, naming what it found;
    not synchronised with every source offline fails at once."""
    conf = tmp_path / "chrony.conf"
    conf.write_text("server 198.19.22.5 iburst\nserver 198.19.22.6 iburst\n")
    stubs = tmp_path / "bin"
    stubs.mkdir()

    def stub(name: str, body: str) -> None:
        (stubs / name).write_text("#!/bin/sh\n" + body)
        (stubs / name).chmod(0o755)

    stub("pidof", "exit 0\n")
    stub("sleep", "echo slept >> " + str(tmp_path / "waited") + "\n")
    stub("readlink", f"echo /usr/share/zoneinfo/{controls.TIMEZONE}\n")
    check = controls.BY_ID["LOG-04"].check.replace(controls.CHRONY_CONF, str(conf))
    tail = "0.000000001,0.000000002,0.000000003,-1.234,0.001,0.010,0.000123,0.000234,64.2"

    def run(tracking: str, activity: str = "2,0,0,0,0") -> subprocess.CompletedProcess:
        stub("chronyc", 'case "$*" in *sources*) printf \'^,*,198.19.22.5,11,6,377,34,0.0,0.0,0.0\\n^,+,198.19.22.6,11,6,377,34,0.0,0.0,0.0\\n\' ;;\n'
                        f'*tracking*) echo \'{tracking}\' ;; *activity*) echo \'{activity}\' ;; esac\n')
        (tmp_path / "waited").unlink(missing_ok=True)
        env = {"PATH": f"{stubs}:/usr/bin:/bin", "HATANG_NTP_SERVERS": "198.19.22.5\n198.19.22.6"}
        return subprocess.run(["/bin/sh", "-c", controls.PRELUDE + check], capture_output=True, text=True, env=env)

    synced = run(f"C6131605,198.19.22.5,11,1764926400.123456789,{tail},Normal")
    assert synced.returncode == 0 and not (tmp_path / "waited").exists(), synced.stdout
    unsynced = run(f"00000000,,0,0.000000000,{tail},Not synchronised")
    assert unsynced.returncode == 1
    assert unsynced.stdout == ("found reference none, leap status Not synchronised (chronyc tracking); "
                               "expected synchronised to one of 198.19.22.5 198.19.22.6, leap status Normal\n")
    assert len((tmp_path / "waited").read_text().split()) == controls.TIME_SYNC_WAIT_S - 1
    # every source offline (online, offline, burst to online, burst to offline, unresolved):
    # nothing would come, so no wait; one still bursting back to offline is still waited for
    offline = run(f"00000000,,0,0.000000000,{tail},Not synchronised", activity="0,2,0,0,0")
    assert offline.returncode == 1 and not (tmp_path / "waited").exists()
    assert offline.stdout.startswith("found reference none, leap status Not synchronised (chronyc tracking), every source offline (chronyc activity); ")
    bursting = run(f"00000000,,0,0.000000000,{tail},Not synchronised", activity="0,1,0,1,0")
    assert bursting.returncode == 1 and len((tmp_path / "waited").read_text().split()) == controls.TIME_SYNC_WAIT_S - 1
    foreign = run(f"C6120063,198.18.0.99,3,1764926400.123456789,{tail},Normal")
    assert foreign.returncode == 1 and foreign.stdout.startswith("found reference 198.18.0.99, leap status Normal"), foreign.stdout
