"""The ``AppProject`` kind: which repos, destinations and resource kinds its applications may use,
and when they may sync (sync windows)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import pydantic

from tidegate.model import base, durations
from tidegate.model.base import WireModel
from tidegate.model.enums import SyncWindowKind


class ProjectDestination(WireModel):
    server: str | None = None
    name: str | None = None
    namespace: str | None = None


class GroupKind(WireModel):
    group: str = ""
    kind: str


class JWTToken(WireModel):
    iat: int
    exp: int | None = None
    id: str | None = None


class ProjectRole(WireModel):
    name: str
    description: str | None = None
    policies: list[str] | None = None
    groups: list[str] | None = None
    jwt_tokens: list[JWTToken] | None = None


class SyncWindow(WireModel):
    """A cron schedule plus a duration during which syncs are allowed or denied."""

    kind: SyncWindowKind
    schedule: str
    duration: str
    applications: list[str] | None = None
    namespaces: list[str] | None = None
    clusters: list[str] | None = None
    manual_sync: bool | None = None
    time_zone: str | None = None
    description: str | None = None
    and_operator: bool | None = None

    @pydantic.field_validator("duration")
    @classmethod
    def _is_duration(cls, value: str) -> str:
        durations.check(value)
        return value

    @pydantic.field_validator("schedule")
    @classmethod
    def _is_cron(cls, value: str) -> str:
        fields = value.split()
        if not value.startswith("@") and len(fields) != 5:
            raise ValueError(f"{value!r} is not a cron schedule (5 fields, e.g. '0 22 * * *')")
        return value


class OrphanedResourceKey(WireModel):
    group: str | None = None
    kind: str | None = None
    name: str | None = None


class OrphanedResources(WireModel):
    warn: bool | None = None
    ignore: list[OrphanedResourceKey] | None = None


class SignatureKey(WireModel):
    key_id: str = pydantic.Field(alias="keyID")


class DestinationServiceAccount(WireModel):
    server: str
    namespace: str | None = None
    default_service_account: str


class AppProjectSpec(WireModel):
    description: str | None = None
    source_repos: list[str] | None = None
    source_namespaces: list[str] | None = None
    destinations: list[ProjectDestination] | None = None
    destination_service_accounts: list[DestinationServiceAccount] | None = None
    cluster_resource_whitelist: list[GroupKind] | None = None
    cluster_resource_blacklist: list[GroupKind] | None = None
    namespace_resource_whitelist: list[GroupKind] | None = None
    namespace_resource_blacklist: list[GroupKind] | None = None
    roles: list[ProjectRole] | None = None
    sync_windows: list[SyncWindow] | None = None
    orphaned_resources: OrphanedResources | None = None
    signature_keys: list[SignatureKey] | None = None
    permit_only_project_scoped_clusters: bool | None = None

    @pydantic.field_validator("roles")
    @classmethod
    def _unique_roles(cls, roles: list[ProjectRole] | None) -> list[ProjectRole] | None:
        seen: set[str] = set()
        for role in roles or []:
            if role.name in seen:
                raise ValueError(f"role {role.name!r} is defined twice")
            seen.add(role.name)
        return roles


class AppProject(base.Resource):
    kind: Literal["AppProject"] = "AppProject"
    spec: AppProjectSpec = pydantic.Field(default_factory=AppProjectSpec)
    status: dict[str, Any] | None = None

    @property
    def name(self) -> str:
        return self.metadata.name or ""


def parse_project(obj: Mapping[str, Any]) -> AppProject:
    """Validate a raw AppProject; :class:`SpecError` names the object and the field path."""
    return base.parse(AppProject, obj)


def dump_project(project: AppProject) -> dict[str, Any]:
    return base.dump(project)
