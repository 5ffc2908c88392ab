"""``tidegate app get-resource|patch-resource|delete-resource``: one of an app's live resources
(those ``status.resources`` lists, found as ``app actions`` finds them: ``--kind``,
``--group``, ``--resource-name``, ``--resource-namespace`` — argocd's ``--namespace``, since
``-n`` is the control namespace here).

``get-resource`` prints the live objects as YAML/JSON (Secret values masked, ``managedFields``
dropped unless ``--show-managed-fields``). ``patch-resource`` applies ``--patch`` (``--patch-type``
``merge``/``application/merge-patch+json``, default, or ``json``/``application/json-patch+json``)
to exactly one resource unless ``--all``; ``delete-resource`` deletes it (``--orphan`` leaves
its dependents, ``--force`` skips the grace period). No match, several without ``--all``, or a
patch that does not apply → exit 1 (2 for a malformed patch); nothing changes.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from tidegate.cli import app_actions, app_common, app_remote, kubeopts, output

Obj = dict[str, Any]
MERGE_TYPES = ("merge", "application/merge-patch+json")
JSON_TYPES = ("json", "application/json-patch+json")
All = Annotated[bool, typer.Option("--all", help="Every matching resource.")]


def _one_or_all(live: list[Any], kind: str, name: str, all_: bool) -> list[Any]:
    """``(key, version, object)`` of the matching live objects (``resource_actions.Live``)."""
    from tidegate.model import errors

    live = [(item.key, item.version, item.obj) for item in live]
    if not live:
        raise errors.ConfigError(f"no {kind} of application {name} matches")
    if len(live) > 1 and not all_:
        names = ", ".join(f"{k.namespace}/{k.name}" if k.namespace else k.name
                          for k, _v, _o in live)  # fmt: skip
        raise errors.ConfigError(
            f"{len(live)} resources match ({names}): narrow with --resource-name or use --all"
        )
    return live


def _run_either(
    name: str, control: str, kubeconfig: str | None, context: str | None, core: bool,
    filters: tuple[str | None, str | None, str | None, str | None], act: Any, remote_act: Any,
) -> list[Any]:  # fmt: skip
    """``remote_act(apps, raw, resources)`` through the API server when logged in, else
    ``act(registry, client, live)`` directly (``app_actions._with_live``)."""

    async def go() -> list[Any]:
        remote, out = await app_actions.over_server(name, control, kubeconfig, context, core,
                                                    filters, remote_act)  # fmt: skip
        if remote:
            return list(out)
        return list(await app_actions._with_live(name, control, kubeconfig, context, filters,
                                                 act))  # fmt: skip

    return list(app_common.run(go()))


def get_resource(
    name: str = app_common.NAME_ARGUMENT,
    kind: app_actions.Kind = None,
    group: app_actions.Group = None,
    resource_name: app_actions.ResourceName = None,
    resource_namespace: app_actions.ResourceNamespace = None,
    fmt: Annotated[
        output.Format, typer.Option("--output", "-o", help="yaml (default) or json.")
    ] = output.Format.yaml,
    show_managed_fields: Annotated[
        bool, typer.Option("--show-managed-fields", help="Keep metadata.managedFields.")
    ] = False,
    filter_fields: Annotated[
        list[str] | None,
        typer.Option(
            "--filter-fields",
            help="Only these dotted paths (comma-separated or repeated, e.g. spec.replicas).",
        ),
    ] = None,
    kubeconfig: str | None = kubeopts.KUBECONFIG_OPTION,
    context: str | None = kubeopts.CONTEXT_OPTION,
    namespace: str = kubeopts.NAMESPACE_OPTION,
    core: bool = app_remote.CORE_OPTION,
) -> None:
    """Print an app's live resource(s) (argocd app get-resource); ``--filter-fields`` keeps
    only the listed paths (``-path`` drops one), as the API's ``fields`` selection does.
    Logged in, read through the API server."""

    async def act(_registry: Any, _client: Any, live: list[Any]) -> list[Obj]:
        from tidegate.diff import mask

        found = []
        for _key, _version, obj in _one_or_all(live, kind or "resource", name, True):
            shown = dict(obj)
            if not show_managed_fields:
                shown["metadata"] = {k: v for k, v in (obj.get("metadata") or {}).items()
                                     if k != "managedFields"}  # fmt: skip
            mask.mask_secrets(shown)
            found.append(shown)
        if filter_fields:
            from tidegate.api import listing

            return [listing.select_fields(o, filter_fields) for o in found]
        return found

    if kind is None:
        raise output.fail("--kind is required", 2)

    async def remote_act(apps: Any, raw: Obj, resources: list[Obj]) -> list[Obj]:
        from tidegate.cli import app_resources_remote

        return await act(None, None, await app_resources_remote.live(apps, raw, resources))

    filters = (kind, group, resource_name, resource_namespace)
    objs = _run_either(name, namespace, kubeconfig, context, core, filters, act, remote_act)
    if fmt is output.Format.json:
        output.dump(objs[0] if len(objs) == 1 else objs, fmt)
    else:
        import sys

        import yaml

        sys.stdout.write(yaml.safe_dump_all(objs, sort_keys=False))


def patch_resource(
    name: str = app_common.NAME_ARGUMENT,
    patch_text: Annotated[str, typer.Option("--patch", help="The patch (JSON).")] = "",
    patch_type: Annotated[
        str, typer.Option("--patch-type", help="merge (default) or json (RFC 6902).")
    ] = "application/merge-patch+json",
    kind: app_actions.Kind = None,
    group: app_actions.Group = None,
    resource_name: app_actions.ResourceName = None,
    resource_namespace: app_actions.ResourceNamespace = None,
    all_: All = False,
    kubeconfig: str | None = kubeopts.KUBECONFIG_OPTION,
    context: str | None = kubeopts.CONTEXT_OPTION,
    namespace: str = kubeopts.NAMESPACE_OPTION,
    core: bool = app_remote.CORE_OPTION,
) -> None:
    """Patch an app's live resource (argocd app patch-resource); logged in, through the API
    server (as the merge patch the change amounts to)."""
    import json

    if kind is None:
        raise output.fail("--kind is required", 2)
    if patch_type not in MERGE_TYPES + JSON_TYPES:
        raise output.fail(f"--patch-type {patch_type!r}: use merge or json", 2)
    try:
        parsed: Any = json.loads(patch_text)
    except ValueError as exc:
        raise output.fail(f"--patch: not valid JSON: {exc}", 2) from None
    is_json = patch_type in JSON_TYPES
    if is_json != isinstance(parsed, list) or not isinstance(parsed, (list, dict)):
        raise output.fail("--patch: a json patch is a list, a merge patch an object", 2)
    given: Any = parsed

    def plan(live: list[Any]) -> list[tuple[Any, str, Any]]:
        from tidegate.appset import patch as patches
        from tidegate.cli import appspec

        planned = []
        for key, version, obj in _one_or_all(live, kind or "", name, all_):
            # a JSON patch is applied here and sent as the merge patch it amounts to
            body = appspec.merge_patch(obj, patches.json_patch(obj, given)) if is_json else given
            planned.append((key, version, body))
        return planned

    def lines(planned: list[tuple[Any, str, Any]]) -> list[str]:
        return [f"{k.kind}/{k.name} {'patched' if b else 'unchanged'}" for k, _v, b in planned]

    async def act(_registry: Any, client: Any, live: list[Any]) -> list[str]:
        planned = plan(live)
        for key, version, body in planned:
            if body:
                await client.patch(key, body, version=version or None)
        return lines(planned)

    async def remote_act(apps: Any, raw: Obj, resources: list[Obj]) -> list[str]:
        from tidegate.cli import app_resources_remote

        planned = plan(await app_resources_remote.live(apps, raw, resources))
        for key, version, body in planned:
            if body:
                await app_resources_remote.patch(apps, raw, key, version, body)
        return lines(planned)

    filters = (kind, group, resource_name, resource_namespace)
    for line in _run_either(name, namespace, kubeconfig, context, core, filters, act, remote_act):
        app_common.echo(line)


def delete_resource(
    name: str = app_common.NAME_ARGUMENT,
    kind: app_actions.Kind = None,
    group: app_actions.Group = None,
    resource_name: app_actions.ResourceName = None,
    resource_namespace: app_actions.ResourceNamespace = None,
    all_: All = False,
    force: Annotated[bool, typer.Option("--force", help="No grace period.")] = False,
    orphan: Annotated[bool, typer.Option("--orphan", help="Leave the dependents.")] = False,
    kubeconfig: str | None = kubeopts.KUBECONFIG_OPTION,
    context: str | None = kubeopts.CONTEXT_OPTION,
    namespace: str = kubeopts.NAMESPACE_OPTION,
    core: bool = app_remote.CORE_OPTION,
) -> None:
    """Delete an app's live resource (argocd app delete-resource); logged in, through the
    API server."""
    if kind is None:
        raise output.fail("--kind is required", 2)

    async def act(_registry: Any, client: Any, live: list[Any]) -> list[str]:
        done = []
        for key, version, _obj in _one_or_all(live, kind, name, all_):
            await client.delete(key, version=version or None,
                                propagation="Orphan" if orphan else "Background",
                                grace_period_seconds=0 if force else None)  # fmt: skip
            done.append(f"{key.kind}/{key.name} deleted")
        return done

    async def remote_act(apps: Any, raw: Obj, resources: list[Obj]) -> list[str]:
        from tidegate.cli import app_resources_remote

        done = []
        live = await app_resources_remote.live(apps, raw, resources)
        for key, version, _obj in _one_or_all(live, kind or "", name, all_):
            await app_resources_remote.delete(apps, raw, key, version, force=force, orphan=orphan)
            done.append(f"{key.kind}/{key.name} deleted")
        return done

    filters = (kind, group, resource_name, resource_namespace)
    for line in _run_either(name, namespace, kubeconfig, context, core, filters, act, remote_act):
        app_common.echo(line)
