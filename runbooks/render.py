"""Runbooks and diagnosis reports in the terminal (rich), for people, not scripts."""

from __future__ import annotations

from collections.abc import Iterable

from rich.markdown import Markdown
from rich.panel import Panel

from hatang.console import Markup, out, plain, print_table, status_mark
from hatang.runbooks.catalog import Runbook
from hatang.runbooks.findings import Report

STATUS_MARKS = {"ok": status_mark(True), "fail": status_mark(False), "skip": status_mark(None), "warn": Markup("[yellow]WARN[/]"), "error": Markup("[bold magenta]ERROR[/]")}


def runbook_row(runbook: Runbook) -> dict:
    meta = runbook.meta
    return {
        "alert": meta.alert,
        "file": f"runbooks/{runbook.path.name}",
        "severity": meta.severity,
        "title": meta.title.model_dump(),
        "checks": [f"{d.role}.{d.check}" for d in meta.diagnostics],
    }


def print_list(runbooks: Iterable[Runbook]) -> None:
    rows = [(r.alert, r.meta.severity, f"runbooks/{r.path.name}", Markup(f"{plain(r.meta.title.vi)}\n[dim]{plain(r.meta.title.en)}[/]")) for r in runbooks]
    print_table("Runbooks", ["alert", "severity", "file", "tiêu đề / title"], rows, caption="hatang runbook show ALERT · hatang runbook run ALERT --target SITE")


def print_runbook(runbook: Runbook) -> None:
    meta = runbook.meta
    head = [
        f"[bold]{meta.alert}[/]  severity [bold]{meta.severity}[/]  ({runbook.path.name})",
        f"[bold]Người dùng thấy gì:[/] {meta.users_feel.vi}",
        f"[bold]What users feel:[/] {meta.users_feel.en}",
    ]
    out.print(Panel("\n".join(head), title=f"{meta.title.vi} / {meta.title.en}", title_align="left"))
    print_table(
        "Leo thang / Escalation",
        ["after", "vai trò", "role", "khi nào / when"],
        [(f"{s.after_min} min", s.vai_tro, s.role, Markup(f"{plain(s.when.vi)}\n[dim]{plain(s.when.en)}[/]")) for s in meta.escalation],
    )
    out.print(Markdown(runbook.body))
    checks = ", ".join(f"{d.role}.{d.check}" for d in meta.diagnostics)
    out.print(f"\n[dim]Chẩn đoán tự động / automated diagnostics: {checks}[/]")
    out.print(f"[dim]hatang runbook run {meta.alert} --target SITE[/]")


def print_report(report: Report) -> None:
    rows = [
        (
            STATUS_MARKS[f.status],
            f.check,
            Markup(f"{plain(f.device)}\n[dim]{plain(f.role)}[/]"),
            Markup("\n".join([plain(f.summary), *(f"[dim]{plain(line)}[/]" for line in f.details[:12])])),
        )
        for f in report.findings
    ]
    limits = ", ".join(f"{k.removesuffix('_s')} {v:g}s" for k, v in report.timeouts.items())
    print_table(
        f"{report.alert} · {report.target} ({report.site_name} · {report.site}, {report.env})",
        ["", "check", "device", "finding"],
        rows,
        caption=f"{len(report.failed)} failed or unanswered of {len(report.findings)} · {report.duration_s:g}s · timeouts: {limits}",
    )
    advice = f"[bold]Bước tiếp theo:[/] {plain(report.next_step['vi'])}\n\n[bold]Next step:[/] {plain(report.next_step['en'])}"
    out.print(Panel(advice, title="Đề xuất / Suggested next step", title_align="left", border_style="red" if report.failed else "green"))
    out.print(f"[dim]{plain(f'Runbook: hatang runbook show {report.alert}  ({report.runbook})')}[/]")
