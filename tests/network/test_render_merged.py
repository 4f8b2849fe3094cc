"""The merged province renders (issue 22): every router in both environments, the other
areas' cores on their production platform with their uplink to the IIC's core."""

from __future__ import annotations

import pytest

from hatang.inventory import load
from hatang.network.render import Renderer
from hatang.paths import MERGED_INVENTORY


@pytest.mark.parametrize("env", ["lab", "production"])
def test_every_router_of_the_merged_province_renders(fake_secrets, env: str) -> None:
    inv = load(MERGED_INVENTORY, env)
    rendered = {item.device: item.text for item in Renderer(inv).render_many([d.name for d in inv.routers()])}
    assert len(rendered) == 547
    uplink = inv.uplink("core-phu-tho")
    assert uplink.peer == "core-iic"
    assert str(uplink.address.ip) in rendered["core-phu-tho"]
    assert str(uplink.peer_address.ip) in rendered["core-iic"]  # the IIC's core has the other end
    if env == "production":
        assert str(uplink.address.ip).startswith("10.25.")  # Phú Thọ's own supernet
        assert "ge-0/0/0" in rendered["core-phu-tho"]  # Junos, as the IIC's core
