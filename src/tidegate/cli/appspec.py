"""Application objects and operations from ``argocd app`` style flags. Pure: no I/O.

``tidegate app create`` and ``tidegate app set`` share :func:`apply_flags` (a flag changes the
same field in both, as the argocd CLI does); ``sync`` and ``rollback`` build the ``operation``
field the controller runs. Bad flag values raise :class:`FlagError` (the CLI exits 2); the
result is validated afterwards with ``tidegate.model.parse_application``.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from tidegate.model import constants, globs

Obj = dict[str, Any]

AUTOMATED_POLICIES = ("automated", "auto", "automatic")
MANUAL_POLICIES = ("none", "manual")
STRATEGIES = ("hook", "apply")


class FlagError(ValueError):
    """A flag value that cannot be used; ``flag`` names it (``--sync-policy``)."""

    def __init__(self, flag: str, message: str) -> None:
        super().__init__(f"{flag}: {message}" if flag else message)
        self.flag = flag
        self.message = message


def split_name(arg: str, namespace: str) -> tuple[str, str]:
    """``NAME`` or ``NAMESPACE/NAME`` (as argocd accepts) -> (namespace, name)."""
    ns, slash, name = arg.partition("/")
    if not slash:
        return namespace, arg
    if not ns or not name or "/" in name:
        raise FlagError("NAME", f"{arg!r} is not NAME or NAMESPACE/NAME")
    return ns, name


def parse_pairs(values: Iterable[str], *, flag: str) -> list[tuple[str, str]]:
    """``K=V`` values in order; a missing ``=`` or empty key is a FlagError."""
    out = []
    for raw in values:
        key, sep, value = raw.partition("=")
        if not sep or not key:
            raise FlagError(flag, f"{raw!r} is not KEY=VALUE")
        out.append((key, value))
    return out


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
    directory_recurse: bool | None = None
    nameprefix: str | None = None
    namesuffix: str | None = None
    kustomize_images: tuple[str, ...] = ()
    source_position: int | None = None
    plugin_name: str | None = None  # --config-management-plugin
    plugin_env: tuple[str, ...] = ()  # --plugin-env K=V

    def changes_source(self) -> bool:
        return any(
            v not in (None, ())
            for v in (
                self.plugin_name,
                self.plugin_env,
                self.repo,
                self.path,
                self.revision,
                self.helm_set,
                self.helm_set_string,
                self.values,
                self.release_name,
                self.directory_recurse,
                self.nameprefix,
                self.namesuffix,
                self.kustomize_images,
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


def automated_enabled(spec: Mapping[str, Any]) -> bool:
    """Whether automated sync is on (``automated`` set and ``enabled`` not false)."""
    automated = (spec.get("syncPolicy") or {}).get("automated")
    return isinstance(automated, Mapping) and automated.get("enabled") is not False


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


def merge_patch(old: Mapping[str, Any], new: Mapping[str, Any]) -> Obj:
    """The JSON merge patch (RFC 7386) that turns ``old`` into ``new``."""
    patch: Obj = {k: None for k in old if k not in new}
    for key, value in new.items():
        before = old.get(key, _MISSING)
        if isinstance(value, Mapping) and isinstance(before, Mapping):
            sub = merge_patch(before, value)
            if sub:
                patch[key] = sub
        elif before is _MISSING or before != value:
            patch[key] = copy.deepcopy(value)
    return patch


_MISSING = object()


# -- operations ---------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ResourceFilter:
    """One ``--resource [!]GROUP:KIND:[NAMESPACE/]NAME`` (``*`` globs any part)."""

    group: str
    kind: str
    namespace: str | None
    name: str
    exclude: bool = False

    @property
    def literal(self) -> bool:
        parts = (self.group, self.kind, self.namespace or "", self.name)
        return not self.exclude and not any(c in p for p in parts for c in "*?[")

    def matches(self, res: Mapping[str, Any]) -> bool:
        return (
            globs.matches(self.group, str(res.get("group") or ""))
            and globs.matches(self.kind, str(res.get("kind") or ""))
            and globs.matches(self.name, str(res.get("name") or ""))
            and (
                self.namespace is None
                or globs.matches(self.namespace, str(res.get("namespace") or ""))
            )
        )

    def as_resource(self) -> Obj:
        out: Obj = {"group": self.group, "kind": self.kind, "name": self.name}
        if self.namespace:
            out["namespace"] = self.namespace
        return out


def parse_resource(value: str) -> ResourceFilter:
    raw = value.strip()
    exclude = raw.startswith("!")
    parts = raw.lstrip("!").split(":")
    if len(parts) != 3 or not parts[1] or not parts[2]:
        raise FlagError("--resource", f"{value!r} is not GROUP:KIND:NAME or GROUP:KIND:NS/NAME")
    group, kind, rest = parts
    namespace, slash, name = rest.rpartition("/")
    if not name:
        raise FlagError("--resource", f"{value!r} has no NAME")
    return ResourceFilter(group, kind, namespace if slash else None, name, exclude)


def select_resources(
    values: Sequence[str], app_resources: Sequence[Mapping[str, Any]]
) -> list[Obj] | None:
    """The ``operation.sync.resources`` list for ``--resource`` values; None when none given.

    Literal filters are sent as they are; globs and ``!`` exclusions are matched against the
    app's resources (``status.resources``).
    """
    if not values:
        return None
    filters = [parse_resource(v) for v in values]
    if all(f.literal for f in filters):
        return [f.as_resource() for f in filters]
    includes = [f for f in filters if not f.exclude]
    excludes = [f for f in filters if f.exclude]
    chosen = [
        ResourceFilter(
            str(r.get("group") or ""),
            str(r.get("kind") or ""),
            str(r.get("namespace") or ""),
            str(r.get("name") or ""),
        ).as_resource()
        for r in app_resources
        if (not includes or any(f.matches(r) for f in includes))
        and not any(f.matches(r) for f in excludes)
    ]
    if not chosen:
        raise FlagError("--resource", "no resource of the application matches the filters")
    return chosen


@dataclasses.dataclass(frozen=True)
class SyncRequest:
    revision: str | None = None
    prune: bool = False
    dry_run: bool = False
    resources: list[Obj] | None = None
    sync_options: tuple[str, ...] = ()
    apply_out_of_sync_only: bool = False
    force: bool = False
    strategy: str = "hook"
    retry_limit: int | None = None
    retry_backoff_duration: str | None = None
    retry_backoff_max_duration: str | None = None
    retry_backoff_factor: int | None = None
    info: tuple[str, ...] = ()
    username: str = ""


def sync_operation(spec: Mapping[str, Any], request: SyncRequest) -> Obj:
    """The ``operation`` field for a manual sync (what ``argocd app sync`` requests)."""
    if request.strategy not in STRATEGIES:
        raise FlagError("--strategy", f"{request.strategy!r} is not one of: hook, apply")
    sync: Obj = {}
    revision = request.revision
    if revision is None and not spec.get("sources"):
        revision = (spec.get("source") or {}).get("targetRevision") or "HEAD"
    if revision is not None:
        sync["revision"] = revision
    sync["prune"] = request.prune
    sync["dryRun"] = request.dry_run
    if request.resources is not None:
        sync["resources"] = request.resources
    options = [f"{k}={v}" for k, v in parse_pairs(request.sync_options, flag="--sync-option")]
    if request.apply_out_of_sync_only:
        options.append("ApplyOutOfSyncOnly=true")
    if options:
        sync["syncOptions"] = options
    sync["syncStrategy"] = {request.strategy: {"force": request.force}}
    operation: Obj = {"sync": sync, "initiatedBy": {"username": request.username}}
    retry = _retry(request)
    if retry:
        operation["retry"] = retry
    info = parse_pairs(request.info, flag="--info")
    if info:
        operation["info"] = [{"name": k, "value": v} for k, v in info]
    return operation


def _retry(request: SyncRequest) -> Obj:
    if not request.retry_limit:
        return {}
    if request.retry_limit < 0:
        raise FlagError("--retry-limit", "must not be negative")
    retry: Obj = {"limit": request.retry_limit}
    backoff: Obj = {}
    if request.retry_backoff_duration:
        backoff["duration"] = request.retry_backoff_duration
    if request.retry_backoff_max_duration:
        backoff["maxDuration"] = request.retry_backoff_max_duration
    if request.retry_backoff_factor:
        backoff["factor"] = request.retry_backoff_factor
    if backoff:
        retry["backoff"] = backoff
    return retry


def rollback_operation(
    entry: Mapping[str, Any], *, prune: bool, dry_run: bool, username: str
) -> Obj:
    """The ``operation`` that syncs to history ``entry`` (its revision(s) and source(s))."""
    sync: Obj = {}
    if entry.get("revisions"):
        sync["revisions"] = list(entry["revisions"])
        if entry.get("sources"):
            sync["sources"] = copy.deepcopy(entry["sources"])
    else:
        sync["revision"] = entry.get("revision") or ""
        if entry.get("source"):
            sync["source"] = copy.deepcopy(entry["source"])
    sync["prune"] = prune
    sync["dryRun"] = dry_run
    return {"sync": sync, "initiatedBy": {"username": username}}
