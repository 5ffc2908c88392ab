"""``tidegate app add-source``: append a source to an Application, as ``argocd app add-source``.

The new source is built from the source flags of ``app set`` (``--repo --path --revision``,
the ``--helm-*``, ``--kustomize-*``, ``--directory-*``, ``--jsonnet-*`` and plugin flags) plus
``--source-name`` and ``--ref`` (``$ref`` of other sources' value files); the other flags of
``set`` (destination, sync policy, retry) apply to the app as ``set`` applies them. A
single-source app becomes a multi-source one (``spec.source`` moves to ``spec.sources[0]``).
The result is validated, the new source's revision and path checked (``--validate=false``
skips it), and written as a merge patch carrying the ``resourceVersion`` read. ``remove-source``
(``cli/app_unset.py``) is the reverse.
"""

from __future__ import annotations

import inspect
from typing import Any

import typer

from tidegate.cli import app_namespace


def _run(values: dict[str, Any]) -> None:
    import copy
    import dataclasses

    from tidegate.cli import app_common, app_edit, app_sources, appspec

    name, namespace = str(values["name"]), str(values["namespace"])
    flags = app_edit.flags_from(values)
    if not values.get("repo"):
        raise _usage("--repo", "the new source needs --repo")
    check = app_sources.parse_validate(str(values.get("validate") or "true"))

    async def go() -> str:
        from tidegate.cli import app_access

        ns, app_name = appspec.split_name(name, namespace)
        async with app_access.connect(values.get("kubeconfig"), values.get("context"), ns) as apps:
            current = await apps.get(app_name)
            spec = copy.deepcopy(current.get("spec") or {})
            sources = list(spec.pop("sources", None) or [])
            single = spec.pop("source", None)
            if single and not sources:
                sources = [single]
            spec["sources"] = [*sources, {}]
            at = len(spec["sources"])
            new_spec = appspec.apply_flags(spec, dataclasses.replace(flags, source_position=at))
            added = new_spec["sources"][-1]
            for field, value in (("name", values.get("source_name")), ("ref", values.get("ref"))):
                if value:
                    added[field] = value
            app = {**current, "spec": new_spec}
            app_common.validate(app)
            if check:  # the new source (the others were checked when they were set)
                probe = {**app, "spec": {**new_spec, "sources": [added]}}
                await app_sources.check_sources(
                    probe, secrets=await apps.secrets(), cache_dir=values.get("cache_dir")
                )
            patch = appspec.merge_patch(current.get("spec") or {}, new_spec)
            version = str((current.get("metadata") or {}).get("resourceVersion") or "")
            await apps.patch(app_name, {"spec": patch}, resource_version=version)
            return f"application '{app_name}' updated: source {at} added"

    app_common.echo(app_common.run(go()))


def _usage(flag: str, message: str) -> typer.Exit:
    from tidegate.cli import output

    return output.fail(f"Invalid value for '{flag}': {message}", 2)


def _add_source(**values: Any) -> None:
    """Append a source (the source flags of 'set', plus --source-name and --ref) to an app; a
    single-source app becomes multi-source."""
    namespace = values.pop(app_namespace.PARAM, "")
    if namespace:
        values["name"] = app_namespace.qualified(values["name"], namespace)
    _run(values)


def _signature() -> inspect.Signature:
    """``set``'s parameters (``--validate``/``--cache-dir`` among them) without
    ``--source-position`` (the new source is the last), plus ``--source-name`` and ``--ref``."""
    from tidegate.cli import app_edit

    own = inspect.signature(app_edit.set_, eval_str=True).parameters
    create = inspect.signature(app_edit.create, eval_str=True).parameters
    keyword = inspect.Parameter.KEYWORD_ONLY
    skip = ("source_position", "source_name")  # the new source is the last one
    params = [p.replace(kind=keyword) for n, p in own.items() if n not in skip]
    params += [
        create["source_name"].replace(kind=keyword),  # here: the new source's name
        inspect.Parameter(
            app_namespace.PARAM, keyword, default=app_namespace.OPTION, annotation=str
        ),
    ]
    return inspect.Signature(params)


# Typer reads the parameters from the (lazily computed) signature: set's, adjusted.
add_source = app_namespace.LazyCommand(
    _add_source, _add_source, _signature, {app_namespace.PARAM: str}
)
