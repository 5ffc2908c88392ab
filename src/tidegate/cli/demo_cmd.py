"""``tidegate demo``: the whole story on local control planes, until Ctrl-C."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

DIR_OPTION: Any = typer.Option(None, "--dir", help="Test bed directory (default: per-user).")
START_TIMEOUT = 120.0
STOP_TIMEOUT = 15.0


def demo(
    directory: Path | None = DIR_OPTION,
    keep: bool = typer.Option(False, "--keep", help="Leave the test bed running on exit."),
    until_healthy: bool = typer.Option(
        False,
        "--until-healthy",
        help="Exit (0) once every demo app is Synced and Healthy, instead of running on.",
    ),
    timeout: float = typer.Option(300.0, "--timeout", help="With --until-healthy: give up after."),
    webhook_port: int = typer.Option(0, "--webhook-port", help="Git webhook port (0: any)."),
    server_port: int = typer.Option(
        8080, "--server-port", help="Port of the API server on 127.0.0.1 (0: any free port)."
    ),
) -> None:
    """Bring up mgmt, dev, staging and prod, a seeded git server, Tidegate's API server and its
    controllers. The server's URL and the admin login are printed first."""
    import asyncio
    import contextlib
    import logging

    from rich.console import Console

    from tidegate import daemon
    from tidegate.cli import logsetup
    from tidegate.cli import testenv as testenv_cmd
    from tidegate.controller import settings
    from tidegate.kube import config as kube_config
    from tidegate.model import errors
    from tidegate.testenv import demo as demo_mod
    from tidegate.testenv import testbed

    console = Console(stderr=True)
    target = (directory or testbed.default_dir()).resolve()
    try:
        with testenv_cmd.progress_view(console, "preparing the demo") as (say, build):
            prepared = demo_mod.prepare(target, say=say, build_progress=build)
    except errors.TidegateError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None
    bed = prepared.bed
    try:
        server = demo_mod.start_server(prepared, target, port=server_port)
    except errors.TidegateError as exc:
        console.print(f"[red]error:[/red] the API server did not start: {exc}")
        if not keep:
            testbed.down(target)
        raise typer.Exit(1) from None
    _login(console, server.url, server.admin_password())
    logsetup.configure("warning", fmt="text")
    logging.getLogger("tidegate").setLevel(logging.INFO)
    mgmt = kube_config.from_kubeconfig(bed.clusters["mgmt"].kubeconfig)
    conf = settings.Settings(app_resync_seconds=30.0, webhook_port=webhook_port)

    async def main() -> int:
        started = asyncio.Event()
        task = asyncio.create_task(daemon.run(mgmt=mgmt, settings=conf, started=started))
        waiter = asyncio.create_task(started.wait())
        await asyncio.wait(
            [task, waiter], timeout=START_TIMEOUT, return_when=asyncio.FIRST_COMPLETED
        )
        try:
            if task.done():
                task.result()
            if not started.is_set():
                console.print(
                    f"[red]error:[/red] the controllers did not start in {START_TIMEOUT:.0f}s"
                )
                return 1
            _tour(console, prepared, target)
            if until_healthy:
                ok = await asyncio.to_thread(demo_mod.wait_healthy, bed, timeout)
                console.print(
                    "all demo apps are Synced and Healthy"
                    if ok
                    else f"not all apps healthy after {timeout:.0f}s: {demo_mod.apps_state(bed)}"
                )
                return 0 if ok else 1
            await task
            return 0
        finally:
            waiter.cancel()
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                # Bounded: a stuck shutdown must not keep the demo (or CI) waiting.
                await asyncio.wait_for(task, STOP_TIMEOUT)

    code = 0
    try:
        code = asyncio.run(main())
    except KeyboardInterrupt:
        console.print("stopping")
    finally:
        server.stop()
        if not keep:
            console.print(f"tearing the test bed in {target} down")
            testbed.down(target)
    raise typer.Exit(code)


def _login(console: Any, url: str, password: str) -> None:
    console.print(
        f"\n[bold]Tidegate API server[/bold]  {url}\n"
        f"  login        user admin, password {password}\n"
        f"               tidegate login {url.split('://')[1]} --plaintext"
        f" --username admin --password {password}\n"
        f"               curl -s {url}/api/v1/session -H 'Content-Type: application/json'"
        f' -d \'{{"username":"admin","password":"{password}"}}\'\n',
        soft_wrap=True,
        highlight=False,
    )


def _tour(console: Any, prepared: Any, target: Path) -> None:
    bed = prepared.bed
    console.print(
        "\n[bold]Tidegate demo is running[/bold] (Ctrl-C stops it and tears everything down)\n"
        f"  clusters     mgmt, dev, staging, prod  (kubeconfig: {bed.kubeconfig})\n"
        f"  config repo  {prepared.repo_http_url}  (credentials: {target / 'git' / 'git.json'})\n"
        "  apps         prod-myapp (seed ApplicationSet),\n"
        "               dev/staging/prod-guestbook (RollingSync)\n"
        "  promotion    project 'guestbook': the registry's guestbook-ui image flows\n"
        "               dev -> staging by itself; production waits for you\n"
        "\nIn another shell:\n"
        f"  export KUBECONFIG={bed.kubeconfig}\n"
        "  tidegate app list --context mgmt\n"
        "  tidegate appset get guestbook --context mgmt\n"
        "  tidegate cluster list --context mgmt\n"
        "  kubectl --context prod -n production get deploy,pods\n"
        "  tidegate freight list --project guestbook --context mgmt\n"
        "  tidegate stage list --project guestbook --context mgmt\n"
        "  tidegate promote --project guestbook --stage production --context mgmt\n",
        soft_wrap=True,
    )
