"""The concurrency limit of SNMP requests, which dead targets cannot monopolise.

A plain semaphore is first come, first served: with more dead targets than places, a
live target's request waits for every dead one queued before it, one timeout per round.
This limiter differs in two ways:

- a request holds its place only for its first timeout (the caller releases it then,
  answered or not; :class:`hatang.monitoring.snmp.Session` waits for a late answer and
  retransmits outside the limit);
- a target whose request went a whole timeout unanswered is *suspect* until it answers
  again, and a freed place goes to the first waiting request of a target that is not
  suspect before any suspect one.

So a live target waits at most one timeout for a place, however many dead ones are
queued: the places free within a timeout, and it goes before them.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Hashable

MAX_SUSPECTS = 65536  # targets remembered as suspect (oldest forgotten first)


class Limiter:
    """At most ``places`` requests at a time; live targets first (see the module)."""

    def __init__(self, places: int):
        self.free = max(1, places)
        self.waiting: list[tuple[Hashable, asyncio.Future]] = []
        self.suspects: OrderedDict[Hashable, None] = OrderedDict()

    def unanswered(self, key: Hashable) -> None:
        """A request of ``key`` went one timeout without an answer."""
        self.suspects[key] = None
        self.suspects.move_to_end(key)
        if len(self.suspects) > MAX_SUSPECTS:
            self.suspects.popitem(last=False)

    def answered(self, key: Hashable) -> None:
        if self.suspects:
            self.suspects.pop(key, None)

    async def acquire(self, key: Hashable) -> None:
        if self.free > 0:
            self.free -= 1
            return
        place: asyncio.Future = asyncio.get_running_loop().create_future()
        entry = (key, place)
        self.waiting.append(entry)
        try:
            await place
        except asyncio.CancelledError:
            if place.done() and not place.cancelled():
                self.release()  # the place was handed over as the wait was cancelled
            elif entry in self.waiting:
                self.waiting.remove(entry)
            raise

    def release(self) -> None:
        """Hand the place to the first waiter of a target not suspect, else the first waiter."""
        while self.waiting:
            chosen = next((i for i, (key, _) in enumerate(self.waiting) if key not in self.suspects), 0)
            _, place = self.waiting.pop(chosen)
            if not place.done():  # a waiter cancelled meanwhile leaves its entry to skip
                place.set_result(None)
                return
        self.free += 1
