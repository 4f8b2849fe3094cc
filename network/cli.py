"""``hatang net …`` (render, diff, push, preflight, platforms, backup, drift, history, onboard) and ``hatang site add``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hatang.console import Markup, out, plain, print_json, print_table, status_mark
from hatang.errors import HatangError, UserAbort
from hatang.options import DEFAULT_ENV, EnvOpt, InventoryOpt, JsonOpt, YesOpt

app = typer.Typer(help="Router configurations: render, diff, push in waves with rollback, backup, drift, onboarding.", no_args_is_help=True)
site_app = typer.Typer(help="Sites of the province: add a commune (inventory and addresses).", no_args_is_help=True)

SiteOpt = Annotated[list[str] | None, typer.Option("--site", "-s", help="A site slug, GSO code or device name (repeatable).")]
AllOpt = Annotated[bool, typer.Option("--all", help="Every router (in the lab: every router of the running lab).")]


def _inventory(inventory: Path | None, env: str):
    from hatang.inventory import load

    return load(inventory, env)


def _devices(inv, sites: list[str] | None, all_devices: bool, *, required: bool = True) -> list[str]:
    from hatang.network.select import select_devices

    return select_devices(inv, sites or (), all_devices, required=required)


def _show_results(title: str, results, *, as_json: bool, columns: tuple[str, ...] = ("device", "result", "diff", "error")) -> None:
    from hatang.network.diff import coloured, summary

    rows = sorted(results, key=lambda r: r.host)
    if as_json:
        print_json({"ok": not results.failed, "devices": [{k: v for k, v in r.as_dict().items() if k != "data"} for r in rows]})
    else:
        for r in rows:
            if r.diff:
                out.rule(f"[bold]{r.host}")
                out.print(coloured(r.diff), end="")
        print_table(title, columns, [(r.host, status_mark(r.ok) if not r.ok else Markup("[yellow]differs[/]" if r.changed else "[green]in sync[/]"), summary(r.diff) if r.diff else "", r.error) for r in rows])
    if results.failed:
        raise typer.Exit(1)


@app.command()
def render(
    site: SiteOpt = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write one file per router into this directory.")] = None,
    platform: Annotated[str | None, typer.Option("--platform", help="Render for this platform instead (frr, ios, eos, junos, huawei_vrp).")] = None,
    inventory: InventoryOpt = None,
    env: EnvOpt = DEFAULT_ENV,
    json: JsonOpt = False,
) -> None:
    """Render router configurations from the inventory (deterministic: same input, same bytes)."""
    from hatang.inventory.model import Platform
    from hatang.network.render import Renderer, routers_of, write

    inv = _inventory(inventory, env)
    if platform is not None and platform not in Platform.__members__:
        raise HatangError(f"unknown platform '{platform}' (known: {', '.join(Platform.__members__)})", exit_code=2)
    rendered = Renderer(inv).render_many(routers_of(inv, site or ()), Platform(platform) if platform else None)
    if output is not None:
        paths = write(rendered, output)
        if json:
            print_json({"environment": env, "files": [str(p) for p in paths]})
        else:
            out.print(plain(f"wrote {len(paths)} configurations to {output}"))
        return
    if json:
        print_json({"environment": env, "devices": [{"device": r.device, "platform": r.platform, "role": r.role, "config": r.text} for r in rendered]})
        return
    for item in rendered:
        typer.echo(f"### {item.device} ({item.platform} {item.role})")
        typer.echo(item.text, nl=False)


@app.command()
def diff(site: SiteOpt = None, all_devices: AllOpt = False, inventory: InventoryOpt = None, env: EnvOpt = DEFAULT_ENV, json: JsonOpt = False) -> None:
    """Per-router diff of the rendered configuration against the running one (changes nothing)."""
    from hatang.network.diff import compare

    inv = _inventory(inventory, env)
    results = compare(inv, _devices(inv, site, all_devices), show_progress=not json)
    _show_results(f"diff ({env})", results, as_json=json)


@app.command()
def drift(site: SiteOpt = None, all_devices: AllOpt = False, inventory: InventoryOpt = None, env: EnvOpt = DEFAULT_ENV, json: JsonOpt = False) -> None:
    """Routers whose running configuration differs from the intended one, with the diff.
    Exits 1 when a router cannot be compared, 4 when some drifted."""
    from hatang.network.diff import compare

    inv = _inventory(inventory, env)
    results = compare(inv, _devices(inv, site, all_devices, required=False), show_progress=not json, label="checking drift")
    drifted = sorted(r.host for r in results if r.changed)
    if json:
        print_json({"ok": not results.failed, "drifted": drifted, "devices": [{k: v for k, v in r.as_dict().items() if k != "data"} for r in sorted(results, key=lambda r: r.host)]})
        if results.failed:
            raise typer.Exit(1)
    else:
        _show_results(f"drift ({env}): {len(drifted)} of {len(results)} routers differ from intent", results, as_json=False)
    if drifted:
        raise typer.Exit(4)


def _confirm_production(inv, devices: list[str], wave_size: int, yes: bool) -> None:
    """On real devices: show what would change and ask (unless --yes)."""
    from hatang.network.push import push

    preview = push(inv, devices, wave_size=max(wave_size, 10), dry_run=True, record=False)
    changing = [d for d in devices if preview.status(d) == "would-change"]
    print_table(f"push preview ({inv.env})", ["device", "status", "error"], [(d, preview.status(d), preview.results[d].error) for d in devices])
    if not changing:
        return
    if not yes and not typer.confirm(f"push to {len(changing)} {inv.env} router(s)?", default=False):
        raise UserAbort("push cancelled; nothing was changed")


@app.command()
def push(
    site: SiteOpt = None,
    all_devices: AllOpt = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Compare only: show what would change.")] = False,
    wave_size: Annotated[int, typer.Option("--wave-size", min=1, help="Routers pushed at once after the canary.")] = 10,
    max_failures: Annotated[int, typer.Option("--max-failures", min=0, help="Failed routers tolerated before the remaining waves are skipped.")] = 0,
    revert_in: Annotated[int, typer.Option("--revert-in", min=10, help="Seconds before an unconfirmed commit reverts on the router (IOS: 60-7200, whole minutes; Junos: whole minutes).")] = 120,
    check_timeout: Annotated[float, typer.Option("--check-timeout", min=1, help="Seconds the routing post-checks may take.")] = 20.0,
    inventory: InventoryOpt = None,
    env: EnvOpt = DEFAULT_ENV,
    yes: YesOpt = False,
    json: JsonOpt = False,
) -> None:
    """Push rendered configurations: canary, then waves; commit-confirm with post-checks and automatic rollback."""
    from hatang.network.diff import summary
    from hatang.network.push import push as do_push
    from hatang.network.revert_time import validate
    from hatang.redact import redact_text

    inv = _inventory(inventory, env)
    devices = _devices(inv, site, all_devices)
    if not dry_run:
        validate((inv.platform(d).value for d in devices), revert_in, check_timeout)
    if env != "lab" and not dry_run:
        _confirm_production(inv, devices, wave_size, yes)
    report = do_push(inv, devices, wave_size=wave_size, max_failures=max_failures, dry_run=dry_run, revert_in=revert_in, check_timeout_s=check_timeout, show_progress=not json)
    if json:
        print_json(report.as_dict())
    else:
        rows = []
        for wave_no, wave in enumerate(report.waves, start=1):
            for name in wave:
                r = report.results[name]
                checks = Markup(" ".join(f"{plain(k)}:{status_mark(v)}" for k, v in r.checks.items()))
                rows.append((wave_no, name, report.status(name), summary(r.diff) if r.diff else "", checks, f"{r.duration_s:.1f}", redact_text(r.error or "", report.secrets)))
        counts = ", ".join(f"{n} {s}" for s, n in report.counts().items())
        print_table(f"push ({env}{', dry run' if dry_run else ''}): {counts}", ["wave", "device", "status", "diff", "checks", "s", "error"], rows)
    if not report.ok:
        raise typer.Exit(1)


@app.command()
def preflight(site: SiteOpt = None, all_devices: AllOpt = False, inventory: InventoryOpt = None, env: EnvOpt = DEFAULT_ENV, json: JsonOpt = False) -> None:
    """Read-only: can hatang push to these routers? Reachability, host key, platform and software version, prerequisites, flash, pending commit; prints the lines that fix what is missing."""
    from hatang.network.preflight import preflight as run

    inv = _inventory(inventory, env)
    results = run(inv, _devices(inv, site, all_devices), show_progress=not json)
    rows = sorted(results, key=lambda r: r.host)
    if json:
        print_json({"ok": not results.failed, "devices": [{"device": r.host, "ok": r.ok, "items": r.data.get("items", []), "error": r.error if not r.data.get("items") else ""} for r in rows]})
    else:
        items = [(r.host, i["name"], status_mark(i["ok"]), i["detail"]) for r in rows for i in r.data.get("items", [])]
        items += [(r.host, "preflight", status_mark(False), r.error) for r in rows if not r.data.get("items")]
        print_table(f"preflight ({env})", ["device", "check", "ok", "detail"], items)
        for r in rows:
            for i in (i for i in r.data.get("items", []) if i["fix"]):
                out.print(f"[bold]{r.host}[/] {i['name']}: {i['action']}")
                out.print("\n".join(f"    {line}" for line in i["fix"]), markup=False, highlight=False)
    if results.failed:
        raise typer.Exit(1)


@app.command()
def backup(site: SiteOpt = None, all_devices: AllOpt = False, inventory: InventoryOpt = None, env: EnvOpt = DEFAULT_ENV, json: JsonOpt = False) -> None:
    """Commit every router's running configuration to the backup repository (one commit per run)."""
    from hatang.network import backup as backups

    inv = _inventory(inventory, env)
    run = backups.backup(inv, _devices(inv, site, all_devices, required=False), show_progress=not json)
    rows = sorted(run.results, key=lambda r: r.host)
    if json:
        print_json({"ok": not run.results.failed, "commit": run.commit, "repository": str(backups.repository()), "changed": run.changed, "devices": [{"device": r.host, "ok": r.ok, "changed": r.changed, "error": r.error} for r in rows]})
    else:
        print_table(f"backup {run.commit[:10]} in {backups.repository()}", ["device", "result", "changed", "error"], [(r.host, status_mark(r.ok), "yes" if r.changed else "", r.error) for r in rows])
    if run.results.failed:
        raise typer.Exit(1)


@app.command()
def history(
    site: Annotated[str | None, typer.Argument(help="A site, GSO code or device; none for every push.")] = None,
    inventory: InventoryOpt = None,
    env: EnvOpt = DEFAULT_ENV,
    json: JsonOpt = False,
) -> None:
    """The audit log of pushes (who, when, which routers, what changed, the result)."""
    from hatang import audit

    wanted = set(_devices(_inventory(inventory, env), [site], False)) if site else None
    records = []
    for record in audit.read("push"):
        devices = [d for d in record.get("devices", []) if d.get("host") in wanted] if wanted else record.get("devices", [])
        if devices:
            records.append({**record, "devices": devices})
    if json:
        print_json(records)
        return
    rows = [(r["when"], r["who"], r.get("environment", ""), d["host"], d["data"].get("status", ""), d["error"]) for r in records for d in r["devices"]]
    print_table("push history", ["when", "who", "env", "device", "status", "error"], rows)


@app.command()
def onboard(
    site: Annotated[str, typer.Argument(help="The commune added with 'hatang site add' (slug, GSO code or device).")],
    targets_file: Annotated[Path | None, typer.Option("--targets-file", help="Prometheus file_sd file to write the targets to.")] = None,
    inventory: InventoryOpt = None,
    env: EnvOpt = DEFAULT_ENV,
    json: JsonOpt = False,
) -> None:
    """Bring a new commune into service: (lab: create its router), push district + CPE, verify, monitor."""
    from hatang.network.onboard import onboard as do_onboard

    result = do_onboard(_inventory(inventory, env), site, targets_file=targets_file, show_progress=not json)
    if json:
        print_json(result.as_dict())
    else:
        rows = [(r.host, r.status, " ".join(f"{k}:{status_mark(v)}" for k, v in r.checks.items()), r.error) for r in result.report.results]
        print_table(f"onboarding {result.device}", ["device", "status", "checks", "error"], rows)
        if result.ok:
            out.print(f"[green]{plain(result.device)} is in service[/]; " + plain(f"monitoring targets: {result.targets_file}"))
    if not result.ok:
        raise typer.Exit(1)


@app.command()
def platforms(write: Annotated[bool, typer.Option("--write", help="Write docs/platforms.md instead of printing it.")] = False) -> None:
    """Which check runs on which platform, and each platform's prerequisites (docs/platforms.md)."""
    from hatang.network.state.matrix import DOC, render

    if write:
        DOC.write_text(render(), encoding="utf-8")
        out.print(f"wrote {DOC}")
    else:
        typer.echo(render(), nl=False)


@site_app.command("add")
def site_add(
    district: Annotated[str, typer.Option("--district", "-d", help="District GSO code or slug.")],
    code: Annotated[str, typer.Option("--code", "-c", help="The commune's GSO code (5 digits).")],
    name: Annotated[str, typer.Option("--name", "-n", help="The commune's name, in Vietnamese.")],
    kind: Annotated[str, typer.Option("--type", help="xa, phuong or thi-tran.")] = "xa",
    inventory: InventoryOpt = None,
    json: JsonOpt = False,
) -> None:
    """Add a commune: inventory records, its CPE and link (next free district port), addresses in both plans."""
    from hatang.network.sites import add_commune

    addition = add_commune(inventory, district=district, code=code, name=name, kind=kind)
    if json:
        print_json(addition.as_dict())
        return
    out.print(plain(f"added commune {addition.commune['code']} {addition.commune['name']} ({addition.commune['slug']}), CPE {addition.device['name']} on {addition.link['a']['device']} port {addition.link['a']['port']}"))
    print_table("allocated", ["env", "purpose", "owner", "prefix"], [(env, *a) for env, items in addition.allocations.items() for a in items])
    out.print(f"next: hatang net onboard {addition.commune['slug']}")

