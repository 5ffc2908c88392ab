"""Turn parameter sets into the desired, owned Application objects of an ApplicationSet (pure).

:func:`generate_applications` is the whole pipeline for one set: generators -> templates ->
``templatePatch`` -> ownership. The ApplicationSet is a plain mapping (its manifest), so the
controller can pass whatever model it reads.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

import yaml

from tidegate.appset import generators, patch, template
from tidegate.model import constants, errors

Application = dict[str, Any]


def renderer_for(appset: Mapping[str, Any]) -> template.Renderer:
    spec = appset.get("spec") or {}
    return template.Renderer(
        go_template=bool(spec.get("goTemplate")),
        options=[str(o) for o in spec.get("goTemplateOptions") or []],
    )


def _overlay(base: Any, override: Any) -> Any:
    """Generator template over spec template: non-empty override values win, maps merge."""
    if isinstance(base, Mapping) and isinstance(override, Mapping):
        out = dict(base)
        for key, value in override.items():
            if value in (None, "", [], {}) and key in out:
                continue
            out[key] = _overlay(out.get(key), value)
        return out
    return copy.deepcopy(override) if override not in (None, "", [], {}) else base


def _apply_template_patch(
    app: Application, source: str, params: Mapping[str, Any], renderer: template.Renderer
) -> Application:
    rendered = renderer.render_string(source, params)
    try:
        document = yaml.safe_load(rendered)
    except yaml.YAMLError as exc:
        raise errors.TemplateError(
            f"templatePatch for {app['metadata'].get('name')!r}: rendered patch is not valid "
            f"YAML/JSON: {exc}"
        ) from None
    if document is None:
        return app
    try:
        if isinstance(document, list):
            patched = patch.json_patch(app, document)
        elif isinstance(document, Mapping):
            patched = patch.merge_patch(app, document)
        else:
            raise errors.SpecError("the rendered patch must be an object or a list of operations")
    except errors.SpecError as exc:
        raise errors.TemplateError(
            f"templatePatch for {app['metadata'].get('name')!r}: {exc}"
        ) from None
    project = (app.get("spec") or {}).get("project")
    if (patched.get("spec") or {}).get("project") != project:
        raise errors.TemplateError(
            f"templatePatch for {app['metadata'].get('name')!r}: spec.project cannot be "
            "patched; set it in the template"
        )
    return dict(patched)


def render_application(
    appset: Mapping[str, Any],
    params: Mapping[str, Any],
    *,
    renderer: template.Renderer,
    override: Mapping[str, Any] | None = None,
) -> Application:
    """One Application (without ownership) from the set's template and a parameter set."""
    spec = appset.get("spec") or {}
    tmpl = spec.get("template") or {}
    if override:
        tmpl = _overlay(tmpl, override)
    rendered = renderer.render(tmpl, params)
    metadata = dict(rendered.get("metadata") or {})
    app: Application = {
        "apiVersion": constants.API_VERSION,
        "kind": constants.KIND_APPLICATION,
        "metadata": metadata,
        "spec": rendered.get("spec") or {},
    }
    source = spec.get("templatePatch")
    if source:
        if not renderer.go_template:
            raise errors.TemplateError(
                f"ApplicationSet {_name(appset)!r}: templatePatch requires goTemplate: true"
            )
        app = _apply_template_patch(app, str(source), params, renderer)
    return app


def _name(appset: Mapping[str, Any]) -> str:
    return str((appset.get("metadata") or {}).get("name") or "")


def _own(appset: Mapping[str, Any], app: Application) -> Application:
    meta = appset.get("metadata") or {}
    spec = appset.get("spec") or {}
    metadata = app["metadata"]
    if meta.get("namespace"):
        metadata["namespace"] = meta["namespace"]
    owner = {
        "apiVersion": constants.API_VERSION,
        "kind": constants.KIND_APPLICATION_SET,
        "name": _name(appset),
        "uid": str(meta.get("uid") or ""),
        "controller": True,
        "blockOwnerDeletion": True,
    }
    metadata["ownerReferences"] = [owner]
    finalizers = [str(f) for f in metadata.get("finalizers") or []]
    preserve = bool((spec.get("syncPolicy") or {}).get("preserveResourcesOnDeletion"))
    if not preserve and not any(f.startswith(constants.FINALIZER_RESOURCES) for f in finalizers):
        finalizers.append(constants.FINALIZER_RESOURCES)
    if finalizers:
        metadata["finalizers"] = finalizers
    else:
        metadata.pop("finalizers", None)
    if (spec.get("strategy") or {}).get("type") == "RollingSync":
        # RollingSync triggers the syncs itself: generated apps never auto-sync.
        sync_policy = app["spec"].get("syncPolicy")
        if isinstance(sync_policy, Mapping) and "automated" in sync_policy:
            app["spec"]["syncPolicy"] = {k: v for k, v in sync_policy.items() if k != "automated"}
    return app


def owned_applications(
    appset: Mapping[str, Any],
    params_list: Sequence[generators.Generated | Mapping[str, Any]],
    *,
    renderer: template.Renderer | None = None,
) -> list[Application]:
    """The desired Applications: rendered, owned by ``appset``, with unique names.

    Sets ``metadata.namespace`` (the set's), ``metadata.ownerReferences`` (controller reference
    to the set, with its uid) and the resources finalizer, unless
    ``syncPolicy.preserveResourcesOnDeletion`` is true.
    """
    renderer = renderer or renderer_for(appset)
    out: list[Application] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(params_list):
        if isinstance(item, generators.Generated):
            app = render_application(appset, item.params, renderer=renderer, override=item.template)
        else:
            app = render_application(appset, item, renderer=renderer)
        name = app["metadata"].get("name")
        if not isinstance(name, str) or not name:
            raise errors.TemplateError(
                f"ApplicationSet {_name(appset)!r}: parameter set {index} renders an "
                "Application without metadata.name"
            )
        if name in seen:
            raise errors.TemplateError(
                f"ApplicationSet {_name(appset)!r}: duplicate Application name {name!r} "
                f"(parameter sets {seen[name]} and {index})"
            )
        seen[name] = index
        out.append(_own(appset, app))
    return out


def generate_applications(
    appset: Mapping[str, Any],
    *,
    clusters: Sequence[Mapping[str, Any]] = (),
    git: generators.GitReader | None = None,
) -> list[Application]:
    """Generators, templates and ownership for one ApplicationSet manifest."""
    renderer = renderer_for(appset)
    spec = appset.get("spec") or {}
    ctx = generators.Context(renderer=renderer, clusters=clusters, git=git)
    try:
        generated = generators.generate(spec.get("generators") or [], ctx=ctx)
        return owned_applications(appset, generated, renderer=renderer)
    except errors.ApplicationSetError as exc:
        name = _name(appset)
        if str(exc).startswith(f"ApplicationSet {name!r}"):
            raise
        raise type(exc)(f"ApplicationSet {name!r}: {exc}") from None
