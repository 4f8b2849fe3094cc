"""The SNMP wire: credentials, one engine, GET and GETBULK requests (pysnmp 7, asyncio).

This goes one level below pysnmp's ``hlapi`` command functions: they resolve every
request and response var-bind through the MIB view (loading MIB modules), which hatang
never needs since its modules name numeric OIDs. Requests are sent with pysnmp's
``cmdgen`` generators on targets configured by the same LCD configurator ``hlapi``
uses, so transport, retries and SNMPv3 discovery are pysnmp's own. Answers come back
with their var-binds undecoded (:mod:`hatang.monitoring.rawpdu`) and are read by
:mod:`hatang.monitoring.ber`: values are plain ``int``, ``bytes``, OID tuples or
:class:`~hatang.monitoring.ber.Missing`.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from dataclasses import dataclass, field
from typing import Any, Literal

from pysnmp.entity.engine import SnmpEngine
from pysnmp.entity.rfc3413 import cmdgen
from pysnmp.hlapi.v3arch.asyncio import auth as hlauth
from pysnmp.hlapi.v3arch.asyncio.lcd import CommandGeneratorLcdConfigurator
from pysnmp.hlapi.v3arch.asyncio.transport import UdpTransportTarget
from pysnmp.proto import errind

from hatang.monitoring import rawpdu
from hatang.monitoring.ber import Missing, Oid, VarBind, decode_varbinds
from hatang.monitoring.limiter import Limiter

AUTH_PROTOCOLS = {
    "MD5": hlauth.USM_AUTH_HMAC96_MD5,
    "SHA": hlauth.USM_AUTH_HMAC96_SHA,
    "SHA256": hlauth.USM_AUTH_HMAC192_SHA256,
    "SHA512": hlauth.USM_AUTH_HMAC384_SHA512,
}
PRIV_PROTOCOLS = {
    "DES": hlauth.USM_PRIV_CBC56_DES,
    "AES": hlauth.USM_PRIV_CFB128_AES,
    "AES256": hlauth.USM_PRIV_CFB256_AES,
}
_LCD = CommandGeneratorLcdConfigurator()
MAX_WAIT_S = 30.0  # the longest one request waits, whatever the deadline: no live agent is slower
PYSNMP_FORGET_S = MAX_WAIT_S + 1.0  # pysnmp forgets a request after this (hatang's clock decides before);
# an unanswered one stays in pysnmp's cache until then, which every timer tick walks
MAX_VARBINDS = 100_000  # per poll of one module: about 40 times the largest router table
_TARGETS: "weakref.WeakKeyDictionary[SnmpEngine, dict[tuple, str]]" = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class SnmpAuth:
    """How to talk to an agent: SNMPv2c with a community, or SNMPv3 authPriv."""

    version: Literal["v2c", "v3"] = "v3"
    community: str = field(default="", repr=False)
    username: str = ""
    auth_key: str = field(default="", repr=False)
    priv_key: str = field(default="", repr=False)
    auth_protocol: str = "SHA"
    priv_protocol: str = "AES"

    def pysnmp(self) -> hlauth.CommunityData | hlauth.UsmUserData:
        if self.version == "v2c":
            return hlauth.CommunityData(self.community, mpModel=1)
        return hlauth.UsmUserData(
            self.username,
            self.auth_key,
            self.priv_key,
            authProtocol=AUTH_PROTOCOLS[self.auth_protocol],
            privProtocol=PRIV_PROTOCOLS[self.priv_protocol],
        )


def dotted(oid: Oid) -> str:
    return ".".join(map(str, oid))


class SnmpFailure(Exception):
    """A request that got no usable answer; the message is meant for the user."""


def describe(indication: errind.ErrorIndication, auth: SnmpAuth) -> str:
    """The user's words for pysnmp's error indications (timeouts are hatang's own)."""
    if isinstance(indication, errind.WrongDigest):
        return f"SNMPv3 authentication failed for user '{auth.username}': wrong auth key or protocol ({auth.auth_protocol})"
    if isinstance(indication, errind.DecryptionError):
        return f"SNMPv3 decryption failed for user '{auth.username}': wrong priv key or protocol ({auth.priv_protocol})"
    if isinstance(indication, errind.UnknownUserName):
        return f"the agent does not know SNMPv3 user '{auth.username}'"
    if isinstance(indication, errind.UnsupportedSecurityLevel):
        return f"the agent refuses authPriv for user '{auth.username}'"
    return f"SNMP error: {indication}"


class Session:
    """Requests to one agent through a shared engine.

    Each request is sent again every ``timeout`` seconds, ``retries`` times. Until the
    agent has answered once, a request gives up after ``(retries + 1) × timeout`` (as
    gosnmp does for snmp_exporter: a dead router fails fast, and its ``up`` 0 reaches
    Prometheus early); once it has answered, the agent is alive and merely slow, and an
    answer to any transmission is taken until the deadline: ``deadline`` (a
    ``time.monotonic()`` instant: the scrape's), or ``budget_s`` after the session's
    first request had its place (a poll of many targets, whose later ones wait their
    turn). Never past it either way. pysnmp's own retransmissions forgot the earlier
    message, so a slow agent's late answer was thrown away even within the deadline;
    hatang retransmits itself, and keeps listening.

    ``limit`` (shared by every session of a process) bounds the requests in their first
    ``timeout``: a request still unanswered then gives its place up, marks its target
    suspect, and goes on waiting outside the limit (:mod:`hatang.monitoring.limiter`),
    so dead targets, however many, never queue a live one for more than one timeout.
    """

    def __init__(
        self, engine: SnmpEngine, address: str, port: int, auth: SnmpAuth, *, timeout: float, retries: int,
        deadline: float | None = None, budget_s: float | None = None, limit: Limiter | None = None,
    ):
        self.engine, self.auth, self.timeout, self.retries = engine, auth, timeout, retries
        self.address, self.port = address, port
        self.deadline, self.budget_s, self.limit = deadline, budget_s, limit
        self.varbinds_returned = 0
        self.requests = 0  # packets sent, retransmissions included
        self.answers = 0
        self.wire_s = 0.0  # time spent waiting for answers (snmp_exporter's walk duration)
        self._target_name: str | None = None

    async def _target(self) -> str:
        """The engine's name for this agent, configured once per engine: resolving the
        address (in a thread) and configuring the engine on every scrape costs more than
        the scrape's own SNMP for a small router. pysnmp itself never retransmits (see
        :meth:`_send`); its timer only forgets a request after the whole wait."""
        if self._target_name is None:
            known = _TARGETS.setdefault(self.engine, {})
            key = (self.address, self.port, self.auth, self.timeout, self.retries)
            if key not in known:
                rawpdu.install(self.engine)
                transport = await UdpTransportTarget.create((self.address, self.port), timeout=PYSNMP_FORGET_S, retries=0)
                known[key], _ = _LCD.configure(self.engine, self.auth.pysnmp(), transport, "")
            self._target_name = known[key]
        return self._target_name

    def _callback(self, future: asyncio.Future) -> Any:
        def done(_engine: Any, _handle: Any, indication: Any, response: Any, _ctx: Any) -> None:
            if future.done() or isinstance(indication, errind.RequestTimedOut):
                return  # answered by another transmission, or hatang's own clock decides
            if indication:
                future.set_exception(SnmpFailure(describe(indication, self.auth)))
                return
            try:
                varbinds = decode_varbinds(rawpdu.raw_varbinds(response))
            except ValueError as exc:
                future.set_exception(SnmpFailure(f"malformed answer: {exc}"))
                return
            status, index = int(response["error-status"]), int(response["error-index"])
            if status:
                bad = dotted(varbinds[index - 1][0]) if 0 < index <= len(varbinds) else "?"
                future.set_exception(SnmpFailure(f"the agent answered {response['error-status'].prettyPrint()} for {bad}"))
            else:
                future.set_result(varbinds)

        return done

    def _unanswered(self, waited_s: float, sent: int) -> str:
        if self.answers:  # it answered before: the deadline fell in the middle of a walk
            return f"the deadline passed in the middle of the walk, after {self.varbinds_returned} var-binds (agent too slow, or a table without end)"
        return f"no SNMP response within {waited_s:.3g}s after {sent} tries, {self.timeout:g}s apart (agent down, unreachable, or wrong community/keys)"

    async def _place(self, key: tuple[str, int]) -> None:
        """A place in the limit, waited for until the deadline at most."""
        try:
            async with asyncio.timeout(None if self.deadline is None else self.deadline - time.monotonic()):
                await self.limit.acquire(key)  # type: ignore[union-attr]
        except TimeoutError:
            raise SnmpFailure("no place among the requests in flight before the scrape's deadline") from None

    async def _send(self, pdu: Any) -> list[VarBind]:
        target = await self._target()
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        done = self._callback(future)
        key = (self.address, self.port)
        held = self.limit is not None
        if held:
            await self._place(key)
        began = time.monotonic()
        if self.deadline is None and self.budget_s is not None:
            self.deadline = began + self.budget_s
        give_up = began + self.timeout * (self.retries + 1)
        if self.deadline is not None:
            give_up = min(self.deadline, began + MAX_WAIT_S) if self.answers else min(self.deadline, give_up)
        try:
            sent = 0
            while not future.done():
                now = time.monotonic()
                if now >= give_up:
                    raise SnmpFailure(self._unanswered(give_up - began, sent))
                if sent <= self.retries:
                    cmdgen.CommandGenerator().send_pdu(self.engine, target, None, "", pdu, done, None)
                    sent += 1
                    self.requests += 1
                await asyncio.wait((future,), timeout=min(self.timeout, give_up - now))
                if held and not future.done():
                    self.limit.unanswered(key)  # type: ignore[union-attr]
                    self.limit.release()  # type: ignore[union-attr]
                    held = False
            result = future.result()
            self.answers += 1
            if self.limit is not None:
                self.limit.answered(key)
        finally:
            if held:
                self.limit.release()  # type: ignore[union-attr]
            if not future.done():
                future.cancel()
            self.wire_s += time.monotonic() - began
        self.varbinds_returned += len(result)
        if self.varbinds_returned > MAX_VARBINDS:
            raise SnmpFailure(f"more than {MAX_VARBINDS} var-binds in one poll: the agent never ends its table")
        return result

    async def get(self, oids: list[Oid]) -> list[VarBind]:
        """One GET; an answer that does not name exactly the OIDs asked, in order, fails."""
        answer = await self._send(rawpdu.request(oids))
        if [oid for oid, _ in answer] != oids:
            raise SnmpFailure(f"the GET answer names other OIDs than asked ({len(answer)} var-binds for {len(oids)})")
        return answer

    async def bulk(self, oids: list[Oid], max_repetitions: int) -> list[VarBind]:
        """One GETBULK: ``max_repetitions`` successors of each OID, row-major."""
        return await self._send(rawpdu.request(oids, max_repetitions))

    async def walk_columns(self, columns: list[Oid], max_repetitions: int = 25) -> dict[Oid, list[VarBind]]:
        """Walk several table columns together: each GETBULK asks for every column not yet
        finished, so a table of C columns and R rows takes about C × R / M var-binds in
        a few requests, where column-by-column walks (snmp_exporter's) take C requests or
        more. (Asking with max-repetitions sized to the row count was measured and is no
        better: net-snmp caps a GETBULK answer at about 100 var-binds anyway.)

        An OID that does not come after the one before it in its column fails the walk
        (net-snmp's "OID not increasing", snmp_exporter's failed scrape): a table cut
        short there would be reported as complete."""
        found: dict[Oid, list[VarBind]] = {column: [] for column in columns}
        cursor = {column: column for column in columns}
        while cursor:
            asked = list(cursor)
            answer = await self.bulk([cursor[c] for c in asked], max_repetitions)
            if not answer:
                break
            if len(answer) > len(asked) * max_repetitions:
                raise SnmpFailure(f"{len(answer)} var-binds answered to a GETBULK of {len(asked)} × {max_repetitions}")
            finished: set[Oid] = set()
            for position, (oid, value) in enumerate(answer):
                column = asked[position % len(asked)]
                if column in finished or isinstance(value, Missing):
                    finished.add(column)
                    continue
                if oid <= cursor[column]:
                    raise SnmpFailure(f"OID not increasing: {dotted(oid)} came after {dotted(cursor[column])}")
                if oid[: len(column)] != column:
                    finished.add(column)
                    continue
                found[column].append((oid, value))
                cursor[column] = oid
            for column in finished:
                cursor.pop(column, None)
        return found
