"""The requests' limiter: a freed place goes to a target that answers before a suspect
one, and a waiter that gives up never takes a place with it."""

from __future__ import annotations

import asyncio

from hatang.monitoring.limiter import Limiter


def test_a_freed_place_goes_to_a_live_target_first() -> None:
    async def scenario() -> list[str]:
        limit, order = Limiter(1), []
        await limit.acquire("held")
        limit.unanswered("dead")

        async def wait(key: str) -> None:
            await limit.acquire(key)
            order.append(key)
            limit.release()

        waiters = [asyncio.create_task(wait(key)) for key in ("dead", "dead", "live")]
        await asyncio.sleep(0)  # all three queued, the dead ones first
        limit.release()
        await asyncio.gather(*waiters)
        return order

    assert asyncio.run(scenario()) == ["live", "dead", "dead"]


def test_a_target_that_answers_is_no_longer_suspect() -> None:
    limit = Limiter(4)
    limit.unanswered("router")
    limit.answered("router")
    assert "router" not in limit.suspects


def test_a_cancelled_waiter_leaves_no_place_taken() -> None:
    async def scenario() -> int:
        limit = Limiter(1)
        await limit.acquire("a")
        waiter = asyncio.create_task(limit.acquire("b"))
        await asyncio.sleep(0)
        waiter.cancel()
        await asyncio.gather(waiter, return_exceptions=True)
        limit.release()
        await asyncio.wait_for(limit.acquire("c"), 1)  # the place came back
        return limit.free

    assert asyncio.run(scenario()) == 0
