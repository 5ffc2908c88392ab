"""From an Application's source spec to a render request (pure)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tidegate import render
from tidegate.model import source as model_source


def _jsonnet_options(spec: model_source.Jsonnet | None) -> render.JsonnetOptions:
    if spec is None:
        return render.JsonnetOptions()

    def variables(entries: list[model_source.JsonnetVar] | None) -> tuple[render.JsonnetVar, ...]:
        return tuple(render.JsonnetVar(v.name, v.value or "", bool(v.code)) for v in entries or [])

    return render.JsonnetOptions(
        tlas=variables(spec.tlas), ext_vars=variables(spec.ext_vars), libs=tuple(spec.libs or ())
    )


def plugin_options(spec: model_source.Plugin) -> render.PluginOptions:
    return render.PluginOptions(
        name=spec.name or "",
        env=tuple((e.name, e.value or "") for e in spec.env or []),
        parameters=tuple(
            render.PluginParameter(
                p.name,
                string=p.string,
                array=tuple(p.array) if p.array is not None else None,
                map=tuple(sorted(p.map.items())) if p.map is not None else None,
            )
            for p in spec.parameters or []
        ),
    )


def candidate_plugins(
    src: model_source.ApplicationSource, registered: Sequence[render.PluginDefinition]
) -> tuple[render.PluginDefinition, ...]:
    """The registered plugins that may render ``src`` (and so enter its cache key): the one it
    names; else, for ``plugin: {}`` or an untyped source, those with discovery rules."""
    if src.plugin is not None and src.plugin.name:
        return tuple(p for p in registered if p.name == src.plugin.name)
    if src.plugin is not None or not src.explicit_types():
        return tuple(p for p in registered if p.discovers)
    return ()


def render_request(
    src: model_source.ApplicationSource,
    *,
    root: Path,
    commit: str,
    app_name: str,
    namespace: str,
    tracking: str,
    installation_id: str = "",
    kube_version: str | None = None,
    api_versions: tuple[str, ...] = (),
    plugins: Sequence[render.PluginDefinition] = (),
    project: str = "",
) -> render.RenderRequest:
    """The render request for one source of an Application at ``commit`` checked out in ``root``."""
    directory = render.DirectoryOptions()
    if src.directory is not None:
        directory = render.DirectoryOptions(
            recurse=bool(src.directory.recurse),
            include=src.directory.include or "",
            exclude=src.directory.exclude or "",
            jsonnet=_jsonnet_options(src.directory.jsonnet),
            disable_extension_filter=bool(src.directory.disable_extension_filter),
        )
    kustomize = render.KustomizeOptions()
    if src.kustomize is not None:
        k = src.kustomize
        patches = [
            p.model_dump(mode="json", by_alias=True, exclude_none=True) for p in k.patches or []
        ]
        kustomize = render.KustomizeOptions(
            images=tuple(k.images or ()),
            name_prefix=k.name_prefix or "",
            name_suffix=k.name_suffix or "",
            common_labels=tuple(sorted((k.common_labels or {}).items())),
            common_annotations=tuple(sorted((k.common_annotations or {}).items())),
            namespace=k.namespace or "",
            replicas=tuple(render.KustomizeReplica(r.name, int(r.count)) for r in k.replicas or []),
            patches_json=tuple(json.dumps(p, sort_keys=True) for p in patches),
            components=tuple(k.components or ()),
        )
    helm = render.HelmOptions()
    if src.helm is not None:
        h = src.helm
        helm = render.HelmOptions(
            release_name=h.release_name or "",
            value_files=tuple(h.value_files or ()),
            values=h.values or "",
            values_object_json=json.dumps(h.values_object, sort_keys=True)
            if h.values_object
            else "",
            parameters=tuple(
                render.HelmParameter(p.name, p.value or "", bool(p.force_string))
                for p in h.parameters or []
            ),
            skip_crds=bool(h.skip_crds),
            ignore_missing_value_files=bool(h.ignore_missing_value_files),
            file_parameters=tuple((f.name, f.path) for f in h.file_parameters or []),
            skip_schema_validation=bool(h.skip_schema_validation),
            skip_tests=bool(h.skip_tests),
            namespace=h.namespace or "",
        )
        kube_version = h.kube_version or kube_version
        api_versions = tuple(h.api_versions or ()) or api_versions
    source_type = None
    if src.helm is not None:
        source_type = render.SourceType.HELM
    elif src.kustomize is not None:
        source_type = render.SourceType.KUSTOMIZE
    elif src.directory is not None:
        source_type = render.SourceType.DIRECTORY
    elif src.plugin is not None:
        source_type = render.SourceType.PLUGIN
    candidates = candidate_plugins(src, plugins)
    plugin_fields: dict[str, Any] = {}
    if src.plugin is not None or candidates:
        plugin_fields = {
            "plugin": plugin_options(src.plugin) if src.plugin is not None else None,
            "plugins": candidates,
            "project": project,
            "repo_url": src.repo_url,
            "target_revision": src.target_revision or "",
        }
    return render.RenderRequest(
        root=root,
        path=src.path or ".",
        commit=commit,
        app_name=app_name,
        namespace=namespace,
        source_type=source_type,
        directory=directory,
        kustomize=kustomize,
        helm=helm,
        kube_version=kube_version,
        api_versions=api_versions,
        tracking=render.TrackingMethod(tracking),
        installation_id=installation_id,
        **plugin_fields,
    )
