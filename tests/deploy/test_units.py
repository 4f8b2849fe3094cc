"""The deploy room without a lab: host selection, pyinfra's output read per host, the
baseline's controls and playbook, and bad input on the command line."""

from __future__ import annotations

import subprocess
import sys
from ipaddress import ip_network

import pytest

from hatang.deploy import runner
from hatang.deploy.baseline import audit, controls, playbook
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


LOG = """--> Connecting to hosts...
    [web-1]         Connected
    [gone-1]        Could not connect (timed out)
--> Starting operation: Install nginx
    [web-1]         Reading package lists...
    [web-2]         E: Unable to locate package nginx
    [web-2]         Error: executed 1 commands
    [web-1]         Success
--> Starting operation: Write /etc/nginx/conf.d/x.conf
    [web-1]         No changes
"""


def test_pyinfra_log_gives_each_host_its_error_and_changes():
    errors, changed = runner.parse_log(LOG)
    assert errors == {"gone-1": "Could not connect (timed out)", "web-2": "Install nginx: E: Unable to locate package nginx"}
    assert changed == {"web-1": ["Install nginx"]}


def test_results_from_a_report_keep_hosts_apart():
    report = {"plan": [], "results": {"failed_hosts": ["gone-1", "web-2"], "operations": [
        {"name": "Install nginx", "success": ["web-1"], "error": ["web-2"], "no_change": []},
        {"name": "Write /etc/nginx/conf.d/x.conf", "success": [], "error": [], "no_change": ["web-1"]},
    ]}}
    results = runner.results_from(report, ["web-1", "web-2", "gone-1"], LOG, dry=False)
    assert results.by_host["web-1"].ok and results.by_host["web-1"].changed
    assert results.by_host["web-1"].data["operations"] == ["Install nginx"]
    assert not results.by_host["web-2"].ok and "Unable to locate package" in results.by_host["web-2"].error
    assert not results.by_host["gone-1"].ok and "Could not connect" in results.by_host["gone-1"].error


def test_a_dry_plan_reports_what_would_change():
    report = {"plan": [{"name": "Install nginx", "hosts_with_change": ["web-1"], "hosts_with_conditional_change": ["web-2"]},
                       {"name": "Restart nginx", "hosts_with_change": [], "hosts_with_conditional_change": []}], "results": None}
    results = runner.results_from(report, ["web-1", "web-2", "web-3"], "", dry=True)
    assert [r.host for r in results if r.changed] == ["web-1", "web-2"]
    assert all(r.ok for r in results)


def test_controls_have_ids_references_and_areas():
    ids = [c.id for c in controls.CONTROLS]
    assert len(ids) == len(set(ids))
    areas = {c.area for c in controls.CONTROLS}
    assert {"authentication", "access control", "logging", "backup"} <= areas
    assert all("85/2016/NĐ-CP" in c.reference and "TCVN 11930:2017" in c.reference for c in controls.CONTROLS)


def test_checks_run_in_a_shell_and_report_each_control(tmp_path):
    chosen = [controls.Control("T-1", "test", "passes", "ref", "true"), controls.Control("T-2", "test", "fails", "ref", "test -e /nonexistent")]
    output = subprocess.run(["/bin/sh", "-s"], input=audit.script(chosen), capture_output=True, text=True).stdout
    assert [(o.control.id, o.passed) for o in audit.parse(output, chosen)] == [("T-1", True), ("T-2", False)]
    with pytest.raises(HatangError, match="T-2"):
        audit.parse(output.splitlines()[0], chosen)


def test_backup_control_applies_to_data_holders_only(inv):
    by_name = {h.name: h for h in inv.linux_hosts()}
    assert "BAK-01" in [c.id for c in audit.applicable(by_name["db-pg-01"])]
    assert "BAK-01" not in [c.id for c in audit.applicable(by_name["pve-core-01"])]


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
