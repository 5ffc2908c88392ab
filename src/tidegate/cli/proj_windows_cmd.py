"""``tidegate proj windows``: a project's sync windows, as ``argocd proj windows`` edits them.

A window is identified by its ID, its index in ``spec.syncWindows`` as ``windows list`` shows
it. An ID that does not exist is refused (exit 1; argocd silently does nothing for ``update``
and ``enable-manual-sync``); an invalid kind, schedule, duration or time zone is a usage error
(exit 2) naming the project and the window.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from tidegate.cli import app_common, kubeopts, output, proj_access, remote

app = typer.Typer(name="windows", help="Manage a project's sync windows.", no_args_is_help=True)

NAME: Any = typer.Argument(..., help="Project name.")
ID: Any = typer.Argument(..., help="Window ID (from 'tidegate proj windows list').")
Opt = typer.Option
Schedule = Annotated[
    str | None, Opt("--schedule", help="Start times, cron format (e.g. '0 22 * * *').")
]
Duration = Annotated[str | None, Opt("--duration", help="How long it lasts (e.g. 1h, 30m).")]
Applications = Annotated[
    list[str] | None,
    Opt("--applications", help="Application name globs it applies to (comma list)."),
]
Namespaces = Annotated[
    list[str] | None, Opt("--namespaces", help="Destination namespace globs (comma list).")
]
Clusters = Annotated[
    list[str] | None, Opt("--clusters", help="Destination cluster name/server globs (comma list).")
]
TimeZone = Annotated[
    str | None, Opt("--time-zone", help="IANA time zone of the schedule (default UTC).")
]
Description = Annotated[str | None, Opt("--description", help="Window description.")]


@app.command("add")
def add(
    name: str = NAME,
    kind: Annotated[str | None, Opt("--kind", "-k", help="allow or deny.")] = None,
    schedule: Schedule = None,
    duration: Duration = None,
    applications: Applications = None,
    namespaces: Namespaces = None,
    clusters: Clusters = None,
    manual_sync: Annotated[
        bool, Opt("--manual-sync", help="Let manual syncs through this window.")
    ] = False,
    sync_overrun: Annotated[
        bool,
        Opt(
            "--sync-overrun",
            help="Let a running sync go on: through a deny window that starts after it began,"
            " past the end of an allow window it began in.",
        ),
    ] = False,
    time_zone: TimeZone = None,
    and_operator: Annotated[
        bool,
        Opt("--use-and-operator", help="Match applications AND namespaces AND clusters."),
    ] = False,
    description: Description = None,
    kubeconfig: str | None = kubeopts.KUBECONFIG_OPTION,
    context: str | None = kubeopts.CONTEXT_OPTION,
    namespace: str = kubeopts.NAMESPACE_OPTION,
    core: bool = remote.CORE_OPTION,
) -> None:
    """Add a sync window (--kind, --schedule, --duration and one or more targets)."""
    from tidegate.cli import projedit

    proj_access.run_edit(
        kubeconfig,
        context,
        namespace,
        name,
        lambda p: projedit.add_window(
            p,
            kind=kind,
            schedule=schedule,
            duration=duration,
            applications=applications or [],
            namespaces=namespaces or [],
            clusters=clusters or [],
            manual_sync=manual_sync,
            sync_overrun=sync_overrun,
            time_zone=time_zone,
            and_operator=and_operator,
            description=description,
        ),
        core=core,
    )


@app.command("update")
def update(
    name: str = NAME,
    window_id: str = ID,
    schedule: Schedule = None,
    duration: Duration = None,
    applications: Applications = None,
    namespaces: Namespaces = None,
    clusters: Clusters = None,
    time_zone: TimeZone = None,
    description: Description = None,
    kubeconfig: str | None = kubeopts.KUBECONFIG_OPTION,
    context: str | None = kubeopts.CONTEXT_OPTION,
    namespace: str = kubeopts.NAMESPACE_OPTION,
    core: bool = remote.CORE_OPTION,
) -> None:
    """Change a window: the fields whose flags are given replace the window's."""
    from tidegate.cli import projedit

    proj_access.run_edit(
        kubeconfig,
        context,
        namespace,
        name,
        lambda p: projedit.update_window(
            p,
            window_id,
            schedule=schedule,
            duration=duration,
            applications=applications or [],
            namespaces=namespaces or [],
            clusters=clusters or [],
            time_zone=time_zone,
            description=description,
        ),
        core=core,
    )


@app.command("delete")
def delete(
    name: str = NAME,
    window_id: str = ID,
    yes: Annotated[bool, Opt("--yes", "-y", help="Accepted; Tidegate never prompts.")] = False,
    kubeconfig: str | None = kubeopts.KUBECONFIG_OPTION,
    context: str | None = kubeopts.CONTEXT_OPTION,
    namespace: str = kubeopts.NAMESPACE_OPTION,
    core: bool = remote.CORE_OPTION,
) -> None:
    """Delete a window (the IDs of the windows after it move down by one)."""
    from tidegate.cli import projedit

    proj_access.run_edit(
        kubeconfig,
        context,
        namespace,
        name,
        lambda p: projedit.delete_window(p, window_id),
        core=core,
    )


def _switch(command: str, field: str, *, enabled: bool) -> None:
    def run(
        name: str = NAME,
        window_id: str = ID,
        kubeconfig: str | None = kubeopts.KUBECONFIG_OPTION,
        context: str | None = kubeopts.CONTEXT_OPTION,
        namespace: str = kubeopts.NAMESPACE_OPTION,
        core: bool = remote.CORE_OPTION,
    ) -> None:
        from tidegate.cli import projedit

        proj_access.run_edit(
            kubeconfig,
            context,
            namespace,
            name,
            lambda p: projedit.set_window_switch(p, window_id, field, enabled=enabled),
            core=core,
        )

    run.__doc__ = f"{'Enable' if enabled else 'Disable'} {SWITCH_HELP[field]}"
    app.command(command)(run)


SWITCH_HELP = {
    "manualSync": "manual syncs through a window.",
    "syncOverrun": "sync overrun for a window (a sync already running may go on).",
}
_switch("enable-manual-sync", "manualSync", enabled=True)
_switch("disable-manual-sync", "manualSync", enabled=False)
_switch("enable-sync-overrun", "syncOverrun", enabled=True)
_switch("disable-sync-overrun", "syncOverrun", enabled=False)


@app.command("list")
def list_(
    name: str = NAME,
    kubeconfig: str | None = kubeopts.KUBECONFIG_OPTION,
    context: str | None = kubeopts.CONTEXT_OPTION,
    namespace: str = kubeopts.NAMESPACE_OPTION,
    core: bool = remote.CORE_OPTION,
    fmt: output.Format = Opt(output.Format.wide, "--output", "-o", help="Output format."),
) -> None:
    """List the windows with their ID and whether each is active now."""
    import datetime as dt

    from tidegate.cli import projshow

    async def go() -> dict[str, Any]:
        async with proj_access.connect(kubeconfig, context, namespace, core=core) as projects:
            return await projects.get(name)

    project = app_common.run(go())
    if fmt in (output.Format.yaml, output.Format.json):
        output.dump(list((project.get("spec") or {}).get("syncWindows") or []), fmt)
        return
    now = dt.datetime.now(dt.UTC)
    output.table(projshow.WINDOW_HEADERS, projshow.window_rows(project, now))
