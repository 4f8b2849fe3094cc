"""The webhook receiver as the lab runs it (``hatang monitor receiver``) and the command
that reads it (``hatang monitor pages``): it keeps what it gets across restarts, keeps no
bot token, and survives bodies that are not what it expects."""

from __future__ import annotations

import http.client
import json
import smtplib
import subprocess
import sys
from pathlib import Path

import requests
from mon_agent import free_tcp_port, serving

HATANG = [sys.executable, "-m", "hatang.cli"]

PAGE = {
    "receiver": "page-vinh-yen", "status": "firing", "groupLabels": {"area": "vinh-yen"},
    "alerts": [{"status": "firing", "labels": {"alertname": "HatangSiteUnreachable", "device": "dr-vinh-yen"},
                "annotations": {"summary": "dr-vinh-yen is unreachable", "runbook_url": "https://x.invalid/runbooks/site-unreachable.md"},
                "startsAt": "2026-12-05T06:00:00Z", "endsAt": "0001-01-01T00:00:00Z"}],
}


def announce_huge_body(url: str) -> int:
    connection = http.client.HTTPConnection(url.removeprefix("http://"), timeout=5)
    connection.putrequest("POST", "/hook")
    connection.putheader("Content-Length", str(1 << 30))
    connection.endheaders()
    status = connection.getresponse().status
    connection.close()
    return status


def pages_json(url: str, *args: str) -> dict:
    done = subprocess.run([*HATANG, "monitor", "pages", "--receiver", url, "--json", *args], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_receiver_keeps_pages_across_a_restart_and_pages_reads_them(tmp_path: Path) -> None:
    store = tmp_path / "received.jsonl"
    url = f"http://127.0.0.1:{free_tcp_port()}"
    smtp_port = free_tcp_port()
    argv = [*HATANG, "monitor", "receiver", "--listen", url.removeprefix("http://"), "--store", str(store), "--smtp", f"127.0.0.1:{smtp_port}"]
    with serving(argv, f"{url}/received"):
        assert requests.post(f"{url}/hook", json=PAGE, timeout=5).ok
        assert requests.post(f"{url}/hook", json={**PAGE, "receiver": "ticket"}, timeout=5).ok
        telegram = requests.post(f"{url}/bot123:SECRET/sendMessage", json={"chat_id": -1, "text": "[FIRING] vinh-yen"}, timeout=5)
        assert telegram.json()["ok"] is True
        assert requests.post(f"{url}/hook", data=b"\xff not json", timeout=5).ok
        assert announce_huge_body(url) == 413  # refused before reading
        with smtplib.SMTP("127.0.0.1", smtp_port, timeout=5) as mail:
            mail.sendmail("am@iic.invalid", ["noc@iic.invalid"], "Subject: [FIRING:1] HatangLinkSaturation\r\n\r\nticket body\r\n")
    assert "SECRET" not in store.read_text()
    with serving(argv, f"{url}/received"):
        only_pages = pages_json(url)
        assert only_pages["count"] == 1
        page = only_pages["notifications"][0]
        assert page["receiver"] == "page-vinh-yen" and page["alerts"][0]["annotations"]["runbook_url"].endswith("site-unreachable.md")
        everything = pages_json(url, "--all")
        assert [n["kind"] for n in everything["notifications"]] == ["webhook", "webhook", "telegram", "unknown", "email"]
        assert everything["notifications"][4]["subject"] == "[FIRING:1] HatangLinkSaturation" and everything["notifications"][4]["to"] == ["noc@iic.invalid"]
        assert everything["notifications"][2]["text"] == "[FIRING] vinh-yen"
        assert pages_json(url, "--all", "--since", "2999-01-01T00:00:00")["count"] == 0


def test_pages_without_a_receiver_is_a_clear_error() -> None:
    done = subprocess.run([*HATANG, "monitor", "pages", "--receiver", f"http://127.0.0.1:{free_tcp_port()}"], capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "cannot read the webhook receiver" in done.stderr and "Traceback" not in done.stderr
