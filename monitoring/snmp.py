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
from pysnmp.proto.api import v2c
from pysnmp.proto.rfc1902 import Null, ObjectName

from hatang.monitoring import rawpdu
from hatang.monitoring.ber import Missing, Oid, VarBind, decode_varbinds

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


class SnmpFailure(Exception):
    """A request that got no usable answer; the message is meant for the user."""


def describe(indication: errind.ErrorIndication, auth: SnmpAuth, timeout: float, retries: int) -> str:
    """The user's words for pysnmp's error indications."""
    if isinstance(indication, errind.RequestTimedOut):
        return f"no SNMP response within {timeout:g}s after {retries + 1} tries (agent down, unreachable, or wrong community/keys)"
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
    """Requests to one agent through a shared engine, with that agent's timeout and retries."""

    def __init__(self, engine: SnmpEngine, address: str, port: int, auth: SnmpAuth, *, timeout: float, retries: int):
        self.engine, self.auth, self.timeout, self.retries = engine, auth, timeout, retries
        self.address, self.port = address, port
        self.varbinds_returned = 0
        self.requests = 0
        self.wire_s = 0.0  # time spent waiting for answers (snmp_exporter's walk duration)
        self._target_name: str | None = None

    async def _target(self) -> str:
        """The engine's name for this agent, configured once per engine: resolving the
        address (in a thread) and configuring the engine on every scrape costs more than
        the scrape's own SNMP for a small router."""
        if self._target_name is None:
            known = _TARGETS.setdefault(self.engine, {})
            key = (self.address, self.port, self.auth, self.timeout, self.retries)
            if key not in known:
                rawpdu.install(self.engine)
                transport = await UdpTransportTarget.create((self.address, self.port), timeout=self.timeout, retries=self.retries)
                known[key], _ = _LCD.configure(self.engine, self.auth.pysnmp(), transport, "")
            self._target_name = known[key]
        return self._target_name

    async def _send(self, pdu: Any) -> list[VarBind]:
        target = await self._target()
        future: asyncio.Future = asyncio.get_running_loop().create_future()

        def done(_engine: Any, _handle: Any, indication: Any, response: Any, _ctx: Any) -> None:
            if future.cancelled():
                return
            if indication:
                future.set_exception(SnmpFailure(describe(indication, self.auth, self.timeout, self.retries)))
                return
            try:
                varbinds = decode_varbinds(rawpdu.raw_varbinds(response))
            except ValueError as exc:
                future.set_exception(SnmpFailure(f"malformed answer: {exc}"))
                return
            status, index = int(response["error-status"]), int(response["error-index"])
            if status:
                bad = ".".join(map(str, varbinds[index - 1][0])) if 0 < index <= len(varbinds) else "?"
                future.set_exception(SnmpFailure(f"the agent answered {response['error-status'].prettyPrint()} for {bad}"))
            else:
                future.set_result(varbinds)

        self.requests += 1
        began = time.monotonic()
        cmdgen.CommandGenerator().send_pdu(self.engine, target, None, "", pdu, done, None)
        try:
            result = await future
        finally:
            self.wire_s += time.monotonic() - began
        self.varbinds_returned += len(result)
        return result

    async def get(self, oids: list[Oid]) -> list[VarBind]:
        pdu = v2c.GetRequestPDU()
        v2c.apiPDU.set_defaults(pdu)
        v2c.apiPDU.set_varbinds(pdu, [(ObjectName(oid), Null("")) for oid in oids])
        return await self._send(pdu)

    async def bulk(self, oids: list[Oid], max_repetitions: int) -> list[VarBind]:
        """One GETBULK: ``max_repetitions`` successors of each OID, row-major."""
        pdu = v2c.GetBulkRequestPDU()
        v2c.apiBulkPDU.set_defaults(pdu)
        v2c.apiBulkPDU.set_non_repeaters(pdu, 0)
        v2c.apiBulkPDU.set_max_repetitions(pdu, max_repetitions)
        v2c.apiBulkPDU.set_varbinds(pdu, [(ObjectName(oid), Null("")) for oid in oids])
        return await self._send(pdu)

    async def walk_columns(self, columns: list[Oid], max_repetitions: int = 25) -> dict[Oid, list[VarBind]]:
        """Walk several table columns together: each GETBULK asks for every column not yet
        finished, so a table of C columns and R rows takes about C × R / M var-binds in
        a few requests, where column-by-column walks (snmp_exporter's) take C requests or
        more. (Asking with max-repetitions sized to the row count was measured and is no
        better: net-snmp caps a GETBULK answer at about 100 var-binds anyway.)"""
        found: dict[Oid, list[VarBind]] = {column: [] for column in columns}
        cursor = {column: column for column in columns}
        while cursor:
            asked = list(cursor)
            answer = await self.bulk([cursor[c] for c in asked], max_repetitions)
            if not answer:
                break
            finished: set[Oid] = set()
            for position, (oid, value) in enumerate(answer):
                column = asked[position % len(asked)]
                if column in finished:
                    continue
                if isinstance(value, Missing) or oid[: len(column)] != column or oid <= cursor[column]:
                    finished.add(column)
                    continue
                found[column].append((oid, value))
                cursor[column] = oid
            for column in finished:
                cursor.pop(column, None)
        return found
