"""The simulator as a lab component: started through the lab's process registry, its token
in the lab secrets, found by hatang without any override, stopped by recorded pid."""

from __future__ import annotations

import pytest

from hatang.cloud.plan import plan
from hatang.credentials import secret
from hatang.inventory import load
from hatang.lab import pvesim
from hatang.lab.pvesim.component import PROC
from hatang.lab.context import LabContext, lab_state_dir
from hatang.lab.processes import is_alive

from .conftest import read_budget


def test_component_up_status_down(hatang_tmp_env, monkeypatch: pytest.MonkeyPatch):
    for key in ("HATANG_SECRET_PVE_API_TOKEN_ID", "HATANG_SECRET_PVE_API_SECRET"):
        monkeypatch.delenv(key)
    ctx = LabContext(load(None, "lab"), "small", lab_state_dir())
    try:
        pvesim.up(ctx)
        proc = ctx.registry.read()[PROC]
        assert is_alive(proc)
        assert secret("pve-api", "token_id", env="lab") == "hatang@pve!hatang"
        assert [row["running"] for row in pvesim.status(ctx)] == [True, True]
        pvesim.up(ctx)  # idempotent: the same process
        assert ctx.registry.read()[PROC].pid == proc.pid
        assert plan(load(None, "lab")).api_calls == read_budget(load(None, "lab"))
    finally:
        pvesim.down(ctx)
    assert not is_alive(proc)
    with pytest.raises(Exception, match="pve-api"):
        secret("pve-api", "token_id", env="lab")
