"""The edits of ``tidegate proj`` on a raw AppProject, with argocd's semantics. Pure: no I/O.

Each function changes ``project`` in place and returns a :class:`projspec.Edit`; nothing is
written unless ``changed``. Refusals raise ``ConfigError`` naming the project (exit 1), bad
flag values ``FlagError`` (exit 2). Sync windows are identified by their index in
``spec.syncWindows`` (the ID ``proj windows list`` shows), as in argocd.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tidegate.cli import projspec
from tidegate.cli.appspec import FlagError
from tidegate.cli.projspec import Edit, Obj
from tidegate.model import errors


def _where(project: Mapping[str, Any]) -> str:
    return f"project '{projspec.name_of(project)}'"


def _list(project: Obj, field: str) -> list[Any]:
    spec = projspec.spec_of(project)
    value = spec.get(field)
    if not isinstance(value, list):
        value = spec[field] = []
    return value


def _drop_empty(project: Obj, field: str) -> None:
    spec = projspec.spec_of(project)
    if not spec.get(field):
        spec.pop(field, None)


# -- destinations ----------------------------------------------------------------------------


def add_destination(project: Obj, target: str, namespace: str, *, by_name: bool) -> Edit:
    """``add-destination PROJECT SERVER NAMESPACE`` (``--name``: TARGET is a cluster name)."""
    field = "name" if by_name else "server"
    for dest in _list(project, "destinations"):
        if dest.get("namespace") == namespace and dest.get(field) == target:
            raise errors.ConfigError(
                f"{_where(project)}: destination {field} '{target}' namespace '{namespace}'"
                " is already defined"
            )
    _list(project, "destinations").append({field: target, "namespace": namespace})
    return Edit(True, f"destination {field} '{target}' namespace '{namespace}' added")


def remove_destination(project: Obj, target: str, namespace: str) -> Edit:
    """``remove-destination PROJECT SERVER NAMESPACE``: TARGET matches the server, or the name
    of a destination given by cluster name."""
    dests = _list(project, "destinations")
    for i, dest in enumerate(dests):
        server, name = dest.get("server") or "", dest.get("name") or ""
        if dest.get("namespace") == namespace and (
            server == target or (not server and name == target)
        ):
            del dests[i]
            _drop_empty(project, "destinations")
            return Edit(True, f"destination '{target}' namespace '{namespace}' removed")
    raise errors.ConfigError(
        f"{_where(project)}: destination '{target}' namespace '{namespace}' does not exist"
    )


def add_destination_service_account(
    project: Obj, server: str, namespace: str, account: str, *, account_namespace: str = ""
) -> Edit:
    """``add-destination-service-account PROJECT SERVER NAMESPACE SERVICE_ACCOUNT``
    (``--service-account-namespace``: the account lives there, stored ``NS:ACCOUNT``)."""
    for value, what in (
        (account, "SERVICE_ACCOUNT"),
        (account_namespace, "--service-account-namespace"),
    ):
        if "*" in value:
            raise FlagError(what, f"{value!r}: a service account cannot be a wildcard")
    stored = f"{account_namespace}:{account}" if account_namespace else account
    entries = _list(project, "destinationServiceAccounts")
    for entry in entries:
        if (entry.get("server"), entry.get("namespace"), entry.get("defaultServiceAccount")) == (
            server,
            namespace,
            stored,
        ):
            raise errors.ConfigError(
                f"{_where(project)}: service account '{stored}' for destination '{server}'"
                f" namespace '{namespace}' is already defined"
            )
    entries.append({"server": server, "namespace": namespace, "defaultServiceAccount": stored})
    return Edit(True, f"service account '{stored}' for '{server}' namespace '{namespace}' added")


def remove_destination_service_account(
    project: Obj, server: str, namespace: str, account: str
) -> Edit:
    entries = _list(project, "destinationServiceAccounts")
    for i, entry in enumerate(entries):
        if (entry.get("server"), entry.get("namespace"), entry.get("defaultServiceAccount")) == (
            server,
            namespace,
            account,
        ):
            del entries[i]
            _drop_empty(project, "destinationServiceAccounts")
            return Edit(
                True, f"service account '{account}' for '{server}' namespace '{namespace}' removed"
            )
    _drop_empty(project, "destinationServiceAccounts")
    raise errors.ConfigError(
        f"{_where(project)}: service account '{account}' for destination '{server}' namespace"
        f" '{namespace}' does not exist"
    )


# -- sources and source namespaces -----------------------------------------------------------


def add_source(project: Obj, url: str) -> Edit:
    """``add-source PROJECT URL``; a URL already allowed (the same repository) is a no-op."""
    from tidegate.sources import urls

    for item in _list(project, "sourceRepos"):
        if item == url or (item != "*" and urls.normalise(item) == urls.normalise(url)):
            return Edit(False, f"source repository '{item}' already allowed in {_where(project)}")
    _list(project, "sourceRepos").append(url)
    return Edit(True, f"source repository '{url}' added")


def remove_source(project: Obj, url: str) -> Edit:
    repos = _list(project, "sourceRepos")
    if url not in repos:
        _drop_empty(project, "sourceRepos")
        return Edit(False, f"source repository '{url}' does not exist in {_where(project)}")
    repos.remove(url)
    _drop_empty(project, "sourceRepos")
    return Edit(True, f"source repository '{url}' removed")


def add_source_namespace(project: Obj, namespace: str) -> Edit:
    """``add-source-namespace``; a namespace already listed, or ``*`` listed, is a no-op."""
    for item in _list(project, "sourceNamespaces"):
        if item in ("*", namespace):
            return Edit(False, f"source namespace '{item}' already allowed in {_where(project)}")
    _list(project, "sourceNamespaces").append(namespace)
    return Edit(True, f"source namespace '{namespace}' added")


def remove_source_namespace(project: Obj, namespace: str) -> Edit:
    """``remove-source-namespace``; ``*`` is never removed this way (argocd's rule)."""
    items = _list(project, "sourceNamespaces")
    if namespace == "*" or namespace not in items:
        _drop_empty(project, "sourceNamespaces")
        return Edit(
            False,
            f"source namespace '{namespace}' does not exist in {_where(project)} or cannot be"
            " removed",
        )
    items.remove(namespace)
    _drop_empty(project, "sourceNamespaces")
    return Edit(True, f"source namespace '{namespace}' removed")


# -- signature keys and orphaned-resource ignores --------------------------------------------


def add_signature_key(project: Obj, key_id: str) -> Edit:
    """``add-signature-key PROJECT KEY-ID``; a key already listed is refused."""
    key = projspec.parse_key_id(key_id, flag="KEY-ID")
    keys = _list(project, "signatureKeys")
    if any(str(k.get("keyID") or "").upper() == key for k in keys):
        raise errors.ConfigError(f"{_where(project)}: signature key {key} is already defined")
    keys.append({"keyID": key})
    return Edit(True, f"signature key {key} added")


def remove_signature_key(project: Obj, key_id: str) -> Edit:
    key = projspec.parse_key_id(key_id, flag="KEY-ID")
    keys = _list(project, "signatureKeys")
    for i, entry in enumerate(keys):
        if str(entry.get("keyID") or "").upper() == key:
            del keys[i]
            _drop_empty(project, "signatureKeys")
            return Edit(True, f"signature key {key} removed")
    _drop_empty(project, "signatureKeys")
    raise errors.ConfigError(f"{_where(project)}: signature key {key} is not configured")


def _ignore_entry(group: str, kind: str, name: str) -> Obj:
    return {k: v for k, v in (("group", group), ("kind", kind), ("name", name)) if v}


def _same_ignore(entry: Mapping[str, Any], wanted: Mapping[str, Any]) -> bool:
    return all((entry.get(k) or "") == (wanted.get(k) or "") for k in ("group", "kind", "name"))


def add_orphaned_ignore(project: Obj, group: str, kind: str, *, name: str = "") -> Edit:
    """``add-orphaned-ignore PROJECT GROUP KIND [--name PATTERN]``. As in argocd, this turns
    orphaned-resource monitoring on when it was off; the same entry twice is refused."""
    wanted = _ignore_entry(group, kind, name)
    spec = projspec.spec_of(project)
    settings = spec.get("orphanedResources")
    if not isinstance(settings, dict):
        settings = spec["orphanedResources"] = {}
    ignore = settings.setdefault("ignore", [])
    if any(_same_ignore(e, wanted) for e in ignore):
        raise errors.ConfigError(
            f"{_where(project)}: group '{group}' kind '{kind}' name '{name}' is already in the"
            " orphaned-resources ignore list"
        )
    ignore.append(wanted)
    return Edit(True, f"group '{group}' kind '{kind}' name '{name}' added to the ignore list")


def remove_orphaned_ignore(project: Obj, group: str, kind: str, *, name: str = "") -> Edit:
    wanted = _ignore_entry(group, kind, name)
    settings = projspec.spec_of(project).get("orphanedResources") or {}
    ignore = settings.get("ignore") or []
    for i, entry in enumerate(ignore):
        if _same_ignore(entry, wanted):
            del ignore[i]
            if not ignore:
                settings.pop("ignore", None)
            return Edit(
                True, f"group '{group}' kind '{kind}' name '{name}' removed from the ignore list"
            )
    raise errors.ConfigError(
        f"{_where(project)}: group '{group}' kind '{kind}' name '{name}' is not in the"
        " orphaned-resources ignore list"
    )


# -- resource allow/deny lists ---------------------------------------------------------------

_LISTS = {
    (False, "allow"): "clusterResourceWhitelist",
    (False, "deny"): "clusterResourceBlacklist",
    (True, "allow"): "namespaceResourceWhitelist",
    (True, "deny"): "namespaceResourceBlacklist",
}


def list_name(raw: str) -> projspec.ListName:
    try:
        return projspec.LIST_NAMES[raw]
    except KeyError:
        raise FlagError("--list", f"{raw!r} is not allow or deny") from None


def modify_resources(
    project: Obj, group: str, kind: str, *, allow: bool, namespaced: bool, which: str
) -> Edit:
    """``allow-/deny-cluster-resource`` and ``allow-/deny-namespace-resource``.

    ``which`` (``--list``) picks the list: on the allow list, allowing adds and denying
    removes; on the deny list, denying adds and allowing removes. argocd's defaults: the allow
    list for cluster resources, the deny list for namespaced ones.
    """
    chosen = list_name(which)
    field = _LISTS[(namespaced, chosen)]
    add = allow if chosen == "allow" else not allow
    scope = "namespaced" if namespaced else "cluster"
    desc = f"{'allowed' if chosen == 'allow' else 'denied'} {scope}"
    entries = _list(project, field)
    found = next(
        (
            i
            for i, e in enumerate(entries)
            if (e.get("group") or "") == group and e.get("kind") == kind
        ),
        None,
    )
    shown = f"group '{group}' and kind '{kind}'"
    if add:
        if found is not None:
            return Edit(False, f"{shown} already present in {desc} resources")
        entries.append({"group": group, "kind": kind})
        return Edit(True, f"{shown} added to {desc} resources")
    if found is None:
        _drop_empty(project, field)
        return Edit(False, f"{shown} not in {desc} resources")
    del entries[found]
    _drop_empty(project, field)
    return Edit(True, f"{shown} removed from {desc} resources")


# -- sync windows ----------------------------------------------------------------------------


def _window_spec(
    *,
    kind: str | None,
    schedule: str | None,
    duration: str | None,
    applications: Sequence[str],
    namespaces: Sequence[str],
    clusters: Sequence[str],
    manual_sync: bool | None,
    time_zone: str | None,
    and_operator: bool | None,
    description: str | None,
    sync_overrun: bool | None = None,
) -> Obj:
    window: Obj = {}
    for field, value in (
        ("kind", kind),
        ("schedule", schedule),
        ("duration", duration),
        ("manualSync", manual_sync or None),
        ("syncOverrun", sync_overrun or None),
        ("timeZone", time_zone),
        ("andOperator", and_operator or None),
        ("description", description),
    ):
        if value is not None and value != "":
            window[field] = value
    for field, values in (
        ("applications", applications),
        ("namespaces", namespaces),
        ("clusters", clusters),
    ):
        split = projspec.split_commas(values)
        if split:
            window[field] = split
    return window


def _checked(project: Obj, index: int | None, window: Obj) -> Obj:
    try:
        projspec.check_window(projspec.name_of(project), index, window)
    except errors.ConfigError as exc:
        raise FlagError("", str(exc)) from None
    return window


def add_window(project: Obj, **flags: Any) -> Edit:
    """``windows add PROJECT --kind --schedule --duration [--applications ...]...``."""
    window = _window_spec(**flags)
    missing = [f"--{f}" for f in ("kind", "schedule", "duration") if not window.get(f)]
    if missing:
        raise FlagError("", f"{_where(project)}: a sync window needs {', '.join(missing)}")
    window.setdefault("timeZone", "UTC")
    windows = _list(project, "syncWindows")
    _checked(project, len(windows), window)
    windows.append(window)
    return Edit(True, f"sync window {len(windows) - 1} added")


def _window(project: Obj, window_id: str) -> tuple[int, Obj]:
    windows = _list(project, "syncWindows")
    try:
        index = int(window_id)
    except ValueError:
        raise FlagError("ID", f"{window_id!r} is not a window ID (a number)") from None
    if not 0 <= index < len(windows):
        _drop_empty(project, "syncWindows")
        known = f"0-{len(windows) - 1}" if windows else "none"
        raise errors.ConfigError(f"{_where(project)}: sync window {index} not found (IDs: {known})")
    return index, windows[index]


def delete_window(project: Obj, window_id: str) -> Edit:
    index, _ = _window(project, window_id)
    del _list(project, "syncWindows")[index]
    _drop_empty(project, "syncWindows")
    return Edit(True, f"sync window {index} deleted")


WINDOW_SWITCHES = {"manualSync": "manual sync", "syncOverrun": "sync overrun"}


def set_window_switch(project: Obj, window_id: str, field: str, *, enabled: bool) -> Edit:
    """``windows enable-|disable-manual-sync`` (``manualSync``) and
    ``enable-|disable-sync-overrun`` (``syncOverrun``)."""
    index, window = _window(project, window_id)
    what, state = WINDOW_SWITCHES[field], "enabled" if enabled else "disabled"
    if bool(window.get(field)) == enabled:
        return Edit(False, f"{what} already {state} for sync window {index}")
    if enabled:
        window[field] = True
    else:
        window.pop(field, None)
    return Edit(True, f"{what} {state} for sync window {index}")


def update_window(project: Obj, window_id: str, **flags: Any) -> Edit:
    """``windows update PROJECT ID``: the flags given replace the window's fields (argocd:
    at least one of schedule, duration, applications, namespaces, clusters, description)."""
    index, window = _window(project, window_id)
    changes = _window_spec(kind=None, manual_sync=None, and_operator=None, sync_overrun=None,
                           **flags)  # fmt: skip
    if not set(changes) - {"timeZone"}:
        raise FlagError(
            "",
            "nothing to update: give one or more of --schedule, --duration, --applications,"
            " --namespaces, --clusters, --description",
        )
    updated = {**window, **changes}
    _checked(project, index, updated)
    if updated == window:
        return Edit(False, f"sync window {index} unchanged")
    _list(project, "syncWindows")[index] = updated
    return Edit(True, f"sync window {index} updated")
