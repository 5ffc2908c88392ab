"""Sync options: ``argocd.argoproj.io/sync-options`` annotations and the app's ``syncOptions``.

Each option is ``Name=value``. Unset options are ``None`` so a resource annotation overrides the
application's setting only where it says something (:meth:`SyncOptions.overridden_by`).
Unknown names and invalid values are rejected with a message naming the option and its source.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Literal

from tidegate.model import errors

Tristate = Literal["true", "false", "confirm"]
Propagation = Literal["foreground", "background", "orphan"]

# Option name -> (dataclass field, allowed values); bool options take true/false.
_BOOL_OPTIONS = {
    "PruneLast": "prune_last",
    "CreateNamespace": "create_namespace",
    "Replace": "replace",
    "Force": "force",
    "ServerSideApply": "server_side_apply",
    "ApplyOutOfSyncOnly": "apply_out_of_sync_only",
    "Validate": "validate",
    "RespectIgnoreDifferences": "respect_ignore_differences",
    "FailOnSharedResource": "fail_on_shared_resource",
    "SkipDryRunOnMissingResource": "skip_dry_run_on_missing_resource",
    "ClientSideApplyMigration": "client_side_apply_migration",
}
_TRISTATE_OPTIONS = {"Prune": "prune", "Delete": "delete"}
_PROPAGATION = ("foreground", "background", "orphan")
_DEFAULT_TRUE = frozenset({"validate", "client_side_apply_migration"})


@dataclasses.dataclass(frozen=True)
class SyncOptions:
    prune: Tristate | None = None
    delete: Tristate | None = None
    prune_last: bool | None = None
    create_namespace: bool | None = None
    replace: bool | None = None
    force: bool | None = None
    server_side_apply: bool | None = None
    apply_out_of_sync_only: bool | None = None
    validate: bool | None = None
    respect_ignore_differences: bool | None = None
    fail_on_shared_resource: bool | None = None
    skip_dry_run_on_missing_resource: bool | None = None
    client_side_apply_migration: bool | None = None
    prune_propagation_policy: Propagation | None = None

    def enabled(self, field: str) -> bool:
        """The effective value of a boolean option (unset means its documented default)."""
        value = getattr(self, field)
        return field in _DEFAULT_TRUE if value is None else bool(value)

    @property
    def prune_disabled(self) -> bool:
        return self.prune == "false"

    @property
    def prune_needs_confirmation(self) -> bool:
        return self.prune == "confirm"

    @property
    def delete_disabled(self) -> bool:
        return self.delete == "false"

    @property
    def delete_needs_confirmation(self) -> bool:
        return self.delete == "confirm"

    @property
    def propagation_policy(self) -> Propagation:
        return self.prune_propagation_policy or "foreground"

    def overridden_by(self, other: SyncOptions) -> SyncOptions:
        """These options with every option ``other`` sets taking precedence."""
        changes = {
            f.name: getattr(other, f.name)
            for f in dataclasses.fields(other)
            if getattr(other, f.name) is not None
        }
        return dataclasses.replace(self, **changes)


def parse(items: Iterable[str], *, source: str) -> SyncOptions:
    """Parse ``Name=value`` items; ``source`` names where they come from, for errors."""
    values: dict[str, object] = {}
    for raw in items:
        item = raw.strip()
        if not item:
            continue
        name, sep, value = item.partition("=")
        name, value = name.strip(), value.strip()
        if not sep:
            raise errors.SpecError(f"{source}: sync option {item!r} is not of the form Name=value")
        if name in _BOOL_OPTIONS:
            if value.lower() not in ("true", "false"):
                raise errors.SpecError(
                    f"{source}: sync option {name} must be true or false, not {value!r}"
                )
            values[_BOOL_OPTIONS[name]] = value.lower() == "true"
        elif name in _TRISTATE_OPTIONS:
            if value.lower() not in ("true", "false", "confirm"):
                raise errors.SpecError(
                    f"{source}: sync option {name} must be true, false or confirm, not {value!r}"
                )
            values[_TRISTATE_OPTIONS[name]] = value.lower()
        elif name == "PrunePropagationPolicy":
            if value.lower() not in _PROPAGATION:
                raise errors.SpecError(
                    f"{source}: sync option PrunePropagationPolicy must be one of "
                    f"{', '.join(_PROPAGATION)}, not {value!r}"
                )
            values["prune_propagation_policy"] = value.lower()
        else:
            known = sorted([*_BOOL_OPTIONS, *_TRISTATE_OPTIONS, "PrunePropagationPolicy"])
            raise errors.SpecError(
                f"{source}: unknown sync option {name!r} (known: {', '.join(known)})"
            )
    return SyncOptions(**values)  # type: ignore[arg-type]


def parse_annotation(value: str, *, source: str) -> SyncOptions:
    """Parse the comma-separated ``argocd.argoproj.io/sync-options`` annotation value."""
    return parse(value.split(","), source=source)
