"""``tidegate app sync|rollback|wait|terminate-op``: operations through the Application object.

An operation is requested by writing the Application's top-level ``operation`` field (based on
the resourceVersion that was read, so two clients cannot both start one); the controller runs
it, reports in ``status.operationState`` and clears ``operation`` when done. These commands
then follow that state (see :mod:`tidegate.cli.app_follow`). Exit codes: 0 Succeeded, 1
Failed / Error / terminated / timed out / refused, 2 usage error.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from tidegate.cli import (
    app_common,
    app_diff_opts,
    app_remote,
    app_source_revisions,
    kubeopts,
    output,
)

if TYPE_CHECKING:
    from tidegate.cli import app_access, app_follow

Async = Annotated[bool, typer.Option("--async", help="Return once the operation is requested.")]
Prune = Annotated[bool, typer.Option("--prune", help="Delete resources no longer in Git.")]
DryRun = Annotated[bool, typer.Option("--dry-run", help="Preview: change nothing.")]


async def _request(
    apps: app_access.Apps | app_remote.RemoteApps, raw: dict[str, Any], operation: dict[str, Any]
) -> None:
    from tidegate.cli import app_state
    from tidegate.model import errors

    if app_state.operation_in_progress(raw):
        raise errors.ConfigError(
            f"{app_state.describe(raw)}: another operation is already in progress"
        )
    meta = raw.get("metadata") or {}
    if isinstance(apps, app_remote.RemoteApps):  # the server writes it (resourceVersion too)
        await apps.sync(str(meta["name"]), operation)
        return
    try:
        await apps.patch(
            str(meta["name"]),
            {"operation": operation},
            namespace=str(meta["namespace"]),
            resource_version=str(meta.get("resourceVersion") or ""),
        )
    except errors.KubeConflictError:
        raise errors.ConfigError(
            f"{app_state.describe(raw)} changed while the operation was being requested"
            " (another operation may have started); try again"
        ) from None


async def _follow(
    apps: app_access.Apps,
    raw: dict[str, Any],
    *,
    timeout_seconds: int,
    no_color: bool,
    title: str,
    fmt: str = "wide",
) -> int:
    """Follow the operation; print the result table (``-o wide``, argocd's default) or, for
    ``-o json|yaml``, the application at the end (no progress lines then)."""
    from tidegate.cli import app_access, app_follow, app_show, app_state

    meta = raw["metadata"]
    outcome = await app_follow.follow_operation(
        apps,
        str(meta["name"]),
        namespace=str(meta["namespace"]),
        before=app_state.operation_state(raw),
        deadline=app_access.Deadline(timeout_seconds),
        show=app_follow.progress(title, no_color=no_color, quiet=fmt in ("json", "yaml")),
    )
    show: Any = app_show.print_result
    if fmt in ("json", "yaml"):

        def show(app: dict[str, Any], _state: Any) -> None:
            output.dump(app, output.Format(fmt))

    return _report(outcome, raw=raw, timeout=timeout_seconds, show=show)


OUTPUT_FORMATS = ("wide", "json", "yaml")
Output = Annotated[
    str,
    typer.Option(
        "--output", "-o", help="wide (the result table), json or yaml (the app at the end)."
    ),
]


def _check_output(fmt: str) -> None:
    if fmt not in OUTPUT_FORMATS:
        raise output.fail(
            f"--output: {fmt!r} is not one of {', '.join(OUTPUT_FORMATS)} (argocd's tree view"
            " is not offered)",
            2,
        )


def _report(outcome: app_follow.Outcome, *, raw: dict[str, Any], timeout: int, show: Any) -> int:
    from tidegate.cli import app_state, output

    what = app_state.describe(raw)
    if outcome.app is None:
        raise output.fail(f"{what} was deleted while the operation ran")
    if outcome.timed_out or outcome.state is None:
        phase = (outcome.state or {}).get("phase") or "not started by the controller"
        raise output.fail(f"{what}: timed out after {timeout}s waiting for the operation ({phase})")
    show(outcome.app, outcome.state)
    phase = str(outcome.state.get("phase") or "")
    if phase != "Succeeded":
        typer.echo(f"error: operation {phase}: {outcome.state.get('message') or ''}", err=True)
        return 1
    return 0


def sync(
    names: Annotated[
        list[str] | None,
        typer.Argument(help="Application names (or NAMESPACE/NAME); or select with -l/--project."),
    ] = None,
    selector: Annotated[
        str | None, typer.Option("--selector", "-l", help="Sync the apps with these labels.")
    ] = None,
    project: Annotated[
        list[str] | None, typer.Option("--project", help="Sync the apps of these projects.")
    ] = None,
    revision: Annotated[str | None, typer.Option("--revision", help="Sync to this.")] = None,
    revisions: app_source_revisions.Revisions = None,
    source_positions: app_source_revisions.SourcePositions = None,
    source_names: app_source_revisions.SourceNames = None,
    prune: Prune = False,
    dry_run: DryRun = False,
    resource: Annotated[
        list[str] | None,
        typer.Option("--resource", help="[!]GROUP:KIND:[NAMESPACE/]NAME, '*' globs (repeat)."),
    ] = None,
    sync_option: Annotated[
        list[str] | None, typer.Option("--sync-option", help="Sync option K=V (repeatable).")
    ] = None,
    apply_out_of_sync_only: Annotated[
        bool, typer.Option("--apply-out-of-sync-only", help="Apply only out-of-sync resources.")
    ] = False,
    force: Annotated[bool, typer.Option("--force", help="Replace resources that fail.")] = False,
    strategy: Annotated[str, typer.Option("--strategy", help="hook or apply.")] = "hook",
    retry_limit: Annotated[
        int, typer.Option("--retry-limit", min=0, help="Retry a failed sync N times.")
    ] = 0,
    retry_backoff_duration: Annotated[
        str | None, typer.Option("--retry-backoff-duration", help="First retry delay (5s).")
    ] = None,
    retry_backoff_max_duration: Annotated[
        str | None, typer.Option("--retry-backoff-max-duration", help="Longest delay (3m).")
    ] = None,
    retry_backoff_factor: Annotated[
        int | None, typer.Option("--retry-backoff-factor", min=1, help="Delay factor (2).")
    ] = None,
    retry_refresh: Annotated[
        bool,
        typer.Option(
            "--retry-refresh", help="Each retry syncs the newest revision (needs a retry)."
        ),
    ] = False,
    info: Annotated[
        list[str] | None, typer.Option("--info", help="k=v stored with the operation.")
    ] = None,
    replace: Annotated[
        bool, typer.Option("--replace", help="kubectl replace/create instead of apply.")
    ] = False,
    server_side: Annotated[
        bool, typer.Option("--server-side", help="Server-side apply (ServerSideApply=true).")
    ] = False,
    label: Annotated[
        list[str] | None,
        typer.Option("--label", help="Sync only the resources with this label K=V (repeat)."),
    ] = None,
    preview_changes: Annotated[
        bool,
        typer.Option("--preview-changes", help="Show the diff first and ask to go on."),
    ] = False,
    assume_yes: Annotated[
        bool,
        typer.Option("--assumeYes", "--assume", help="Answer yes to --preview-changes' question."),
    ] = False,
    local: Annotated[
        Path | None,
        typer.Option("--local", help="Sync what this local directory renders (no commit)."),
    ] = None,
    local_repo_root: Annotated[
        Path | None,
        typer.Option("--local-repo-root", help="The repository root for --local (default: it)."),
    ] = None,
    jq_timeout: app_diff_opts.JqTimeout = None,
    server_side_diff_concurrency: app_diff_opts.Concurrency = app_diff_opts.DEFAULT_CONCURRENCY,
    server_side_diff_max_batch_kb: app_diff_opts.MaxBatchKb = app_diff_opts.DEFAULT_BATCH_KB,
    fmt: Output = "wide",
    async_: Async = False,
    timeout: int = app_common.TIMEOUT_OPTION,
    no_color: bool = app_common.NO_COLOR_OPTION,
    kubeconfig: str | None = kubeopts.KUBECONFIG_OPTION,
    context: str | None = kubeopts.CONTEXT_OPTION,
    namespace: str = kubeopts.NAMESPACE_OPTION,
    core: bool = app_remote.CORE_OPTION,
) -> None:
    """Sync an application to its target state and follow the operation until it ends.

    Several apps (names, or -l SELECTOR / --project P in the control namespace, as argocd)
    are synced one after the other. Refused (exit 1) while another operation runs. Exit 0 when
    every sync Succeeded; 1 when one Failed, errored, was terminated, or --timeout passed.
    --label K=V syncs only the resources whose rendered manifest has one of the labels (none:
    exit 1); --preview-changes prints the diff and asks (no difference, or no answer yes:
    nothing is synced, exit 0), --assumeYes does not ask. The comparison flags bound that
    diff (cli/app_diff_opts.py). --local DIR syncs what DIR renders with the app's source
    settings instead of Git (cli/app_sync_local.py: not with automated sync unless --dry-run,
    not through the server, not when it renders a Secret).
    """
    from tidegate.cli import app_sync_local, app_sync_preview, appspec

    _check_output(fmt)
    tuning = app_diff_opts.parse(
        jq_timeout=jq_timeout, concurrency=server_side_diff_concurrency,
        batch_kb=server_side_diff_max_batch_kb,
    )  # fmt: skip
    labels = app_sync_preview.parse_labels(label or [])
    extra_options = [o for o, on in (("Replace=true", replace),
                                     ("ServerSideApply=true", server_side)) if on]  # fmt: skip
    if names and (selector or project):
        raise output.fail("give application names or -l/--project, not both", 2)
    if not names and not selector and not project:
        raise output.fail("give an application name, or -l SELECTOR / --project P", 2)

    async def selected() -> list[str]:
        async with app_remote.connect(kubeconfig, context, namespace, core=core) as apps:
            found = await apps.list_apps(selector=selector)
        wanted = [
            f"{a['metadata']['namespace']}/{a['metadata']['name']}" for a in found
            if not project or (a.get("spec") or {}).get("project", "default") in project
        ]  # fmt: skip
        if not wanted:
            from tidegate.model import errors

            raise errors.ConfigError(f"no application matches {selector or ''} {project or ''}")
        return sorted(wanted)

    async def go(name: str) -> int:
        from tidegate.cli import app_state

        ns, app_name = appspec.split_name(name, namespace)
        async with app_remote.connect(kubeconfig, context, ns, core=core) as apps:
            raw = await apps.get(app_name)
            where = (local, local_repo_root) if local is not None else None
            look = app_sync_preview.Look(apps, raw, tuning=tuning, cache_dir=None, local=where)
            manifests = await app_sync_local.manifests(look, raw, revision=revision,
                                                       dry_run=dry_run)  # fmt: skip
            chosen = appspec.select_resources(
                resource or [], app_state.status(raw).get("resources") or []
            )
            if labels:
                by_label = app_sync_preview.labelled(await look.manifests(revision), labels)
                if not by_label:
                    wanted = ", ".join(f"{k}={v}" for k, v in labels.items())
                    raise output.fail(
                        f"{app_state.describe(raw)}: no resource matches the labels {wanted}"
                    )
                chosen = app_sync_preview.merge_resources(chosen, by_label)
            if preview_changes and not await app_sync_preview.preview(
                look, qualified=f"{ns}/{app_name}", revision=revision, assume_yes=assume_yes
            ):
                return 0
            request = appspec.SyncRequest(
                revision=revision,
                prune=prune,
                dry_run=dry_run,
                resources=chosen,
                sync_options=(*(sync_option or ()), *extra_options),
                apply_out_of_sync_only=apply_out_of_sync_only,
                force=force,
                strategy=strategy,
                retry_limit=retry_limit,
                retry_backoff_duration=retry_backoff_duration,
                retry_backoff_max_duration=retry_backoff_max_duration,
                retry_backoff_factor=retry_backoff_factor,
                retry_refresh=retry_refresh,
                info=tuple(info or ()),
                username=app_common.username(),
                revisions=tuple(revisions or ()),
                source_positions=tuple(source_positions or ()),
                source_names=tuple(source_names or ()),
                manifests=manifests,
            )
            operation = appspec.sync_operation(raw.get("spec") or {}, request)
            await _request(apps, raw, operation)
            if async_:
                app_common.echo(f"application '{app_name}': sync requested")
                return 0
            return await _follow(
                apps, raw, timeout_seconds=timeout, no_color=no_color, title="sync", fmt=fmt
            )

    targets = list(names or ()) or app_common.run(selected())
    codes = [app_common.run(go(target)) for target in targets]
    raise typer.Exit(max(codes))


def rollback(
    name: str = app_common.NAME_ARGUMENT,
    history_id: Annotated[
        int | None, typer.Argument(help="History ID (default: the previous deployment).")
    ] = None,
    prune: Prune = False,
    dry_run: DryRun = False,
    disable_auto_sync: Annotated[
        bool,
        typer.Option("--disable-auto-sync", help="Turn automated sync off first (else refused)."),
    ] = False,
    fmt: Output = "wide",
    async_: Async = False,
    timeout: int = app_common.TIMEOUT_OPTION,
    no_color: bool = app_common.NO_COLOR_OPTION,
    kubeconfig: str | None = kubeopts.KUBECONFIG_OPTION,
    context: str | None = kubeopts.CONTEXT_OPTION,
    namespace: str = kubeopts.NAMESPACE_OPTION,
) -> None:
    """Sync back to the revision and source of a history entry, and follow it like sync.

    Refused while automated sync is on (the controller would sync straight back), unless
    --disable-auto-sync, which first sets spec.syncPolicy.automated to null.
    """
    from tidegate.cli import appspec

    _check_output(fmt)

    async def go() -> int:
        from tidegate.cli import app_access, app_state

        ns, app_name = appspec.split_name(name, namespace)
        async with app_access.connect(kubeconfig, context, ns) as apps:
            raw = await apps.get(app_name)
            if disable_auto_sync and appspec.automated_enabled(raw.get("spec") or {}):
                version = str(raw["metadata"].get("resourceVersion") or "")
                patch = {"spec": {"syncPolicy": {"automated": None}}}
                raw = await apps.patch(app_name, patch, resource_version=version)
                app_common.echo(f"application '{app_name}': automated sync disabled")
            entry = app_state.rollback_entry(raw, history_id)
            operation = appspec.rollback_operation(
                entry, prune=prune, dry_run=dry_run, username=app_common.username()
            )
            await _request(apps, raw, operation)
            if async_:
                app_common.echo(
                    f"application '{app_name}': rollback to {entry.get('id')} requested"
                )
                return 0
            return await _follow(
                apps, raw, timeout_seconds=timeout, no_color=no_color, title="rollback", fmt=fmt
            )

    raise typer.Exit(app_common.run(go()))


def wait(
    names: Annotated[
        list[str] | None,
        typer.Argument(help="Application names (or NAMESPACE/NAME); or select with -l."),
    ] = None,
    selector: Annotated[
        str | None, typer.Option("--selector", "-l", help="Wait for the apps with these labels.")
    ] = None,
    sync_: Annotated[bool, typer.Option("--sync", help="Wait until Synced.")] = False,
    health: Annotated[bool, typer.Option("--health", help="Wait until Healthy.")] = False,
    operation: Annotated[
        bool, typer.Option("--operation", help="Wait until no operation runs.")
    ] = False,
    suspended: Annotated[bool, typer.Option("--suspended", help="Wait until Suspended.")] = False,
    degraded: Annotated[bool, typer.Option("--degraded", help="Wait until Degraded.")] = False,
    delete: Annotated[
        bool, typer.Option("--delete", help="Wait until the application is deleted.")
    ] = False,
    resource: Annotated[
        list[str] | None,
        typer.Option(
            "--resource",
            help="Wait only for these resources: [!]GROUP:KIND:[NS/]NAME, '*' globs (repeat).",
        ),
    ] = None,
    fmt: Output = "wide",
    timeout: int = app_common.TIMEOUT_OPTION,
    no_color: bool = app_common.NO_COLOR_OPTION,
    kubeconfig: str | None = kubeopts.KUBECONFIG_OPTION,
    context: str | None = kubeopts.CONTEXT_OPTION,
    namespace: str = kubeopts.NAMESPACE_OPTION,
    core: bool = app_remote.CORE_OPTION,
) -> None:
    """Wait until the conditions hold (none given: synced, healthy and no operation running).

    Health conditions are alternatives (--health --degraded: Healthy or Degraded). Sync and
    health observed before the last operation finished do not count. --delete waits for the
    app to be gone instead. Several apps (names, or -l SELECTOR in the control namespace) are
    waited for in turn within the one --timeout. Exit 1 on --timeout, naming what was still
    missing. Through the API server when logged in, else directly (--core). --resource
    (repeat) waits for those resources' sync and health instead of the app's (argocd's
    GROUP:KIND:NAME, '!' excludes, '*' globs).
    """
    from tidegate.cli import app_state, appspec

    _check_output(fmt)
    if names and selector:
        raise output.fail("give application names or -l, not both", 2)
    if not names and not selector:
        raise output.fail("give an application name, or -l SELECTOR", 2)
    if delete and any((sync_, health, operation, suspended, degraded, resource)):
        raise output.fail("--delete waits for the app to be gone: no other condition", 2)
    wanted_flags = (sync_, health, operation, suspended, degraded)
    try:
        filters = app_state.wait_resources(resource or [])
    except appspec.FlagError as exc:
        raise output.fail(str(exc), 2) from None

    async def go() -> int:
        from tidegate.cli import app_access, app_follow, app_show, app_state

        deadline = app_access.Deadline(timeout)
        async with app_remote.connect(kubeconfig, context, namespace, core=core) as apps:
            targets = list(names or ())
            if selector:
                found = await apps.list_apps(selector=selector)
                targets = sorted(f"{a['metadata']['namespace']}/{a['metadata']['name']}"
                                 for a in found)  # fmt: skip
                if not targets:
                    raise output.fail(f"no application matches {selector}")
            for target in targets:
                ns, app_name = appspec.split_name(target, namespace)
                if delete:
                    if not await app_follow.wait_gone(apps, app_name, namespace=ns,
                                                      deadline=deadline, interval=1.0):  # fmt: skip
                        raise output.fail(
                            f"application '{ns}/{app_name}': timed out after {timeout}s: still"
                            " exists"
                        )
                    app_common.echo(f"application '{ns}/{app_name}' deleted")
                    continue
                outcome = await app_follow.wait_until(
                    apps,
                    app_name,
                    namespace=ns,
                    wanted=app_state.WaitFor(*wanted_flags),
                    deadline=deadline,
                    show=app_follow.progress("wait", no_color=no_color, quiet=fmt != "wide"),
                    resources=filters,
                )
                if outcome.app is None:
                    raise output.fail(f"application '{ns}/{app_name}' was deleted")
                if outcome.timed_out:
                    missing = "; ".join(outcome.missing)
                    raise output.fail(
                        f"application '{ns}/{app_name}': timed out after {timeout}s: {missing}"
                    )
                if fmt == "wide":
                    app_show.print_app(outcome.app, show_operation=False, wide=False,
                                       sync_window=None)  # fmt: skip
                else:
                    output.dump(outcome.app, output.Format(fmt))
        return 0

    raise typer.Exit(app_common.run(go()))


def terminate_op(
    name: str = app_common.NAME_ARGUMENT,
    kubeconfig: str | None = kubeopts.KUBECONFIG_OPTION,
    context: str | None = kubeopts.CONTEXT_OPTION,
    namespace: str = kubeopts.NAMESPACE_OPTION,
) -> None:
    """Stop the running operation (the controller ends it as Failed: terminated).

    An operation requested but not started yet is withdrawn. Exit 1 when none runs.
    """
    from tidegate.cli import appspec

    async def go() -> str:
        from tidegate.cli import app_access
        from tidegate.sync import request

        ns, app_name = appspec.split_name(name, namespace)
        async with app_access.connect(kubeconfig, context, ns) as apps:
            raw = await apps.get(app_name)
            version = str(raw["metadata"].get("resourceVersion") or "")
            outcome = request.termination(raw)
            if outcome.patch is not None:
                await apps.patch(app_name, outcome.patch, resource_version=version)
            return outcome.message

    app_common.echo(app_common.run(go()))
