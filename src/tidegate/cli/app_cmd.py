"""``tidegate app get|history|refresh|delete|diff|manifests|confirm-deletion``: argocd-compatible
verbs over the Applications of the management cluster.

The management cluster is the one named by ``--kubeconfig``/``--context`` (as kubectl reads
them); the control namespace is ``-n``, else ``TIDEGATE_NAMESPACE``, else ``argocd``. The
``app`` group and where each of its verbs lives: :mod:`app_group` (``list`` is in
:mod:`app_list_cmd`, ``create``/``set`` in :mod:`app_edit`, operations in :mod:`app_ops`).
Exit codes everywhere: 0 ok, 1 failure or out of sync, 2 usage error. Only typer is imported
at start-up.
"""

from __future__ import annotations

import enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from tidegate.cli import (
    app_common,
    app_diff_opts,
    app_local_files,
    app_remote,
    app_source_revisions,
    kubeopts,
    output,
)

if TYPE_CHECKING:
    from tidegate.cli import app_access

CacheDir = Annotated[
    Path | None,
    typer.Option("--cache-dir", help="Git cache directory (default: the user cache)."),
]
Revision = Annotated[
    str | None, typer.Option("--revision", help="Compare with this revision instead.")
]
HardRefresh = Annotated[
    bool, typer.Option("--hard-refresh", help="Fetch the repository even if recently fetched.")
]


class Source(enum.StrEnum):
    git = "git"
    live = "live"


def get(
    name: str = app_common.NAME_ARGUMENT,
    fmt: output.Format = output.OUTPUT_OPTION,
    refresh: Annotated[bool, typer.Option("--refresh", help="Refresh first, and wait.")] = False,
    hard_refresh: Annotated[
        bool, typer.Option("--hard-refresh", help="Refresh and re-fetch Git first, and wait.")
    ] = False,
    show_operation: Annotated[
        bool, typer.Option("--show-operation", help="Show the last operation.")
    ] = False,
    show_params: Annotated[
        bool, typer.Option("--show-params", help="Show the source's parameter overrides.")
    ] = False,
    source_position: Annotated[
        int | None,
        typer.Option("--source-position", min=1, help="Multi-source: the source to show."),
    ] = None,
    source_name: Annotated[
        str | None, typer.Option("--source-name", help="Multi-source: the source to show.")
    ] = None,
    timeout: Annotated[
        int, typer.Option("--timeout", min=1, help="Seconds to wait for a refresh.")
    ] = 60,
    kubeconfig: str | None = kubeopts.KUBECONFIG_OPTION,
    context: str | None = kubeopts.CONTEXT_OPTION,
    namespace: str = kubeopts.NAMESPACE_OPTION,
    core: bool = app_remote.CORE_OPTION,
) -> None:
    """Show an application: summary, conditions and resources (or -o yaml|json)."""
    from tidegate.cli import appspec

    async def go() -> tuple[dict[str, Any], bool]:
        ns, app_name = appspec.split_name(name, namespace)
        async with app_remote.connect(kubeconfig, context, ns, core=core) as apps:
            if isinstance(apps, app_remote.RemoteApps) and (refresh or hard_refresh):
                return await apps.refreshed(app_name, hard=hard_refresh, within=timeout)
            raw = await apps.get(app_name)
            if not (refresh or hard_refresh):
                return raw, True
            return await _refresh(apps, raw, hard=hard_refresh, timeout_seconds=timeout)

    raw, ok = app_common.run(go())
    _show(raw, fmt, show_operation=show_operation)
    if show_params and fmt not in (output.Format.yaml, output.Format.json):
        _show_params(raw, position=source_position, source_name=source_name)
    if not ok:
        raise output.fail(f"application '{name}': refresh not handled within {timeout}s")


def _show(raw: dict[str, Any], fmt: output.Format, *, show_operation: bool) -> None:
    from tidegate.cli import app_show

    if fmt in (output.Format.yaml, output.Format.json):
        output.dump(app_show.without_managed_fields(raw), fmt)
        return
    wide = fmt is output.Format.wide
    app_show.print_app(raw, show_operation=show_operation, wide=wide, sync_window=None)


def _show_params(raw: dict[str, Any], *, position: int | None, source_name: str | None) -> None:
    import sys

    from tidegate.cli import app_show, appspec, appspec_extra

    spec = raw.get("spec") or {}
    try:
        at = appspec_extra.source_position(spec, position=position, name=source_name)
    except appspec.FlagError as exc:
        raise output.fail(str(exc), 2) from None
    sources = list(spec.get("sources") or [])
    if sources and not 1 <= (at or 1) <= len(sources):
        raise output.fail(f"--source-position: must be between 1 and {len(sources)}", 2)
    source = sources[(at or 1) - 1] if sources else (spec.get("source") or {})
    headers, rows = app_show.param_rows(source)
    sys.stdout.write("\n")
    output.table(headers, rows)


async def _refresh(
    apps: app_access.Apps, raw: dict[str, Any], *, hard: bool, timeout_seconds: float
) -> tuple[dict[str, Any], bool]:
    """Ask the controller for a refresh and wait until it has handled it."""
    from tidegate.cli import app_access, app_follow
    from tidegate.model import constants

    meta = raw["metadata"]
    value = "hard" if hard else "normal"
    patch = {"metadata": {"annotations": {constants.ANNOTATION_REFRESH: value}}}
    await apps.patch(str(meta["name"]), patch, namespace=str(meta["namespace"]))
    outcome = await app_follow.wait_refreshed(
        apps,
        str(meta["name"]),
        namespace=str(meta["namespace"]),
        before=raw,
        deadline=app_access.Deadline(timeout_seconds),
    )
    return dict(outcome.app or raw), not outcome.timed_out


def history(
    name: str = app_common.NAME_ARGUMENT,
    fmt: output.Format = output.OUTPUT_OPTION,
    kubeconfig: str | None = kubeopts.KUBECONFIG_OPTION,
    context: str | None = kubeopts.CONTEXT_OPTION,
    namespace: str = kubeopts.NAMESPACE_OPTION,
) -> None:
    """Show the deployment history: ID DATE REVISION (and SOURCE with -o wide)."""
    from tidegate.cli import app_show, app_state, appspec

    async def go() -> dict[str, Any]:
        from tidegate.cli import app_access

        ns, app_name = appspec.split_name(name, namespace)
        async with app_access.connect(kubeconfig, context, ns) as apps:
            return await apps.get(app_name)

    raw = app_common.run(go())
    if fmt in (output.Format.yaml, output.Format.json):
        output.dump(app_state.history(raw), fmt)
    else:
        app_show.print_history(raw, wide=fmt is output.Format.wide)


def refresh_(
    name: str = app_common.NAME_ARGUMENT,
    hard: Annotated[bool, typer.Option("--hard", help="Also re-fetch Git and re-render.")] = False,
    wait: Annotated[
        bool, typer.Option("--wait/--no-wait", help="Wait until the controller refreshed.")
    ] = False,
    timeout: Annotated[int, typer.Option("--timeout", min=1, help="Seconds to wait.")] = 60,
    kubeconfig: str | None = kubeopts.KUBECONFIG_OPTION,
    context: str | None = kubeopts.CONTEXT_OPTION,
    namespace: str = kubeopts.NAMESPACE_OPTION,
) -> None:
    """Ask the controller to refresh the app (the argocd.argoproj.io/refresh annotation)."""
    from tidegate.cli import appspec

    async def go() -> bool:
        from tidegate.cli import app_access
        from tidegate.model import constants

        ns, app_name = appspec.split_name(name, namespace)
        async with app_access.connect(kubeconfig, context, ns) as apps:
            raw = await apps.get(app_name)
            if wait:
                return (await _refresh(apps, raw, hard=hard, timeout_seconds=timeout))[1]
            value = "hard" if hard else "normal"
            patch = {"metadata": {"annotations": {constants.ANNOTATION_REFRESH: value}}}
            await apps.patch(app_name, patch)
            return True

    if not app_common.run(go()):
        raise output.fail(f"application '{name}': refresh not handled within {timeout}s")
    app_common.echo(f"application '{name}': {'hard ' if hard else ''}refresh requested")


def delete(
    names: Annotated[
        list[str] | None,
        typer.Argument(help="Application names (or NAMESPACE/NAME); or select with -l."),
    ] = None,
    selector: Annotated[
        str | None, typer.Option("--selector", "-l", help="Delete the apps with these labels.")
    ] = None,
    cascade: Annotated[
        bool, typer.Option("--cascade/--no-cascade", help="Also delete the app's resources.")
    ] = True,
    propagation_policy: Annotated[
        str, typer.Option("--propagation-policy", help="foreground or background (cascade).")
    ] = "foreground",
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    wait: Annotated[
        bool, typer.Option("--wait/--no-wait", help="Wait until the app is gone.")
    ] = True,
    timeout: int = app_common.TIMEOUT_OPTION,
    kubeconfig: str | None = kubeopts.KUBECONFIG_OPTION,
    context: str | None = kubeopts.CONTEXT_OPTION,
    namespace: str = kubeopts.NAMESPACE_OPTION,
) -> None:
    """Delete applications (names, or -l SELECTOR in the control namespace); with --cascade
    (default) the controller deletes their resources first (the resources finalizer), with
    --no-cascade they stay on the cluster."""
    from tidegate.cli import appspec
    from tidegate.model import constants

    if propagation_policy not in ("foreground", "background"):
        raise typer.BadParameter(
            "must be foreground or background", param_hint="--propagation-policy"
        )
    if names and selector:
        raise output.fail("give application names or -l, not both", 2)
    if not names and not selector:
        raise output.fail("give an application name, or -l SELECTOR", 2)
    wanted = constants.FINALIZER_RESOURCES
    if propagation_policy == "background":
        wanted += "/background"

    async def selected() -> list[str]:
        from tidegate.cli import app_access

        async with app_access.connect(kubeconfig, context, namespace) as apps:
            found = await apps.list_apps(selector=selector)
        if not found:
            raise output.fail(f"no application matches {selector}")
        return sorted(f"{a['metadata']['namespace']}/{a['metadata']['name']}" for a in found)

    async def go(ns: str, app_name: str) -> str:
        from tidegate.cli import app_access, app_follow

        async with app_access.connect(kubeconfig, context, ns) as apps:
            raw = await apps.get(app_name)
            meta = raw["metadata"]
            finalizers = [
                f for f in meta.get("finalizers") or []
                if not str(f).startswith(constants.FINALIZER_RESOURCES)
            ]  # fmt: skip
            if cascade:
                finalizers.append(wanted)
            if finalizers != list(meta.get("finalizers") or []):
                version = str(meta.get("resourceVersion") or "")
                patch = {"metadata": {"finalizers": finalizers}}
                await apps.patch(app_name, patch, resource_version=version)
            await apps.delete(app_name)
            if not wait:
                return f"application '{app_name}' deletion requested"
            deadline = app_access.Deadline(timeout)
            if not await app_follow.wait_gone(
                apps, app_name, namespace=ns, deadline=deadline, interval=app_follow.POLL_SECONDS
            ):
                from tidegate.model import errors

                raise errors.ConfigError(
                    f"application '{ns}/{app_name}' still exists after {timeout}s"
                    " (is the controller running to delete its resources?)"
                )
            return f"application '{app_name}' deleted"

    for target in list(names or ()) or app_common.run(selected()):
        ns, app_name = appspec.split_name(target, namespace)
        if not yes:
            what = "and all its resources " if cascade else ""
            typer.confirm(f"Delete application '{ns}/{app_name}' {what}?", abort=True)
        app_common.echo(app_common.run(go(ns, app_name)))


Local = Annotated[
    Path | None,
    typer.Option("--local", help="Render this local directory instead of Git (no commit)."),
]
LocalRepoRoot = Annotated[
    Path | None,
    typer.Option("--local-repo-root", help="The repository root for --local (default: it)."),
]


def diff(
    name: str = app_common.NAME_ARGUMENT,
    revision: Revision = None,
    revisions: app_source_revisions.Revisions = None,
    source_positions: app_source_revisions.SourcePositions = None,
    source_names: app_source_revisions.SourceNames = None,
    hard_refresh: HardRefresh = False,
    refresh: Annotated[
        bool, typer.Option("--refresh", help="Resolve the target revision anew (fetch Git).")
    ] = False,
    local: Local = None,
    local_repo_root: LocalRepoRoot = None,
    local_include: app_local_files.LocalInclude = None,
    server_side_generate: Annotated[
        bool,
        typer.Option(
            "--server-side-generate",
            help="With --local: render only the --local-include files, as the controller does.",
        ),
    ] = False,
    jq_timeout: app_diff_opts.JqTimeout = None,
    server_side_diff: app_diff_opts.ServerSideDiff = "true",
    server_side_diff_concurrency: app_diff_opts.Concurrency = app_diff_opts.DEFAULT_CONCURRENCY,
    server_side_diff_max_batch_kb: app_diff_opts.MaxBatchKb = app_diff_opts.DEFAULT_BATCH_KB,
    exit_code: Annotated[
        str,
        typer.Option(
            "--exit-code", metavar="true|false", help="Exit non-zero on a difference (default)."
        ),
    ] = "true",
    diff_exit_code: Annotated[
        int, typer.Option("--diff-exit-code", help="The exit code on a difference.")
    ] = 1,
    no_color: bool = app_common.NO_COLOR_OPTION,
    cache_dir: CacheDir = None,
    kubeconfig: str | None = kubeopts.KUBECONFIG_OPTION,
    context: str | None = kubeopts.CONTEXT_OPTION,
    namespace: str = kubeopts.NAMESPACE_OPTION,
    core: bool = app_remote.CORE_OPTION,
) -> None:
    """Diff the target state (rendered from Git, or --local DIR) with the live state, locally;
    through the API server when logged in (cli/app_diff_remote.py).

    Exit 0 in sync; --diff-exit-code (1) out of sync, unless --exit-code=false; 2 on an error
    (the error on stderr, as argocd). Objects the server-side dry run rejects (a sync would
    fail its validation) are listed on stderr and count as a difference. Secret values are
    masked. --refresh resolves the target revision anew, as --hard-refresh does (the CLI keeps
    no manifest cache); --server-side-generate renders only the --local-include files of
    --local; the comparison flags are cli/app_diff_opts.py's.
    """
    from tidegate.cli import appspec

    tuning = app_diff_opts.parse(
        jq_timeout=jq_timeout, server_side_diff=server_side_diff,
        concurrency=server_side_diff_concurrency, batch_kb=server_side_diff_max_batch_kb,
    )  # fmt: skip
    include = app_local_files.check_include(
        local, local_include, server_side_generate=server_side_generate
    )

    async def go() -> bool:
        from tidegate.cli import remote

        ns, app_name = appspec.split_name(name, namespace)
        async with remote.open_remote(core=core, kubeconfig=kubeconfig, context=context) as srv:
            if srv is not None:
                return await through_server(app_remote.RemoteApps(srv.http, srv.session, ns),
                                            app_name)  # fmt: skip
        # The control namespace holds projects and Secrets; the app may be in another one.
        with app_local_files.staged(local, local_repo_root, include) as (tree, root):
            return await compare(ns, app_name, tree, root)

    async def through_server(apps: app_remote.RemoteApps, app_name: str) -> bool:
        from tidegate.cli import app_diff_remote

        given = {"--local": local, "--revision": revision, "--revisions": revisions}
        defaults = {
            "--ignore-normalizer-jq-execution-timeout": jq_timeout is not None,
            "--server-side-diff": server_side_diff != "true",
            "--server-side-diff-concurrency": (
                server_side_diff_concurrency != app_diff_opts.DEFAULT_CONCURRENCY
            ),
            "--server-side-diff-max-batch-kb": (
                server_side_diff_max_batch_kb != app_diff_opts.DEFAULT_BATCH_KB
            ),
        }
        fresh = "hard" if hard_refresh else "normal" if refresh else None
        return await app_diff_remote.diff(
            apps, app_name, refresh=fresh,
            needs_cluster=[flag for flag, value in given.items() if value],
            tuning_given=[flag for flag, on in defaults.items() if on],
        )  # fmt: skip

    async def compare(ns: str, app_name: str, tree: Path | None, root: Path | None) -> bool:
        from tidegate.cli import app_access, app_compare
        from tidegate.controller import local_compare
        from tidegate.model.enums import SyncStatusCode

        async with app_access.connect(kubeconfig, context, namespace) as apps:
            raw = await apps.get(app_name, namespace=ns)
            async with app_compare.open_context(apps, raw, cache_dir=cache_dir) as ctx:
                app_diff_opts.apply(ctx, tuning)
                if tree is not None:
                    from tidegate.cli import app_diff_local

                    cache_root = cache_dir or app_compare.default_cache_dir()
                    app_diff_local.point_at_local(ctx, tree, root, cache_root)
                app_source_revisions.pin(
                    ctx, revision=revision, revisions=revisions,
                    positions=source_positions, names=source_names,
                )  # fmt: skip
                result = await local_compare.compare_locally(
                    ctx, revision=revision, hard=hard_refresh or refresh
                )
        app_compare.print_diff(result, no_color=no_color)
        if result.problems:  # what the controller reports as a ComparisonError
            from tidegate.controller import appstatus

            typer.echo(appstatus.dry_run_problems(result.problems), err=True)
        return result.sync_status is SyncStatusCode.SYNCED and not result.problems

    try:
        fail_on_diff = app_common.parse_bool(exit_code, "--exit-code")
    except appspec.FlagError as exc:
        raise typer.BadParameter(str(exc)) from None
    try:
        in_sync = app_common.run(go())
    except typer.Exit as exc:  # argocd: an error is exit 2, a difference 1
        raise typer.Exit(2) from exc
    if not in_sync and fail_on_diff:
        raise typer.Exit(diff_exit_code)


def manifests(
    name: str = app_common.NAME_ARGUMENT,
    source: Annotated[
        Source, typer.Option("--source", help="git: rendered target; live: on the cluster.")
    ] = Source.git,
    revision: Revision = None,
    revisions: app_source_revisions.Revisions = None,
    source_positions: app_source_revisions.SourcePositions = None,
    source_names: app_source_revisions.SourceNames = None,
    hard_refresh: HardRefresh = False,
    local: Local = None,
    local_repo_root: LocalRepoRoot = None,
    cache_dir: CacheDir = None,
    kubeconfig: str | None = kubeopts.KUBECONFIG_OPTION,
    context: str | None = kubeopts.CONTEXT_OPTION,
    namespace: str = kubeopts.NAMESPACE_OPTION,
    core: bool = app_remote.CORE_OPTION,
) -> None:
    """Print the app's manifests as multi-document YAML (Secret values masked); --local DIR
    renders a local directory with the app's source settings, as 'diff --local' does. Logged
    in, the API server renders them (--local and the multi-source pins stay direct)."""
    from tidegate.cli import appspec

    if local is not None and source is not Source.git:
        raise output.fail("--local renders the target: it goes with --source git only", 2)

    async def go() -> list[dict[str, Any]]:
        from tidegate.cli import app_access, app_compare, app_manifests_remote, remote
        from tidegate.controller import local_compare as lc

        ns, app_name = appspec.split_name(name, namespace)
        direct_only = local is not None or revisions or source_positions or source_names
        if not direct_only:
            async with remote.open_remote(core=core, kubeconfig=kubeconfig,
                                          context=context) as srv:  # fmt: skip
                if srv is not None:
                    apps_remote = app_remote.RemoteApps(srv.http, srv.session, ns)
                    return await app_manifests_remote.manifests(
                        apps_remote, app_name, live=source is Source.live, revision=revision,
                        hard=hard_refresh,
                    )  # fmt: skip
        # The control namespace holds projects and Secrets; the app may be in another one.
        async with app_access.connect(kubeconfig, context, namespace) as apps:
            raw = await apps.get(app_name, namespace=ns)
            async with app_compare.open_context(apps, raw, cache_dir=cache_dir) as ctx:
                if local is not None:
                    from tidegate.cli import app_diff_local

                    cache_root = cache_dir or app_compare.default_cache_dir()
                    app_diff_local.point_at_local(ctx, local, local_repo_root, cache_root)
                app_source_revisions.pin(
                    ctx, revision=revision, revisions=revisions,
                    positions=source_positions, names=source_names,
                )  # fmt: skip
                targets = await lc.render_targets(ctx, revision=revision, hard=hard_refresh)
                if source is Source.git:
                    return lc.masked(list(targets.values()))
                return lc.masked(await lc.fetch_live(ctx, targets))

    import sys

    import yaml

    objs = app_common.run(go())
    sys.stdout.write(
        yaml.dump_all(objs, Dumper=yaml.CSafeDumper, sort_keys=False, explicit_start=True)
    )


def confirm_deletion(
    name: str = app_common.NAME_ARGUMENT,
    kubeconfig: str | None = kubeopts.KUBECONFIG_OPTION,
    context: str | None = kubeopts.CONTEXT_OPTION,
    namespace: str = kubeopts.NAMESPACE_OPTION,
) -> None:
    """Approve the pruning (Prune=confirm) or deletion (Delete=confirm) the app waits for."""
    import datetime as dt

    from tidegate.cli import appspec

    async def go() -> None:
        from tidegate.cli import app_access
        from tidegate.model import constants

        ns, app_name = appspec.split_name(name, namespace)
        now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        async with app_access.connect(kubeconfig, context, ns) as apps:
            await apps.get(app_name)
            patch = {"metadata": {"annotations": {constants.ANNOTATION_DELETION_APPROVED: now}}}
            await apps.patch(app_name, patch)

    app_common.run(go())
    app_common.echo(f"application '{name}': deletion approved")
