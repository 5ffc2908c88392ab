"""Application objects and operations from ``argocd app`` style flags. Pure: no I/O.

``tidegate app create`` and ``tidegate app set`` share :func:`apply_flags` (a flag changes the
same field in both, as the argocd CLI does); ``sync`` and ``rollback`` build the ``operation``
field the controller runs. Bad flag values raise :class:`FlagError` (the CLI exits 2); the
result is validated afterwards with ``tidegate.model.parse_application``.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from tidegate.cli import appspec_extra
from tidegate.diff import merge_patch as diff_merge_patch
from tidegate.model import constants

# The operation builders live in tidegate.sync.request (shared with the API server); these
# names stay importable from here for the CLI's modules.
from tidegate.sync.request import (
    STRATEGIES,
    FlagError,
    ResourceFilter,
    SyncRequest,
    automated_enabled,
    parse_pairs,
    parse_resource,
    rollback_operation,
    select_resources,
    sync_operation,
)

__all__ = [
    "STRATEGIES",
    "FlagError",
    "ResourceFilter",
    "SyncRequest",
    "automated_enabled",
    "parse_pairs",
    "parse_resource",
    "rollback_operation",
    "select_resources",
    "sync_operation",
]

Obj = dict[str, Any]

AUTOMATED_POLICIES = ("automated", "auto", "automatic")
MANUAL_POLICIES = ("none", "manual")


def split_name(arg: str, namespace: str) -> tuple[str, str]:
    """``NAME`` or ``NAMESPACE/NAME`` (as argocd accepts) -> (namespace, name)."""
    ns, slash, name = arg.partition("/")
    if not slash:
        return namespace, arg
    if not ns or not name or "/" in name:
        raise FlagError("NAME", f"{arg!r} is not NAME or NAMESPACE/NAME")
    return ns, name


@dataclasses.dataclass(frozen=True)
class HelmFlags:
    """argocd's other ``--helm-*`` source flags (None / empty: leave the field as it is)."""

    chart: str | None = None
    set_file: tuple[str, ...] = ()
    values_literal: str | None = None  # the content of --values-literal-file
    skip_crds: bool | None = None
    skip_schema_validation: bool | None = None
    skip_tests: bool | None = None
    api_versions: tuple[str, ...] = ()
    kube_version: str | None = None
    namespace: str | None = None
    pass_credentials: bool | None = None
    ignore_missing_value_files: bool | None = None

    def given(self) -> bool:
        return self != HelmFlags()


def _apply_helm(src: Obj, flags: HelmFlags) -> None:
    if flags.chart is not None:
        src["chart"] = flags.chart  # a chart source has no path in the repository
        if flags.chart:
            src.pop("path", None)
    fields: dict[str, Any] = {
        "values": flags.values_literal,
        "skipCrds": flags.skip_crds,
        "skipSchemaValidation": flags.skip_schema_validation,
        "skipTests": flags.skip_tests,
        "kubeVersion": flags.kube_version,
        "namespace": flags.namespace,
        "passCredentials": flags.pass_credentials,
        "ignoreMissingValueFiles": flags.ignore_missing_value_files,
        "apiVersions": list(flags.api_versions) or None,
    }
    wanted = {k: v for k, v in fields.items() if v is not None}
    files = parse_pairs(flags.set_file, flag="--helm-set-file")
    if not wanted and not files:
        return
    helm = src.setdefault("helm", {})
    helm.update(wanted)
    for name, path in files:
        entry = {"name": name, "path": path}
        _upsert_by(helm.setdefault("fileParameters", []), entry, lambda p: p.get("name"))


@dataclasses.dataclass(frozen=True)
class SpecFlags:
    """Flags that change ``spec`` (None / empty: leave the field as it is)."""

    repo: str | None = None
    path: str | None = None
    revision: str | None = None
    dest_server: str | None = None
    dest_name: str | None = None
    dest_namespace: str | None = None
    project: str | None = None
    sync_policy: str | None = None
    auto_prune: bool | None = None
    self_heal: bool | None = None
    allow_empty: bool | None = None
    sync_options: tuple[str, ...] = ()
    helm_set: tuple[str, ...] = ()
    helm_set_string: tuple[str, ...] = ()
    values: tuple[str, ...] = ()
    release_name: str | None = None
    helm: HelmFlags | None = None
    directory_recurse: bool | None = None
    nameprefix: str | None = None
    namesuffix: str | None = None
    kustomize_images: tuple[str, ...] = ()
    source_position: int | None = None
    plugin_name: str | None = None  # --config-management-plugin
    plugin_env: tuple[str, ...] = ()  # --plugin-env K=V
    jsonnet_tla_str: tuple[str, ...] = ()  # --jsonnet-tla-str K=V
    jsonnet_tla_code: tuple[str, ...] = ()  # --jsonnet-tla-code K=CODE
    jsonnet_ext_var_str: tuple[str, ...] = ()  # --jsonnet-ext-var-str K=V
    jsonnet_ext_var_code: tuple[str, ...] = ()  # --jsonnet-ext-var-code K=CODE
    jsonnet_libs: tuple[str, ...] = ()  # --jsonnet-libs PATH
    extras: appspec_extra.SourceExtras | None = None  # --kustomize-*, --directory-include/...
    retry: appspec_extra.RetryFlags | None = None  # --sync-retry-*

    def changes_source(self) -> bool:
        return any(
            v not in (None, ())
            for v in (
                self.jsonnet_tla_str,
                self.jsonnet_tla_code,
                self.jsonnet_ext_var_str,
                self.jsonnet_ext_var_code,
                self.jsonnet_libs,
                self.plugin_name,
                self.plugin_env,
                self.repo,
                self.path,
                self.revision,
                self.helm_set,
                self.helm_set_string,
                self.values,
                self.release_name,
                self.helm,
                self.directory_recurse,
                self.nameprefix,
                self.namesuffix,
                self.kustomize_images,
                self.extras,
            )
        )

    def given(self) -> bool:
        return self != SpecFlags(source_position=self.source_position)


def _source(spec: Obj, position: int | None) -> Obj:
    """The source the flags change: ``spec.source``, or ``spec.sources[position-1]``."""
    sources = spec.get("sources")
    if sources:
        if position is None:
            raise FlagError(
                "--source-position",
                f"the application has {len(sources)} sources; say which one to change (1-based)",
            )
        if not 1 <= position <= len(sources):
            raise FlagError("--source-position", f"must be between 1 and {len(sources)}")
        found: Obj = sources[position - 1]
        return found
    if position not in (None, 1):
        raise FlagError("--source-position", "the application has a single source")
    return spec.setdefault("source", {})  # type: ignore[no-any-return]


def _image_name(image: str) -> str:
    """The image an override applies to: before ``=``, else the name without tag or digest."""
    if "=" in image:
        return image.split("=", 1)[0]
    name = image.split("@", 1)[0]
    slash = name.rfind("/")
    colon = name.rfind(":")
    return name[:colon] if colon > slash else name


def _upsert_by(items: list[Any], new: Any, key: Any) -> None:
    for i, item in enumerate(items):
        if key(item) == key(new):
            items[i] = new
            return
    items.append(new)


def _apply_source(src: Obj, flags: SpecFlags) -> None:
    if flags.repo is not None:
        src["repoURL"] = flags.repo
    if flags.path is not None:
        src["path"] = flags.path
    if flags.revision is not None:
        src["targetRevision"] = flags.revision
    params = [(k, v, False) for k, v in parse_pairs(flags.helm_set, flag="--helm-set")]
    params += [
        (k, v, True) for k, v in parse_pairs(flags.helm_set_string, flag="--helm-set-string")
    ]
    if params or flags.values or flags.release_name is not None:
        helm = src.setdefault("helm", {})
        for name, value, force in params:
            entry: Obj = {"name": name, "value": value}
            if force:
                entry["forceString"] = True
            _upsert_by(helm.setdefault("parameters", []), entry, lambda p: p.get("name"))
        if flags.values:
            helm["valueFiles"] = list(flags.values)
        if flags.release_name is not None:
            helm["releaseName"] = flags.release_name
    if flags.helm is not None:
        _apply_helm(src, flags.helm)
    if flags.directory_recurse is not None:
        src.setdefault("directory", {})["recurse"] = flags.directory_recurse
    if flags.nameprefix is not None or flags.namesuffix is not None or flags.kustomize_images:
        kustomize = src.setdefault("kustomize", {})
        if flags.nameprefix is not None:
            kustomize["namePrefix"] = flags.nameprefix
        if flags.namesuffix is not None:
            kustomize["nameSuffix"] = flags.namesuffix
        for image in flags.kustomize_images:
            if not image.strip():
                raise FlagError("--kustomize-image", "must not be empty")
            _upsert_by(kustomize.setdefault("images", []), image, _image_name)
    _apply_plugin(src, flags)
    _apply_jsonnet(src, flags)
    if flags.extras is not None:
        appspec_extra.apply_source_extras(src, flags.extras)


def _apply_jsonnet(src: Obj, flags: SpecFlags) -> None:
    """argocd's ``--jsonnet-*`` flags: TLAs and external variables are added or replaced by name
    (``code`` set for the ``-code`` forms), library paths appended once each."""
    groups = (
        ("tlas", flags.jsonnet_tla_str, False, "--jsonnet-tla-str"),
        ("tlas", flags.jsonnet_tla_code, True, "--jsonnet-tla-code"),
        ("extVars", flags.jsonnet_ext_var_str, False, "--jsonnet-ext-var-str"),
        ("extVars", flags.jsonnet_ext_var_code, True, "--jsonnet-ext-var-code"),
    )
    if not flags.jsonnet_libs and not any(values for _, values, _, _ in groups):
        return
    jsonnet = src.setdefault("directory", {}).setdefault("jsonnet", {})
    for field, values, code, flag in groups:
        for key, value in parse_pairs(values, flag=flag):
            entry = {"name": key, "value": value, "code": code}
            _upsert_by(jsonnet.setdefault(field, []), entry, lambda e: e["name"])
    libs = jsonnet.setdefault("libs", []) if flags.jsonnet_libs else []
    for lib in flags.jsonnet_libs:
        if lib not in libs:
            libs.append(lib)


def _apply_plugin(src: Obj, flags: SpecFlags) -> None:
    """``--config-management-plugin`` sets ``plugin.name``; ``--plugin-env K=V`` adds or
    replaces an entry of ``plugin.env`` (other plugin fields are kept)."""
    env = parse_pairs(flags.plugin_env, flag="--plugin-env")
    if flags.plugin_name is None and not env:
        return
    plugin = src.setdefault("plugin", {})
    if flags.plugin_name is not None:
        plugin["name"] = flags.plugin_name
    for key, value in env:
        _upsert_by(plugin.setdefault("env", []), {"name": key, "value": value}, lambda e: e["name"])


def _apply_sync_policy(spec: Obj, flags: SpecFlags) -> None:
    if flags.sync_policy is not None:
        wanted = flags.sync_policy.strip().lower()
        policy = spec.get("syncPolicy") or {}
        if wanted in AUTOMATED_POLICIES:
            automated = dict(policy.get("automated") or {})
            if automated.get("enabled") is False:
                automated["enabled"] = True
            spec["syncPolicy"] = {**policy, "automated": automated}
        elif wanted in MANUAL_POLICIES:
            rest = {k: v for k, v in policy.items() if k != "automated"}
            if rest:
                spec["syncPolicy"] = rest
            else:
                spec.pop("syncPolicy", None)
        else:
            raise FlagError(
                "--sync-policy",
                f"{flags.sync_policy!r} is not one of: automated (auto, automatic), none (manual)",
            )
    for flag, field, value in (
        ("--auto-prune", "prune", flags.auto_prune),
        ("--self-heal", "selfHeal", flags.self_heal),
        ("--allow-empty", "allowEmpty", flags.allow_empty),
    ):
        if value is None:
            continue
        if not automated_enabled(spec):
            raise FlagError(flag, "the application is not configured with automated sync")
        spec["syncPolicy"]["automated"][field] = value
    if flags.sync_options:
        options = list((spec.get("syncPolicy") or {}).get("syncOptions") or [])
        for key, text in parse_pairs(flags.sync_options, flag="--sync-option"):
            _upsert_by(options, f"{key}={text}", lambda o: str(o).split("=", 1)[0])
        spec.setdefault("syncPolicy", {})["syncOptions"] = options


def apply_flags(spec: Mapping[str, Any], flags: SpecFlags) -> Obj:
    """A copy of ``spec`` with the flags applied, as ``argocd app set`` applies them."""
    out: Obj = copy.deepcopy(dict(spec))
    if flags.project is not None:
        out["project"] = flags.project
    dest = out.setdefault("destination", {})
    if flags.dest_server is not None:
        dest["server"] = flags.dest_server
        if flags.dest_name is None:
            dest.pop("name", None)
    if flags.dest_name is not None:
        dest["name"] = flags.dest_name
        if flags.dest_server is None:
            dest.pop("server", None)
    if flags.dest_namespace is not None:
        dest["namespace"] = flags.dest_namespace
    if flags.changes_source():
        _apply_source(_source(out, flags.source_position), flags)
    _apply_sync_policy(out, flags)
    if flags.retry is not None:
        appspec_extra.apply_retry(out, flags.retry)
    return out


def new_application(
    name: str,
    namespace: str,
    flags: SpecFlags,
    *,
    labels: Sequence[str] = (),
    annotations: Sequence[str] = (),
    set_finalizer: bool = False,
    base: Mapping[str, Any] | None = None,
) -> Obj:
    """An Application from flags, or ``base`` (a manifest from ``-f``) with flags applied.

    ``name`` / ``namespace`` fill the metadata (a namespace in ``base`` wins over ``namespace``;
    an explicit ``name`` wins over the file's).
    """
    if base is None:
        base = {
            "apiVersion": constants.API_VERSION,
            "kind": constants.KIND_APPLICATION,
            "metadata": {},
            "spec": {"project": constants.DEFAULT_PROJECT, "destination": {}, "source": {}},
        }
    obj: Obj = copy.deepcopy(dict(base))
    meta = obj.setdefault("metadata", {})
    if name:
        meta["name"] = name
    meta["namespace"] = meta.get("namespace") or namespace
    for field, values, flag in (
        ("labels", labels, "--label"),
        ("annotations", annotations, "--annotations"),
    ):
        pairs = parse_pairs(values, flag=flag)
        if pairs:
            meta[field] = {**(meta.get(field) or {}), **dict(pairs)}
    if set_finalizer:
        finalizers = list(meta.get("finalizers") or [])
        if constants.FINALIZER_RESOURCES not in finalizers:
            finalizers.append(constants.FINALIZER_RESOURCES)
        meta["finalizers"] = finalizers
    obj["spec"] = apply_flags(obj.get("spec") or {}, flags)
    return obj


merge_patch = diff_merge_patch.between  # the JSON merge patch (RFC 7386) from old to new
