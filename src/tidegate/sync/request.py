"""The ``operation`` a client writes to request a sync or a rollback, and when it may. Pure.

The CLI's direct mode (``tidegate app sync|rollback|terminate-op``) and the API server
(``POST /api/v1/applications/{name}/sync`` ...) build the same ``Application.operation`` field
here, so the controller cannot tell them apart. Bad values raise :class:`FlagError`, whose
``flag`` names the flag or the request field; a request that the application's state refuses
(another operation running, rollback with automated sync on) raises ``ConfigError``.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from tidegate.model import errors, globs

Obj = dict[str, Any]
STRATEGIES = ("hook", "apply")
RUNNING_PHASES = ("Running", "Terminating")


class FlagError(ValueError):
    """A flag value that cannot be used; ``flag`` names it (``--sync-policy``)."""

    def __init__(self, flag: str, message: str) -> None:
        super().__init__(f"{flag}: {message}" if flag else message)
        self.flag = flag
        self.message = message


def parse_pairs(values: Iterable[str], *, flag: str) -> list[tuple[str, str]]:
    """``K=V`` values in order; a missing ``=`` or empty key is a FlagError."""
    out = []
    for raw in values:
        key, sep, value = raw.partition("=")
        if not sep or not key:
            raise FlagError(flag, f"{raw!r} is not KEY=VALUE")
        out.append((key, value))
    return out


def automated_enabled(spec: Mapping[str, Any]) -> bool:
    """Whether automated sync is on (``automated`` set and ``enabled`` not false)."""
    automated = (spec.get("syncPolicy") or {}).get("automated")
    return isinstance(automated, Mapping) and automated.get("enabled") is not False


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
    retry_refresh: bool = False  # argocd's --retry-refresh: each retry takes the newest revision
    info: tuple[str, ...] = ()
    username: str = ""
    revisions: tuple[str, ...] = ()  # argocd's --revisions, for the sources chosen by
    source_positions: tuple[int, ...] = ()  # --source-positions (1-based)
    source_names: tuple[str, ...] = ()  # or --source-names
    manifests: tuple[str, ...] = ()  # argocd's --local: the objects to sync instead of a render


def source_revisions(spec: Mapping[str, Any], request: SyncRequest) -> list[str] | None:
    """A multi-source sync's ``revisions`` (one per source: the flag's revision for the sources
    chosen by position or name, else the source's ``targetRevision``); None without
    ``--revisions``. Usage errors name the flag, as argocd's do."""
    if not (request.revisions or request.source_positions or request.source_names):
        return None
    sources = list(spec.get("sources") or [])
    if not sources:
        raise FlagError("--revisions", "only a multi-source application takes --revisions")
    if request.revision is not None:
        raise FlagError("--revisions", "give --revision or --revisions, not both")
    if request.source_positions and request.source_names:
        raise FlagError("--source-positions", "give --source-positions or --source-names")
    chosen = request.source_positions or request.source_names
    if len(chosen) != len(request.revisions):
        raise FlagError(
            "--revisions",
            f"{len(request.revisions)} revision(s) for {len(chosen)} source(s): give one"
            " --revisions per --source-positions/--source-names",
        )
    out = [str(s.get("targetRevision") or "HEAD") for s in sources]
    names = [str(s.get("name") or "") for s in sources]
    for which, revision in zip(chosen, request.revisions, strict=True):
        if isinstance(which, int):
            if not 1 <= which <= len(sources):
                raise FlagError(
                    "--source-positions", f"{which} is not a source position (1-{len(sources)})"
                )
            out[which - 1] = revision
        elif which in names:
            out[names.index(which)] = revision
        else:
            raise FlagError("--source-names", f"no source is named {which!r}")
    return out


def sync_operation(spec: Mapping[str, Any], request: SyncRequest) -> Obj:
    """The ``operation`` field for a manual sync (what ``argocd app sync`` requests)."""
    if request.strategy not in STRATEGIES:
        raise FlagError("--strategy", f"{request.strategy!r} is not one of: hook, apply")
    sync: Obj = {}
    revisions = source_revisions(spec, request)
    if revisions is not None:
        sync["revisions"] = revisions
    revision = request.revision
    if revision is None and not spec.get("sources"):
        revision = (spec.get("source") or {}).get("targetRevision") or "HEAD"
    if revision is not None:
        sync["revision"] = revision
    sync["prune"] = request.prune
    sync["dryRun"] = request.dry_run
    if request.resources is not None:
        sync["resources"] = request.resources
    if request.manifests:
        sync["manifests"] = list(request.manifests)
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
        if request.retry_refresh:
            raise FlagError("--retry-refresh", "needs a retry (--retry-limit N)")
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
    if request.retry_refresh:
        retry["refresh"] = True
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


# -- reading the application's operation state --------------------------------------------------


def status(app: Mapping[str, Any]) -> Mapping[str, Any]:
    return app.get("status") or {}


def operation_state(app: Mapping[str, Any]) -> Mapping[str, Any] | None:
    state = status(app).get("operationState")
    return state if isinstance(state, Mapping) and state else None


def operation_in_progress(app: Mapping[str, Any]) -> bool:
    """An operation is requested (``operation`` set) or still running (its state says so)."""
    state = operation_state(app) or {}
    return bool(app.get("operation")) or state.get("phase") in RUNNING_PHASES


def describe(app: Mapping[str, Any]) -> str:
    meta = app.get("metadata") or {}
    return f"application '{meta.get('namespace', '')}/{meta.get('name', '')}'"


def history(app: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [h for h in status(app).get("history") or [] if isinstance(h, Mapping)]


def rollback_entry(app: Mapping[str, Any], history_id: int | None) -> Mapping[str, Any]:
    """History entry ``history_id``, or the one before the current deployment by default.

    Refuses while automated sync is on: the controller would sync straight back.
    """
    if automated_enabled(app.get("spec") or {}):
        raise errors.ConfigError(
            f"{describe(app)}: rollback cannot be initiated when auto-sync is enabled"
            " (use --disable-auto-sync, or 'tidegate app set --sync-policy none')"
        )
    entries = history(app)
    if history_id is None:
        if len(entries) < 2:
            raise errors.ConfigError(
                f"{describe(app)} should have at least two successful deployments"
                f" to roll back to the previous one (it has {len(entries)})"
            )
        return entries[-2]
    for entry in entries:
        if entry.get("id") == history_id:
            return entry
    known = ", ".join(str(e.get("id")) for e in entries) or "none"
    raise errors.ConfigError(
        f"{describe(app)} has no deployment with history id {history_id} (known: {known})"
    )


@dataclasses.dataclass(frozen=True)
class Termination:
    """What terminating the operation of an app writes (``patch``) and says (``message``)."""

    patch: Obj | None
    message: str


def termination(app: Mapping[str, Any]) -> Termination:
    """Running: ask the controller to stop it (phase Terminating); requested but not started:
    withdraw the request; nothing in progress: ConfigError."""
    name = (app.get("metadata") or {}).get("name", "")
    phase = (operation_state(app) or {}).get("phase")
    if phase == "Running":
        patch: Obj = {"status": {"operationState": {"phase": "Terminating"}}}
        return Termination(patch, f"application '{name}': operation terminating")
    if phase == "Terminating":
        return Termination(None, f"application '{name}': operation already terminating")
    if app.get("operation"):
        return Termination(
            {"operation": None},
            f"application '{name}': operation request withdrawn (not started)",
        )
    raise errors.ConfigError(f"{describe(app)}: no operation is in progress, nothing to terminate")
