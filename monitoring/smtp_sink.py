"""A minimal SMTP sink for the lab: Alertmanager's email receiver talks to it, and each
message is kept beside the webhook's and Telegram's notifications (``receiver.Store``).

It speaks just enough of RFC 5321 for a client without TLS or authentication (EHLO/HELO,
MAIL, RCPT, DATA, RSET, NOOP, QUIT); every line and message is bounded and every
connection times out, so a stray client cannot hold or grow it.
"""

from __future__ import annotations

import email
import email.policy
import socketserver
import time
from typing import Any

MAX_LINE = 4096
MAX_MESSAGE = 1 << 20
IDLE_S = 30


def message_record(raw: bytes, sender: str, recipients: list[str]) -> dict[str, Any]:
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    body = parsed.get_body(preferencelist=("plain", "html"))
    text = body.get_content() if body is not None else ""
    return {"received_at": time.time(), "kind": "email", "from": sender, "to": recipients,
            "subject": str(parsed.get("Subject", ""))[:500], "text": text[:4000]}


def handler_for(store: Any) -> type[socketserver.StreamRequestHandler]:
    class Handler(socketserver.StreamRequestHandler):
        timeout = IDLE_S

        def reply(self, line: str) -> None:
            self.wfile.write(f"{line}\r\n".encode())

        def readline(self) -> bytes | None:
            line = self.rfile.readline(MAX_LINE + 1)
            return None if not line or len(line) > MAX_LINE else line

        def read_data(self) -> bytes | None:
            chunks, size = [], 0
            while True:
                line = self.readline()
                if line is None:
                    return None
                if line in (b".\r\n", b".\n"):
                    return b"".join(chunks)
                size += len(line)
                if size > MAX_MESSAGE:
                    return None
                chunks.append(line[1:] if line.startswith(b"..") else line)

        def handle(self) -> None:
            self.reply("220 hatang-lab SMTP sink")
            sender, recipients = "", []
            while (line := self.readline()) is not None:
                verb = line[:4].decode("ascii", "replace").upper()
                if verb in ("EHLO", "HELO"):
                    self.reply("250 hatang-lab")
                elif verb == "MAIL":
                    sender, recipients = line[10:].decode("utf-8", "replace").strip(" <>\r\n"), []
                    self.reply("250 OK")
                elif verb == "RCPT":
                    recipients.append(line[8:].decode("utf-8", "replace").strip(" <>\r\n"))
                    self.reply("250 OK")
                elif verb == "DATA":
                    self.reply("354 end with <CRLF>.<CRLF>")
                    raw = self.read_data()
                    if raw is None:
                        self.reply("552 message too large or line too long")
                        return
                    store.add(message_record(raw, sender, recipients))
                    self.reply("250 OK kept")
                elif verb in ("RSET", "NOOP"):
                    sender, recipients = ("", []) if verb == "RSET" else (sender, recipients)
                    self.reply("250 OK")
                elif verb == "QUIT":
                    self.reply("221 bye")
                    return
                else:
                    self.reply("502 not implemented")

    return Handler


class Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True
