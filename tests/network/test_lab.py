"""Against the small lab (real FRR, sshd, snmpd): push, convergence, rollback, drift,
backups, per-device errors, a connection dropped mid-commit, onboarding."""

from __future__ import annotations

import functools
import json
import shutil
import subprocess
import sys
import threading
import time

import paramiko
import pytest
from napalm.base.exceptions import CommitError, ConnectionException

from hatang.credentials import secret
from hatang.inventory import load
from hatang.network import backup as backups
from hatang.network.connect import LAB_ADMIN_CREDENTIAL, connected, driver_for
from hatang.network.drivers import frr_agent, frr_parse
from hatang.network.drivers.frr import CommitInterrupted
from hatang.network.drivers.ssh import HOST_KEY_POLICIES, SshSession
from hatang.network.push import push
from hatang.network.render import Renderer
from hatang.paths import DEFAULT_INVENTORY

pytestmark = pytest.mark.lab
HATANG = [sys.executable, "-m", "hatang.cli"]
#: Its code sorts first in district 243, so the small lab includes it; its name sorts
#: last, so the lab's host-side interface names (by province position) do not shift.
NEW_COMMUNE = {"code": "08700", "name": "Yên Thử", "slug": "yen-thu", "device": "cpe-yen-thu"}


def hatang(*args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run([*HATANG, *args], capture_output=True, text=True, timeout=timeout)


def vtysh(router: str, *commands: str) -> str:
    argv = ["vtysh", "-N", router]
    for command in commands:
        argv += ["-c", command]
    return subprocess.run(argv, capture_output=True, text=True, check=True).stdout


@pytest.fixture(scope="module")
def configured(lab_small):
    """The small lab with every router pushed from day-0 (through the CLI)."""
    proc = hatang("net", "push", "--all", "--wave-size", "4", "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(proc.stdout)
    return lab_small, report


def test_push_converges_and_a_second_push_changes_nothing(configured) -> None:
    lab, report = configured
    statuses = {d["host"]: d["data"]["status"] for d in report["devices"]}
    assert set(statuses) == set(lab.device_names)
    assert report["waves"][0] == ["core-iic"] and report["waves"][1] == ["dr-vinh-yen"]
    for device in report["devices"]:
        checks = device["data"].get("checks", {})
        assert device["ok"], device
        assert all(v is not False for v in checks.values()), device
    inv = lab.inventory
    with connected(inv, "dr-vinh-yen") as district:
        full = {n["interface"] for n in district.get_ospf_neighbors() if n["is_full"]}
    assert {p.name for p in inv.ports("dr-vinh-yen") if p.peer in lab.device_names} <= full
    lan = str(inv.ports("cpe-tich-son")[-1].address.ip)
    with connected(inv, "core-iic") as core:
        assert core.ping(lan, source=str(inv.loopback("core-iic")), count=2)["success"]["packet_loss"] == 0
    again = hatang("net", "push", "--all", "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["counts"] == {"unchanged": len(lab.device_names)}


def test_broken_uplink_is_rolled_back_and_the_wave_completes(configured) -> None:
    lab, _ = configured
    inv = lab.inventory
    renderer = Renderer(inv)
    good = renderer.render("cpe-lien-bao").text
    uplink = inv.uplink("cpe-lien-bao")
    broken = good.replace(f" ip address {uplink.address}", " ip address 198.18.7.251/31")
    assert broken != good
    changed = renderer.render("cpe-tich-son").text.replace("description LAN Phuong Vinh Yen, Tich Son cu", "description LAN UBND Phuong Vinh Yen, Tich Son cu")
    report = push(inv, ["cpe-hoi-hop", "cpe-lien-bao", "cpe-tich-son"], configs={"cpe-lien-bao": broken, "cpe-tich-son": changed},
                  check_timeout_s=6, revert_in=8, step_timeout_s=8, max_failures=0, show_progress=False)
    assert report.waves == [["cpe-hoi-hop"], ["cpe-lien-bao", "cpe-tich-son"]]
    # in band, the change cuts its own management: rolled back while the session still
    # lives, else reverted by the router's own timer and verified afterwards
    assert report.status("cpe-lien-bao") in ("rolled-back", "reverted"), report.results["cpe-lien-bao"].error
    assert "no Full adjacency on uplink eth0" in report.results["cpe-lien-bao"].error or "back on its previous configuration" in report.results["cpe-lien-bao"].error
    assert report.status("cpe-tich-son") == "committed"
    assert report.status("cpe-hoi-hop") == "unchanged"
    assert f"ip address {uplink.address}" in vtysh("cpe-lien-bao", "show running-config")
    assert "description LAN UBND Phuong Vinh Yen, Tich Son cu" in vtysh("cpe-tich-son", "show running-config")
    assert push(inv, ["cpe-tich-son"], show_progress=False).status("cpe-tich-son") == "committed"  # back to intent


def test_manual_change_in_vtysh_shows_as_drift(configured) -> None:
    vtysh("cpe-hoi-hop", "configure terminal", "interface eth1", "description changed by hand at 3 am")
    proc = hatang("net", "drift", "--json")
    assert proc.returncode == 4, proc.stderr
    result = json.loads(proc.stdout)
    assert result["drifted"] == ["cpe-hoi-hop"]
    diff = next(d["diff"] for d in result["devices"] if d["host"] == "cpe-hoi-hop")
    # the LAN's description names the 2025 unit first, the old commune second (issue 22)
    assert " interface eth1\n- description changed by hand at 3 am\n+ description LAN Phuong Vinh Yen, Hoi Hop cu " in diff
    fix = hatang("net", "push", "--site", "cpe-hoi-hop", "--json")
    assert fix.returncode == 0 and json.loads(fix.stdout)["counts"] == {"committed": 1}
    assert hatang("net", "drift", "--json").returncode == 0


def test_backup_one_commit_per_run_and_history(configured, tmp_path, monkeypatch) -> None:
    lab, _ = configured
    monkeypatch.setattr(backups, "repository", lambda: tmp_path)
    first = backups.backup(lab.inventory, lab.device_names, show_progress=False)
    assert sorted(first.changed) == sorted(lab.device_names)
    vtysh("cpe-tich-son", "configure terminal", "interface eth1", "description backup test")
    second = backups.backup(lab.inventory, lab.device_names, show_progress=False)
    third = backups.backup(lab.inventory, lab.device_names, show_progress=False)
    assert second.changed == ["cpe-tich-son"] and third.changed == []
    assert [r["commit"] for r in backups.runs()] == [third.commit, second.commit, first.commit]
    history = backups.history("cpe-tich-son")
    assert [h["commit"] for h in history] == [second.commit, first.commit]
    assert "+ description backup test" in history[0]["diff"]
    push(lab.inventory, ["cpe-tich-son"], show_progress=False)


def test_wrong_credentials_and_unreachable_device_are_clear_per_device_errors(configured, monkeypatch) -> None:
    lab, _ = configured
    inv = lab.inventory
    monkeypatch.setenv("HATANG_SECRET_LAB_ADMIN_PASSWORD", "not-the-password")  # the login a push uses
    report = push(inv, ["cpe-tich-son"], show_progress=False, record=False)
    assert report.status("cpe-tich-son") == "failed"
    assert "wrong credentials" in report.results["cpe-tich-son"].error
    monkeypatch.delenv("HATANG_SECRET_LAB_ADMIN_PASSWORD")
    outside = next(d.name for d in inv.routers() if d.name not in lab.device_names)  # no router answers there
    report = push(inv, [outside], open_driver=functools.partial(driver_for, timeout=2), show_progress=False, record=False)
    assert "unreachable" in report.results[outside].error and report.status(outside) == "failed"


def test_host_keys_are_recorded_on_first_contact_then_required(configured, tmp_path) -> None:
    """Against a router's real sshd: an unknown key is refused under ``require`` (the
    production policy) and recorded once under ``record`` (the lab's); a key that differs
    from the recorded one is refused under both, and nothing is recorded over it."""
    lab, _ = configured
    host = str(lab.inventory.mgmt("cpe-tich-son").ip)
    known = tmp_path / "known_hosts"

    def session(host: str, policy: str) -> SshSession:
        return SshSession(host, secret(LAB_ADMIN_CREDENTIAL, "username", env="lab"), secret(LAB_ADMIN_CREDENTIAL, "password", env="lab"),
                          timeout=5, known_hosts=known, host_keys=policy)

    with pytest.raises(ConnectionException, match="unknown SSH host key"):
        session(host, "require").open()
    assert not known.exists()
    for policy in ("record", "record", "require"):  # the second contact records nothing more
        ssh = session(host, policy)
        ssh.open()
        try:
            assert ssh.run("true").status == 0
        finally:
            ssh.close()
    recorded = known.read_text().splitlines()
    assert len(recorded) == 1 and recorded[0].startswith(f"{host} "), recorded
    other = str(lab.inventory.mgmt("cpe-lien-bao").ip)
    forged = paramiko.ECDSAKey.generate()  # the lab's sshd has an ECDSA key too: paramiko asks for the known type
    impostors = {
        "another router's key": recorded[0].replace(host, other, 1) + "\n",  # every lab router has keys of its own
        "a forged key": f"{other} {forged.get_name()} {forged.get_base64()}\n",
    }
    for what, line in impostors.items():
        known.write_text(line)
        for policy in HOST_KEY_POLICIES:
            with pytest.raises(ConnectionException, match="host key CHANGED"):
                session(other, policy).open()
        assert known.read_text() == line, f"{what}: nothing may be recorded over a known key"


def test_connection_dropped_mid_commit_is_reverted_by_the_router(configured) -> None:
    lab, _ = configured
    inv = lab.inventory
    before = vtysh("cpe-lien-bao", "show running-config")
    candidate = Renderer(inv).render("cpe-lien-bao").text.replace("description LAN Lien Bao", "description LAN dropped")
    driver = driver_for(inv, "cpe-lien-bao")
    driver.open()
    driver.load_replace_candidate(config=candidate)
    threading.Timer(0.15, driver._admin_session.client.close).start()  # the link to the router dies
    try:
        driver.commit_config(revert_in=3)
        dropped = False
    except CommitInterrupted as exc:
        dropped = True
        assert "completes it all or nothing" in str(exc)
    finally:
        driver.close()
    time.sleep(5)  # the commit the router may still be finishing, then its 3 s timer: no state tells "over" sooner
    assert vtysh("cpe-lien-bao", "show running-config") == before, f"dropped={dropped}: the router's own timer must have restored it"
    with connected(inv, "cpe-lien-bao") as fresh:
        assert not fresh.has_pending_commit()


def test_a_line_the_daemons_refuse_leaves_the_old_configuration(configured) -> None:
    """vtysh's syntax check passes it; ospfd refuses it (the network already has an
    area). The change around it must not stay either: all or nothing."""
    lab, _ = configured
    inv = lab.inventory
    before = vtysh("cpe-lien-bao", "show running-config")
    lan = next(line.split()[1] for line in before.splitlines() if line.startswith(" network ") and not line.split()[1].endswith(("/31", "/32")))
    candidate = Renderer(inv).render("cpe-lien-bao").text.replace("description LAN Lien Bao", "description LAN refused").replace(
        f" network {lan} area", f" network {lan} area 0.0.0.9\n network {lan} area", 1)
    with connected(inv, "cpe-lien-bao", one_login=True) as driver:
        driver.load_replace_candidate(config=candidate)
        assert f"+ network {lan} area 0.0.0.9" in driver.compare_config()
        with pytest.raises(CommitError, match="rejected the configuration; the previous one is back in place"):
            driver.commit_config(revert_in=60)
        assert not driver.has_pending_commit()
    assert vtysh("cpe-lien-bao", "show running-config") == before


def test_the_drivers_deltas_are_frr_reloads_on_a_running_router(configured, tmp_path) -> None:
    """On a real router, for a change that adds, changes and deletes: what the driver
    shows (the agent reads the running configuration as FRR prints it) is what
    frr-reload.py --test gives for the same candidate, reading the router itself."""
    lab, _ = configured
    running = vtysh("cpe-tich-son", "show running-config")
    candidate = frr_agent.same_hostname(Renderer(lab.inventory).render("cpe-tich-son").text, running)
    candidate = candidate.replace("description LAN", "description LAN moved", 1).replace(" ip ospf passive\n", "", 1).replace(
        "router ospf\n", "router ospf\n max-metric router-lsa administrative\n", 1)
    with connected(lab.inventory, "cpe-tich-son", one_login=True) as driver:
        driver.load_replace_candidate(config=candidate)
        shown = driver.compare_config()
        driver.discard_config()
    (tmp_path / "candidate.conf").write_text(candidate)
    reload = subprocess.run([frr_agent.RELOAD_PY, "--test", "--pathspace", "cpe-tich-son", str(tmp_path / "candidate.conf")],
                            capture_output=True, text=True, timeout=60)
    assert reload.returncode == 0, reload.stderr
    assert shown == frr_parse.deltas_as_diff(frr_parse.reload_deltas(reload.stdout))
    assert "+ max-metric router-lsa administrative" in shown and "- ip ospf passive" in shown and "+ description LAN moved" in shown


def test_driver_merge_confirm_and_rollback(configured) -> None:
    lab, _ = configured
    before = vtysh("cpe-hoi-hop", "show running-config")
    with connected(lab.inventory, "cpe-hoi-hop") as driver:
        driver.load_merge_candidate(config="interface eth1\n description merged by napalm\nexit\n")
        assert "+ description merged by napalm" in driver.compare_config()
        driver.commit_config(revert_in=60)
        assert driver.has_pending_commit()
        driver.confirm_commit()
        assert not driver.has_pending_commit()
        assert "description merged by napalm" in vtysh("cpe-hoi-hop", "show running-config")
        driver.rollback()
    assert vtysh("cpe-hoi-hop", "show running-config") == before


def _forget_router(name: str) -> None:
    """Stop and remove the lab router the onboarding test created (it is not in the
    repository's inventory, so the lab's own down would not remove its FRR files)."""
    from hatang.lab import routerd
    from hatang.lab.context import LabContext
    from hatang.lab.topology import netns_of

    LabContext.load().stop_all(routerd.process_name(name, ""))
    subprocess.run(["ip", "netns", "del", netns_of(name)], capture_output=True)
    routerd.remove_frr(name)


def test_onboard_a_new_commune_end_to_end(configured, tmp_path) -> None:
    lab, _ = configured
    copy = tmp_path / "inventory"
    shutil.copytree(DEFAULT_INVENTORY, copy)
    add = ["site", "add", "--inventory", str(copy), "--district", "243", "--code", NEW_COMMUNE["code"], "--name", NEW_COMMUNE["name"], "--json"]
    added = hatang(*add)
    assert added.returncode == 0, added.stderr
    assert json.loads(added.stdout)["device"]["name"] == NEW_COMMUNE["device"]
    again = hatang(*add)
    assert again.returncode != 0 and "already exists" in again.stderr
    try:
        targets = tmp_path / "targets.json"
        proc = hatang("net", "onboard", NEW_COMMUNE["slug"], "--inventory", str(copy), "--targets-file", str(targets), "--json")
        assert proc.returncode == 0, proc.stdout + proc.stderr
        result = json.loads(proc.stdout)
        statuses = {d["host"]: (d["data"]["status"], d["data"]["checks"]) for d in result["push"]["devices"]}
        assert statuses[NEW_COMMUNE["device"]][0] == "committed"
        assert statuses[NEW_COMMUNE["device"]][1] == {"management": True, "ospf": True, "loopback": True, "snmp": True}
        assert statuses["dr-vinh-yen"][0] == "committed"  # its new downlink
        new_inv = load(copy, "lab")
        assert str(new_inv.mgmt(NEW_COMMUNE["device"]).ip) in targets.read_text()
        assert load(DEFAULT_INVENTORY, "lab").device_by_name.get(NEW_COMMUNE["device"]) is None  # the repository is untouched
    finally:
        _forget_router(NEW_COMMUNE["device"])
        assert hatang("lab", "up", "--size", lab.size, "--inventory", str(DEFAULT_INVENTORY)).returncode == 0
        push(load(DEFAULT_INVENTORY, "lab"), ["dr-vinh-yen"], show_progress=False, record=False)


def test_many_quick_commands_at_once_keep_the_connection(configured) -> None:
    """A push's loopback checks share one SSH connection to the core: dozens of pings a
    second on up to eight channels. Before the session stopped sending EOF after
    commands that take no input, OpenSSH dropped the whole connection within seconds
    ("ieof packet referred to nonexistent channel") and every check after it failed."""
    lab, _ = configured
    inv = lab.inventory
    failures: list[str] = []
    done = [0]
    with connected(inv, "core-iic", one_login=True) as core:
        source = str(inv.loopback("core-iic"))
        targets = [str(inv.loopback("cpe-tich-son")), "198.18.1.250"]  # answers at once; never answers
        deadline = time.monotonic() + 8

        def probe(target: str) -> None:
            while time.monotonic() < deadline and not failures:
                try:
                    core.ping(target, source=source, count=1, timeout=0.2)
                    done[0] += 1
                except Exception as exc:  # noqa: BLE001 - any failure is the finding
                    failures.append(repr(exc))

        threads = [threading.Thread(target=probe, args=(targets[i % 2],)) for i in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert core.is_alive()["is_alive"]
    assert failures == [] and done[0] > 100, (done[0], failures[:3])
