"""The ``Application`` kind: what to deploy (source), where (destination), and how (syncPolicy).

``parse_application`` validates a raw object as Argo CD does and raises
:class:`~tidegate.model.errors.SpecError` naming the object and the field path.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import pydantic

from tidegate.model import base
from tidegate.model.app_status import ApplicationStatus
from tidegate.model.base import WireModel
from tidegate.model.operation import Operation, RetryStrategy
from tidegate.model.source import ApplicationSource, NameValue


class Destination(WireModel):
    """The target cluster (by API server URL or by cluster name) and default namespace."""

    server: str | None = None
    name: str | None = None
    namespace: str | None = None

    def problem(self) -> str | None:
        if self.server and self.name:
            return "server and name are mutually exclusive, set only one"
        if not self.server and not self.name:
            return "either server or name is required"
        return None


class Automated(WireModel):
    prune: bool | None = None
    self_heal: bool | None = None
    allow_empty: bool | None = None
    enabled: bool | None = None


class ManagedNamespaceMetadata(WireModel):
    labels: dict[str, str] | None = None
    annotations: dict[str, str] | None = None


class SyncPolicy(WireModel):
    automated: Automated | None = None
    sync_options: list[str] | None = None
    retry: RetryStrategy | None = None
    managed_namespace_metadata: ManagedNamespaceMetadata | None = None


class ResourceIgnoreDifferences(WireModel):
    group: str | None = None
    kind: str
    name: str | None = None
    namespace: str | None = None
    json_pointers: list[str] | None = None
    jq_path_expressions: list[str] | None = None
    managed_fields_managers: list[str] | None = None


class ApplicationSpec(WireModel):
    """An Application's spec. Required fields and cross-field rules are checked by
    :class:`Application`, so the same model also serves as an ApplicationSet template, which may
    be partial (a generator's template override, a templatePatch) and hold placeholders."""

    project: str = ""
    destination: Destination = pydantic.Field(default_factory=Destination)
    source: ApplicationSource | None = None
    sources: list[ApplicationSource] | None = None
    source_hydrator: dict[str, Any] | None = None
    sync_policy: SyncPolicy | None = None
    ignore_differences: list[ResourceIgnoreDifferences] | None = None
    revision_history_limit: int | None = None
    info: list[NameValue] | None = None

    @property
    def project_name(self) -> str:
        """The project, ``default`` when empty (as Argo CD resolves it)."""
        return self.project or "default"

    @property
    def has_multiple_sources(self) -> bool:
        """Argo CD's rule: a non-empty ``sources`` wins over ``source``."""
        return bool(self.sources)

    def all_sources(self) -> list[ApplicationSource]:
        """The sources in effect, whichever of ``source``/``sources`` is used."""
        if self.sources:
            return list(self.sources)
        return [self.source] if self.source is not None else []

    def problems(self) -> list[str]:
        """Every cross-field rule this spec breaks, as ``field.path: message`` strings."""
        found: list[str] = []
        if "project" not in self.model_fields_set:
            found.append("spec.project: is required")
        if (dest := self.destination.problem()) is not None:
            found.append(f"spec.destination: {dest}")
        if self.sources:
            refs: set[str] = set()
            for i, src in enumerate(self.sources):
                found += [f"spec.sources[{i}]: {p}" for p in src.problems()]
                if src.ref and src.ref in refs:
                    found.append(f"spec.sources[{i}].ref: duplicate ref {src.ref!r}")
                refs.add(src.ref or "")
        elif self.source is not None:
            found += [f"spec.source: {p}" for p in self.source.problems()]
        elif self.source_hydrator is None:
            found.append("spec: either source or sources is required")
        return found


class Application(base.Resource):
    kind: Literal["Application"] = "Application"
    spec: ApplicationSpec
    operation: Operation | None = None
    status: ApplicationStatus | None = None

    @pydantic.model_validator(mode="after")
    def _cross_field_rules(self) -> Application:
        if problems := self.spec.problems():
            raise ValueError("; ".join(problems))
        return self

    @property
    def name(self) -> str:
        return self.metadata.name or ""

    @property
    def namespace(self) -> str:
        return self.metadata.namespace or ""

    def instance_name(self, control_namespace: str) -> str:
        """The app's name in tracking ids and in the controller: ``<name>`` in the control
        namespace, ``<namespace>_<name>`` elsewhere (Argo CD's "Applications in any
        namespace"; ``_`` never occurs in a Kubernetes name, so the two forms never clash)."""
        return instance_name(self.namespace, self.name, control_namespace)


def instance_name(namespace: str, name: str, control_namespace: str) -> str:
    """See :meth:`Application.instance_name`."""
    if not namespace or namespace == control_namespace:
        return name
    return f"{namespace}_{name}"


def split_instance_name(key: str, control_namespace: str) -> tuple[str, str]:
    """The (namespace, name) of an app's :func:`instance_name`."""
    namespace, sep, name = key.partition("_")
    return (namespace, name) if sep else (control_namespace, key)


def parse_application(obj: Mapping[str, Any]) -> Application:
    """Validate a raw Application; :class:`SpecError` names the object and the field path."""
    return base.parse(Application, obj)


def dump_application(app: Application) -> dict[str, Any]:
    """The wire form of an Application (exactly the input for an unmodified parse)."""
    return base.dump(app)
