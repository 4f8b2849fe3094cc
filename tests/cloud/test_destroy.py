"""destroy asks first and never touches a guest hatang does not manage."""

from __future__ import annotations

import pytest

from hatang import audit
from hatang.cloud.apply import apply
from hatang.cloud.destroy import destroy
from hatang.cloud.drift import drift
from hatang.cloud.plan import plan
from hatang.errors import HatangError, UserAbort

from .conftest import OPERATOR, guests, token_client, wait_task


def test_destroy_refuses_an_untagged_guest(sim, inv):
    ops = token_client(sim, "pve-core", "ops@pve!manual", OPERATOR)
    upid = ops.nodes("pve-core-01").qemu(9000).clone.post(newid=150, name="legacy-erp", full=1)
    wait_task(ops, "pve-core-01", upid)
    asked = []
    with pytest.raises(HatangError) as refused:
        destroy(inv, "legacy-erp", confirm=lambda q: asked.append(q) or True)
    assert "not tagged 'hatang'" in refused.value.message and "vmid 150" in refused.value.message
    assert asked == [] and len(guests(ops, "legacy-erp")) == 1


def test_destroy_asks_then_removes_the_managed_guest_and_audits(sim, inv):
    apply(inv, concurrency=3, plan=plan(inv, clusters=["pve-dmz"]), show_progress=False)
    api = token_client(sim, "pve-dmz", "auditor@pve!check", "PVEAuditor")
    with pytest.raises(UserAbort):
        destroy(inv, "portal-web-01", confirm=lambda q: False)
    assert len(guests(api, "portal-web-01")) == 1
    result = destroy(inv, "portal-web-01", confirm=lambda q: "portal-web-01" in q)
    assert result["ok"] and "next apply creates it again" in result["note"]
    assert guests(api, "portal-web-01") == []
    assert not any("vm:" + str(result["vmid"]) in r["resources"] for r in api.cluster.ha.rules.get())
    assert not [i for i in drift(inv, clusters=["pve-dmz"]).items if i.name == "portal-web-01"]  # not drift: hatang did it
    record = [r for r in audit.read("cloud") if r["action"] == "destroy"][-1]
    assert record["name"] == "portal-web-01" and record["ok"] is True


def test_destroy_of_an_unknown_name_says_so(sim, inv):
    with pytest.raises(HatangError, match="no guest named 'nope'"):
        destroy(inv, "nope", confirm=lambda q: True)
