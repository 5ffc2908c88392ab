"""AppProject objects from ``argocd proj`` style flags, and the edits of ``tidegate proj``.
Pure: no I/O.

Every edit takes the project as read (a raw dict), changes it in place, and returns an
:class:`Edit` (did anything change, and what to tell the user), with argocd's semantics: adding
what is already there is a no-op for sources, source namespaces and resource lists but a
refusal for destinations; removing what is not there is a no-op for sources and source
namespaces but a refusal for destinations and windows. Refusals raise ``ConfigError`` (exit 1),
bad flag values ``appspec.FlagError`` (exit 2). :func:`validate` applies the rules argocd's API
server checks before it stores a project (no duplicate destination, source or source namespace,
no ``!*``, valid and distinct sync windows).
"""

from __future__ import annotations

import copy
import dataclasses
import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from tidegate.cli.appspec import FlagError
from tidegate.model import constants, errors

Obj = dict[str, Any]
ListName = Literal["allow", "deny"]
LIST_NAMES: Mapping[str, ListName] = {
    "allow": "allow",
    "white": "allow",
    "deny": "deny",
    "black": "deny",
}
_KEY_ID = re.compile(r"^(?:[0-9a-fA-F]{16}|[0-9a-fA-F]{40})$")
MAX_WINDOW_DESCRIPTION = 255


@dataclasses.dataclass(frozen=True)
class Edit:
    changed: bool
    message: str = ""


@dataclasses.dataclass(frozen=True)
class ProjectOptions:
    """The spec flags of ``proj create``/``set``, named as the flags (None: not given, the field
    is left as it is)."""

    description: str | None = None
    dest: Sequence[str] | None = None
    src: Sequence[str] | None = None
    signature_keys: Sequence[str] | None = None
    source_namespaces: Sequence[str] | None = None
    allow_cluster_resource: Sequence[str] | None = None
    deny_cluster_resource: Sequence[str] | None = None
    allow_namespaced_resource: Sequence[str] | None = None
    deny_namespaced_resource: Sequence[str] | None = None
    dest_service_accounts: Sequence[str] | None = None
    orphaned_resources: bool | None = None
    orphaned_resources_warn: bool | None = None


def name_of(project: Mapping[str, Any]) -> str:
    return str((project.get("metadata") or {}).get("name") or "")


def spec_of(project: Obj) -> Obj:
    spec = project.get("spec")
    if not isinstance(spec, dict):
        spec = project["spec"] = {}
    return spec


def split_commas(values: Sequence[str]) -> list[str]:
    """Comma-separated values given once or repeated (argocd's string slices)."""
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def parse_destination(raw: str, *, flag: str = "--dest") -> Obj:
    server, sep, namespace = raw.partition(",")
    if not sep or "," in namespace or not server:
        raise FlagError(flag, f"{raw!r} is not SERVER,NAMESPACE")
    return {"server": server, "namespace": namespace}


def parse_group_kind(raw: str, *, flag: str) -> Obj:
    """``GROUP/KIND`` or ``KIND`` (core group), as argocd reads resource flags."""
    parts = raw.split("/")
    if len(parts) == 1 and parts[0]:
        return {"group": "", "kind": parts[0]}
    if len(parts) == 2 and parts[1]:
        return {"group": parts[0], "kind": parts[1]}
    raise FlagError(flag, f"{raw!r} is not GROUP/KIND or KIND")


def parse_key_id(raw: str, *, flag: str = "--signature-keys") -> str:
    """A GnuPG key ID as argocd stores it: 16 hex digits (a 40-digit fingerprint is cut to its
    last 16), upper case as ``gpg`` prints them."""
    if not _KEY_ID.match(raw):
        raise FlagError(
            flag, f"{raw!r} is not a valid GnuPG key ID (16 hex digits, or a 40-digit fingerprint)"
        )
    return raw[-16:].upper()


def parse_service_account(raw: str) -> Obj:
    parts = raw.split(",")
    if len(parts) != 3 or not all(p.strip() for p in parts[1:]) or not parts[0]:
        raise FlagError("--dest-service-accounts", f"{raw!r} is not SERVER,NAMESPACE,ACCOUNT")
    return {"server": parts[0], "namespace": parts[1], "defaultServiceAccount": parts[2]}


def apply_options(spec: Obj, opts: ProjectOptions) -> int:
    """Set the fields whose flags were given (argocd's ``proj create/set``); returns how many."""
    given = 0
    simple: tuple[tuple[str, Any], ...] = (
        ("description", opts.description),
        ("sourceRepos", None if opts.src is None else list(opts.src)),
        (
            "sourceNamespaces",
            None if opts.source_namespaces is None else split_commas(opts.source_namespaces),
        ),
    )
    for field, value in simple:
        if value is not None:
            spec[field] = value
            given += 1
    if opts.dest is not None:
        spec["destinations"] = [parse_destination(d) for d in opts.dest]
        given += 1
    if opts.signature_keys is not None:
        keys = [parse_key_id(k) for k in split_commas(opts.signature_keys)]
        spec["signatureKeys"] = [{"keyID": k} for k in keys]
        given += 1
    if opts.dest_service_accounts is not None:
        spec["destinationServiceAccounts"] = [
            parse_service_account(a) for a in opts.dest_service_accounts
        ]
        given += 1
    lists = (
        ("clusterResourceWhitelist", opts.allow_cluster_resource, "--allow-cluster-resource"),
        ("clusterResourceBlacklist", opts.deny_cluster_resource, "--deny-cluster-resource"),
        (
            "namespaceResourceWhitelist",
            opts.allow_namespaced_resource,
            "--allow-namespaced-resource",
        ),
        (
            "namespaceResourceBlacklist",
            opts.deny_namespaced_resource,
            "--deny-namespaced-resource",
        ),
    )
    for field, values, flag in lists:
        if values is not None:
            spec[field] = [parse_group_kind(v, flag=flag) for v in values]
            given += 1
    if opts.orphaned_resources is not None or opts.orphaned_resources_warn is not None:
        # argocd: monitoring is on when --orphaned-resources or --orphaned-resources-warn is
        # given; warn is set only when its flag is.
        if opts.orphaned_resources or opts.orphaned_resources_warn is not None:
            settings: Obj = {}
            if opts.orphaned_resources_warn is not None:
                settings["warn"] = opts.orphaned_resources_warn
            spec["orphanedResources"] = settings
        else:
            spec.pop("orphanedResources", None)
        given += 1
    return given


def new_project(
    name: str, namespace: str, opts: ProjectOptions, *, base: Mapping[str, Any] | None = None
) -> Obj:
    """The AppProject ``proj create`` sends: ``base`` (a manifest from ``-f``) or an empty one,
    with the flags applied on top. A NAME given with ``-f`` must match the file's."""
    if base is not None:
        project: Obj = copy.deepcopy({k: v for k, v in base.items() if k != "status"})
        meta = dict(project.get("metadata") or {})
        file_name = str(meta.get("name") or "")
        if name and file_name and name != file_name:
            raise FlagError(
                "NAME",
                f"project name '{name}' does not match the file's metadata.name '{file_name}'",
            )
        file_ns = meta.get("namespace")
        if file_ns and file_ns != namespace:
            raise FlagError(
                "--file",
                f"project '{file_name or name}' is in namespace '{file_ns}', not in the control"
                f" namespace '{namespace}' (-n)",
            )
        meta["name"] = name or file_name
        meta["namespace"] = namespace
        for server_set in ("uid", "resourceVersion", "creationTimestamp", "managedFields"):
            meta.pop(server_set, None)
        project["metadata"] = meta
    else:
        project = {"metadata": {"name": name, "namespace": namespace}, "spec": {}}
    project["apiVersion"] = f"{constants.GROUP}/{constants.VERSION}"
    project["kind"] = "AppProject"
    if not name_of(project):
        raise FlagError("NAME", "a project name (or -f FILE with metadata.name) is required")
    apply_options(spec_of(project), opts)
    return project


# -- validation (what argocd's API server checks before it stores a project) ------------------


def _destination_key(dest: Mapping[str, Any]) -> str:
    server, name = dest.get("server") or "", dest.get("name") or ""
    target = name if not server and name else server
    return f"{target}/{dest.get('namespace') or ''}"


def check_model(project: Mapping[str, Any]) -> None:
    """The object parses as an AppProject; else ``FlagError`` (exit 2) with the field path,
    as ``app create`` treats an invalid manifest."""
    from tidegate.model import project as model_project

    try:
        model_project.parse_project(project)
    except errors.SpecError as exc:
        raise FlagError("", str(exc)) from None


def validate(project: Mapping[str, Any]) -> None:
    """Refuse (``ConfigError`` naming the project and the cause) what argocd refuses."""
    from tidegate.model import project as model_project

    name = name_of(project)
    where = f"project '{name}'"
    try:
        model_project.parse_project(project)
    except errors.SpecError as exc:
        raise errors.ConfigError(str(exc)) from None
    spec = project.get("spec") or {}
    seen: set[str] = set()
    for dest in spec.get("destinations") or []:
        for field in ("name", "server", "namespace"):
            if dest.get(field) == "!*":
                raise errors.ConfigError(f"{where}: destination {field} '!*' is not allowed")
        key = _destination_key(dest)
        if key in seen:
            raise errors.ConfigError(f"{where}: destination '{key}' is listed twice")
        seen.add(key)
    for field, what in (
        ("sourceRepos", "source repository"),
        ("sourceNamespaces", "source namespace"),
    ):
        values: set[str] = set()
        for value in spec.get(field) or []:
            if value == "!*" and field == "sourceRepos":
                raise errors.ConfigError(f"{where}: source repository '!*' is not allowed")
            if value in values:
                raise errors.ConfigError(f"{where}: {what} '{value}' is listed twice")
            values.add(value)
    accounts: set[str] = set()
    for entry in spec.get("destinationServiceAccounts") or []:
        key = f"{entry.get('server') or ''}/{entry.get('namespace') or ''}"
        if "!" in key:
            raise errors.ConfigError(
                f"{where}: destination service account '{key}': '!' is not allowed"
            )
        if not str(entry.get("defaultServiceAccount") or "").strip():
            raise errors.ConfigError(
                f"{where}: destination service account '{key}' names no account"
            )
        if key in accounts:
            raise errors.ConfigError(
                f"{where}: destination service account '{key}' is listed twice"
                " (one per destination)"
            )
        accounts.add(key)
    identities: set[str] = set()
    for index, window in enumerate(spec.get("syncWindows") or []):
        check_window(name, index, window)
        identity = _window_identity(window)
        if identity in identities:
            raise errors.ConfigError(
                f"{where}: sync window {index} ({window.get('kind')} '{window.get('schedule')}'"
                f" for {window.get('duration')}) duplicates an earlier window"
            )
        identities.add(identity)


def _window_identity(window: Mapping[str, Any]) -> str:
    fields = ("kind", "schedule", "duration", "applications", "namespaces", "clusters")
    parts = [repr(window.get(f) or None) for f in fields]
    parts += [repr(window.get("timeZone") or "UTC"), repr(bool(window.get("andOperator")))]
    return "|".join(parts)


def check_window(project: str, index: int | None, window: Mapping[str, Any]) -> None:
    """A sync window argocd would store: kind, cron schedule, duration, time zone, a target."""
    from tidegate.sync import windows

    which = f"project '{project}': sync window" + (f" {index}" if index is not None else "")
    schedule = str(window.get("schedule") or "")
    if len(schedule.split()) != 5:
        raise errors.ConfigError(
            f"{which}: schedule {schedule!r} is not a cron schedule of 5 fields"
            " (minute hour day-of-month month day-of-week, e.g. '0 22 * * *')"
        )
    try:
        windows.SyncWindow.from_spec(window)
    except errors.SpecError as exc:
        raise errors.ConfigError(f"{which}: {str(exc).removeprefix('sync window ')}") from None
    if len(str(window.get("description") or "")) > MAX_WINDOW_DESCRIPTION:
        raise errors.ConfigError(
            f"{which}: description is longer than {MAX_WINDOW_DESCRIPTION} characters"
        )
    if not (window.get("applications") or window.get("namespaces") or window.get("clusters")):
        raise errors.ConfigError(
            f"{which}: needs one or more of --applications, --namespaces or --clusters"
        )
