"""A webhook receiver that keeps what Alertmanager sent: who would have been paged, with what.

The lab runs it in place of the IIC's paging gateway. Every POST is one notification
(Alertmanager's webhook payload, or a Telegram ``sendMessage`` call when the Telegram
receiver's ``api_url`` points here), and so is every mail to its SMTP sink
(``smtp_sink.py``); it is appended to a JSON Lines file (fsync'd, so a
restart loses nothing) and served back on ``GET /received``. Bodies are bounded, and a
body that is not JSON is kept as (bounded) text: the receiver never crashes on input.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import requests

from hatang.errors import HatangError

MAX_BODY = 1 << 20
MAX_KEPT = 10_000  # notifications served back; the file keeps everything
BOT_TOKEN = re.compile(r"/bot[^/]*/")  # Telegram's path carries the bot's token: never kept


def summarise(path: str, body: bytes, content_type: str) -> dict[str, Any]:
    """One received notification as a record: the webhook payload's useful parts, or the
    Telegram message text."""
    record: dict[str, Any] = {"received_at": time.time(), "path": BOT_TOKEN.sub("/bot<redacted>/", path[:200])}
    text = body.decode("utf-8", errors="replace")
    if "sendMessage" in path:
        fields = parse_qs(text) if "urlencoded" in content_type else {}
        message = fields.get("text", [""])[0] if fields else _json_or_none(text) or {}
        record.update(kind="telegram", text=(message.get("text", "") if isinstance(message, dict) else message)[:4000])
        return record
    payload = _json_or_none(text)
    if not isinstance(payload, dict):
        record.update(kind="unknown", text=text[:4000])
        return record
    alerts = payload.get("alerts") if isinstance(payload.get("alerts"), list) else []
    record.update(
        kind="webhook",
        receiver=str(payload.get("receiver", "")),
        status=str(payload.get("status", "")),
        group_labels=payload.get("groupLabels") if isinstance(payload.get("groupLabels"), dict) else {},
        alerts=[
            {"status": a.get("status"), "labels": a.get("labels", {}), "annotations": a.get("annotations", {}),
             "starts_at": a.get("startsAt"), "ends_at": a.get("endsAt")}
            for a in alerts if isinstance(a, dict)
        ],
    )
    return record


def _json_or_none(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


class Store:
    """The received notifications: a JSON Lines file, read back at start."""

    def __init__(self, path: Path):
        self.path, self.lock = path, threading.Lock()
        self.records: list[dict[str, Any]] = []
        if path.exists():
            for line in path.read_text(encoding="utf-8", errors="replace").splitlines()[-MAX_KEPT:]:
                record = _json_or_none(line)
                if isinstance(record, dict):
                    self.records.append(record)

    def add(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, ensure_ascii=False) + "\n"
        with self.lock:
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(line)
                handle.flush()
                os.fsync(handle.fileno())
            self.records = [*self.records[-(MAX_KEPT - 1):], record]


def handler_for(store: Store) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's name
            pass

        def _answer(self, status: int, body: Any) -> None:
            data = json.dumps(body, ensure_ascii=False).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            if self.path.split("?")[0] == "/received":
                with store.lock:
                    self._answer(HTTPStatus.OK, store.records)
            else:
                self._answer(HTTPStatus.NOT_FOUND, {"error": "GET /received"})

        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                length = -1
            if not 0 <= length <= MAX_BODY:
                self._answer(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, {"error": f"body must be 0..{MAX_BODY} bytes"})
                return
            record = summarise(self.path, self.rfile.read(length), self.headers.get("Content-Type", ""))
            store.add(record)
            # Telegram's Bot API answers with the message it sent; Alertmanager checks "ok".
            self._answer(HTTPStatus.OK, {"ok": True, "result": {"message_id": len(store.records), "date": int(time.time()), "chat": {"id": 0, "type": "group"}}})

    return Handler


def serve(listen: str, path: Path, smtp: str | None = None) -> None:
    """Serve the webhook (and, with ``smtp``, an SMTP sink) until killed, into ``path``."""
    from hatang.monitoring import smtp_sink

    path.parent.mkdir(parents=True, exist_ok=True)
    store = Store(path)
    if smtp:
        host, _, port = smtp.rpartition(":")
        mail = smtp_sink.Server((host, int(port)), smtp_sink.handler_for(store))
        threading.Thread(target=mail.serve_forever, daemon=True).start()
    host, _, port = listen.rpartition(":")
    ThreadingHTTPServer((host, int(port)), handler_for(store)).serve_forever()


def received(url: str, timeout: float = 5) -> list[dict[str, Any]]:
    """What the receiver at ``url`` has kept, oldest first."""
    try:
        response = requests.get(f"{url.rstrip('/')}/received", timeout=timeout)
        response.raise_for_status()
        records = response.json()
    except (requests.RequestException, ValueError) as exc:
        raise HatangError(f"cannot read the webhook receiver at {url}: {exc.__class__.__name__}", details=[str(exc)]) from None
    if not isinstance(records, list):
        raise HatangError(f"the webhook receiver at {url} answered something other than a list")
    return records


def pages(records: list[dict[str, Any]], since: float = 0.0) -> list[dict[str, Any]]:
    """The webhook notifications that page someone: firing, to a ``page-<area>`` receiver."""
    return [r for r in records if r.get("kind") == "webhook" and r.get("status") == "firing"
            and str(r.get("receiver", "")).startswith("page-") and r.get("received_at", 0) >= since]
