"""``tidegate rollout``: look at and drive Rollouts on a workload cluster, as
``kubectl argo rollouts`` does (get, list, promote, abort, retry, undo, pause, restart,
set image). The cluster is the one ``--kubeconfig``/``--context`` name, ``-n`` the namespace
(default: the context's), exactly as kubectl reads them.

Exit codes: 0 done, 1 the Rollout or cluster cannot be reached or the action does not apply
(the message says why), 2 usage error.
"""

from __future__ import annotations

import datetime
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, Any

import typer

from tidegate.cli import kubeopts, output

if TYPE_CHECKING:
    from tidegate.kube import client as kube_client

app = typer.Typer(
    name="rollout",
    help="Manage Argo Rollouts' Rollouts on a workload cluster (kubectl argo rollouts).",
    no_args_is_help=True,
)
set_app = typer.Typer(name="set", help="Update a Rollout's fields.", no_args_is_help=True)
app.add_typer(set_app)

CONTEXT: Any = typer.Option(None, "--context", help="Kubeconfig context of the cluster.")
NAMESPACE: Any = typer.Option(
    None, "--namespace", "-n", help="Namespace of the Rollout (default: the context's)."
)
Out = Annotated[output.Format, typer.Option("--output", "-o", help="Output format: table or json.")]


def _run(
    kubeconfig: str | None,
    context: str | None,
    action: Callable[[kube_client.KubeClient, str], Awaitable[None]],
    namespace: str | None,
) -> None:
    from tidegate.kube import client as kube_client

    async def main() -> None:
        cfg = kubeopts.cluster_config(kubeconfig, context)
        async with kube_client.client_for(cfg) as client:
            await action(client, namespace or cfg.namespace or "default")

    kubeopts.run(main())


async def _rollout(client: kube_client.KubeClient, ns: str, name: str) -> dict[str, Any]:
    from tidegate.model import errors
    from tidegate.model.keys import ResourceKey
    from tidegate.rollouts import names

    try:
        return await client.get(ResourceKey(names.GROUP, names.KIND, ns, name))
    except errors.KubeNotFoundError:
        raise output.fail(f'rollouts.argoproj.io "{name}" not found in namespace {ns}') from None


async def _owned(
    client: kube_client.KubeClient, ns: str, rollout: dict[str, Any], kind: str
) -> list[dict[str, Any]]:
    from tidegate.rollouts import names, store

    group, version = ("apps", "v1") if kind == "ReplicaSet" else ("", "v1")
    res = await client.resource(group, kind, version)
    listed = await client.list(res, namespace=ns, label_selector=names.POD_HASH_LABEL)
    if kind == "ReplicaSet":
        uid = (rollout.get("metadata") or {}).get("uid")
        return [rs for rs in listed.items if store.owner_uid(rs) == uid]
    return listed.items


async def _patch(
    client: kube_client.KubeClient, ns: str, name: str, patches: list[tuple[str, dict[str, Any]]]
) -> None:
    from tidegate.model.keys import ResourceKey
    from tidegate.rollouts import names

    key = ResourceKey(names.GROUP, names.KIND, ns, name)
    for subresource, body in patches:
        await client.patch(key, body, subresource=subresource or None)


def _simple(
    verb: str,
    kubeconfig: str | None,
    context: str | None,
    ns: str | None,
    name: str,
    build: Callable[[dict[str, Any]], list[tuple[str, dict[str, Any]]]],
) -> None:
    from tidegate.rollouts import actions

    async def act(client: kube_client.KubeClient, namespace: str) -> None:
        rollout = await _rollout(client, namespace, name)
        try:
            patches = build(rollout)
        except actions.ActionError as exc:
            raise output.fail(str(exc)) from None
        await _patch(client, namespace, name, patches)
        typer.echo(f"rollout '{name}' {verb}")

    _run(kubeconfig, context, act, ns)


@app.command("get")
def get(
    name: str,
    watch: Annotated[bool, typer.Option("--watch", "-w", help="Keep showing changes.")] = False,
    timeout_seconds: Annotated[
        int, typer.Option("--timeout-seconds", help="With --watch: stop after N s (0: never).")
    ] = 0,
    kubeconfig: str | None = kubeopts.KUBECONFIG_OPTION,
    context: str | None = CONTEXT,
    namespace: str | None = NAMESPACE,
    fmt: Out = output.Format.table,
) -> None:
    """Show a Rollout: status, step, weights, images, ReplicaSets and pods."""
    import asyncio
    import contextlib
    import json

    from tidegate.kube import watch as kube_watch
    from tidegate.rollouts import names, view

    async def show(client: kube_client.KubeClient, ns: str) -> None:
        rollout = await _rollout(client, ns, name)
        sets = await _owned(client, ns, rollout, "ReplicaSet")
        pods = await _owned(client, ns, rollout, "Pod")
        info = view.summary(rollout, sets, pods)
        if fmt is output.Format.json:
            sys.stdout.write(json.dumps(info, indent=2) + "\n")
        else:
            if watch:
                sys.stdout.write("\x1b[2J\x1b[H" if sys.stdout.isatty() else "\n")
            sys.stdout.write(view.render(info, datetime.datetime.now(datetime.UTC)))
        sys.stdout.flush()

    async def follow(client: kube_client.KubeClient, ns: str) -> None:
        await show(client, ns)
        if not watch:
            return
        # Every change of the Rollout's status (it carries the counts) or its pods redraws.
        rollouts = await client.resource(names.GROUP, names.KIND)
        pods = await client.resource("", "Pod", "v1")
        changed = asyncio.Event()

        async def feed(res: Any, selector: str | None) -> None:
            async for event in kube_watch.reflect(
                client, res, namespace=ns, label_selector=selector
            ):
                if event.type in ("ADDED", "MODIFIED", "DELETED"):
                    changed.set()

        tasks = [
            asyncio.create_task(feed(rollouts, None)),
            asyncio.create_task(feed(pods, names.POD_HASH_LABEL)),
        ]
        try:
            async with asyncio.timeout(timeout_seconds or None):
                while True:
                    await changed.wait()
                    changed.clear()
                    await show(client, ns)
        except TimeoutError:
            pass
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    with contextlib.suppress(KeyboardInterrupt):
        _run(kubeconfig, context, follow, namespace)


@app.command("list")
def list_rollouts(
    all_namespaces: Annotated[
        bool, typer.Option("--all-namespaces", "-A", help="Rollouts of every namespace.")
    ] = False,
    kubeconfig: str | None = kubeopts.KUBECONFIG_OPTION,
    context: str | None = CONTEXT,
    namespace: str | None = NAMESPACE,
    fmt: Out = output.Format.table,
) -> None:
    """List Rollouts: strategy, status, step, weight and replica counts."""
    from tidegate.rollouts import names, view

    async def act(client: kube_client.KubeClient, ns: str) -> None:
        res = await client.resource(names.GROUP, names.KIND)
        listed = await client.list(res, namespace=None if all_namespaces else ns)
        if fmt in (output.Format.json, output.Format.yaml):
            output.dump(listed.items, fmt)
            return
        headers = [
            "NAME",
            "STRATEGY",
            "STATUS",
            "STEP",
            "SET-WEIGHT",
            "READY",
            "DESIRED",
            "UP-TO-DATE",
            "AVAILABLE",
        ]
        rows = [view.list_row(r) for r in listed.items]
        if all_namespaces:
            headers.insert(0, "NAMESPACE")
            rows = [
                [str((r.get("metadata") or {}).get("namespace")), *row]
                for r, row in zip(listed.items, rows, strict=True)
            ]
        if not rows:
            typer.echo(f"No resources found in {ns} namespace.", err=True)
            return
        output.table(headers, rows)

    _run(kubeconfig, context, act, namespace)


@app.command("promote")
def promote(
    name: str,
    full: Annotated[bool, typer.Option("--full", help="Skip every remaining step.")] = False,
    kubeconfig: str | None = kubeopts.KUBECONFIG_OPTION,
    context: str | None = CONTEXT,
    namespace: str | None = NAMESPACE,
) -> None:
    """Resume a paused Rollout, or skip the current step (--full: all of them)."""
    from tidegate.rollouts import actions

    _simple(
        "promoted", kubeconfig, context, namespace, name, lambda r: actions.promote(r, full=full)
    )


@app.command("abort")
def abort(
    name: str,
    kubeconfig: str | None = kubeopts.KUBECONFIG_OPTION,
    context: str | None = CONTEXT,
    namespace: str | None = NAMESPACE,
) -> None:
    """Abort the update: traffic and replicas go back to the stable version."""
    from tidegate.rollouts import actions

    _simple("aborted", kubeconfig, context, namespace, name, lambda _r: actions.abort())


@app.command("retry")
def retry(
    name: str,
    kubeconfig: str | None = kubeopts.KUBECONFIG_OPTION,
    context: str | None = CONTEXT,
    namespace: str | None = NAMESPACE,
) -> None:
    """Retry an aborted update."""
    from tidegate.rollouts import actions

    _simple("retried", kubeconfig, context, namespace, name, lambda _r: actions.retry())


@app.command("pause")
def pause(
    name: str,
    kubeconfig: str | None = kubeopts.KUBECONFIG_OPTION,
    context: str | None = CONTEXT,
    namespace: str | None = NAMESPACE,
) -> None:
    """Pause the Rollout (spec.paused); `promote` resumes it."""
    from tidegate.rollouts import actions

    _simple("paused", kubeconfig, context, namespace, name, lambda _r: actions.pause())


@app.command("restart")
def restart(
    name: str,
    in_: Annotated[str, typer.Option("--in", help="Restart after this duration (e.g. 30s).")] = "",
    kubeconfig: str | None = kubeopts.KUBECONFIG_OPTION,
    context: str | None = CONTEXT,
    namespace: str | None = NAMESPACE,
) -> None:
    """Replace the Rollout's pods, one at a time (sets spec.restartAt)."""
    from tidegate.model import durations, errors
    from tidegate.rollouts import actions

    try:
        delay = durations.parse(in_) if in_ else 0.0
    except errors.SpecError as exc:
        raise output.fail(f"--in: {exc}", 2) from None
    when = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=delay)
    _simple("restarts", kubeconfig, context, namespace, name, lambda _r: actions.restart(when))


@app.command("undo")
def undo(
    name: str,
    to_revision: Annotated[
        int, typer.Option("--to-revision", help="Revision to go back to (0: the previous).")
    ] = 0,
    kubeconfig: str | None = kubeopts.KUBECONFIG_OPTION,
    context: str | None = CONTEXT,
    namespace: str | None = NAMESPACE,
) -> None:
    """Roll back to the pod template of an earlier revision."""
    from tidegate.rollouts import actions

    async def act(client: kube_client.KubeClient, ns: str) -> None:
        rollout = await _rollout(client, ns, name)
        sets = await _owned(client, ns, rollout, "ReplicaSet")
        try:
            patches = actions.undo(rollout, sets, to_revision)
        except actions.ActionError as exc:
            raise output.fail(str(exc)) from None
        await _patch(client, ns, name, patches)
        typer.echo(f"rollout '{name}' undo")

    _run(kubeconfig, context, act, namespace)


@set_app.command("image")
def set_image(
    name: str,
    image: Annotated[str, typer.Argument(help="CONTAINER=IMAGE ('*=IMAGE': every container).")],
    kubeconfig: str | None = kubeopts.KUBECONFIG_OPTION,
    context: str | None = CONTEXT,
    namespace: str | None = NAMESPACE,
) -> None:
    """Set a container's image in the Rollout's pod template."""
    from tidegate.rollouts import actions

    container, sep, value = image.partition("=")
    if not sep or not container or not value:
        raise output.fail(f"expected CONTAINER=IMAGE, got {image!r}", 2)
    _simple(
        "image updated",
        kubeconfig,
        context,
        namespace,
        name,
        lambda r: actions.set_image(r, container, value),
    )
