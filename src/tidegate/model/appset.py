"""The ``ApplicationSet`` kind: generators produce parameter sets, each rendered through the
template into an Application. Template values may be placeholders (``{{name}}``), so the
template's spec is not checked with the Application's cross-field rules."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import pydantic

from tidegate.model import base
from tidegate.model.application import ApplicationSpec
from tidegate.model.base import LabelSelector, LabelSelectorRequirement, WireModel
from tidegate.model.enums import ApplicationsSyncPolicy


class TemplateMeta(WireModel):
    name: str | None = None
    namespace: str | None = None
    labels: dict[str, str] | None = None
    annotations: dict[str, str] | None = None
    finalizers: list[str] | None = None


class ApplicationSetTemplate(WireModel):
    metadata: TemplateMeta = pydantic.Field(default_factory=TemplateMeta)
    spec: ApplicationSpec | None = None


class ListGenerator(WireModel):
    elements: list[dict[str, Any]] | None = None
    elements_yaml: str | None = None
    template: ApplicationSetTemplate | None = None


class ClusterGenerator(WireModel):
    selector: LabelSelector | None = None
    values: dict[str, str] | None = None
    template: ApplicationSetTemplate | None = None
    flat_list: bool | None = None


class GitPathItem(WireModel):
    path: str
    exclude: bool | None = None


class GitGenerator(WireModel):
    repo_url: str = pydantic.Field(alias="repoURL")
    revision: str | None = None
    directories: list[GitPathItem] | None = None
    files: list[GitPathItem] | None = None
    values: dict[str, str] | None = None
    template: ApplicationSetTemplate | None = None
    requeue_after_seconds: int | None = None
    path_param_prefix: str | None = None


class MatrixGenerator(WireModel):
    generators: list[Generator]
    template: ApplicationSetTemplate | None = None


class MergeGenerator(WireModel):
    generators: list[Generator]
    merge_keys: list[str]
    template: ApplicationSetTemplate | None = None


class Generator(WireModel):
    """One generator entry. Like Argo CD's CRD, the model accepts any shape here (exactly one
    kind, matrix arity, nesting depth are checked when generating, so the error can be reported
    in the ApplicationSet's status). Kinds Tidegate does not implement (scmProvider,
    pullRequest, plugin...) are kept as extra fields so the object round-trips."""

    list_: ListGenerator | None = pydantic.Field(None, alias="list")
    clusters: ClusterGenerator | None = None
    git: GitGenerator | None = None
    matrix: MatrixGenerator | None = None
    merge: MergeGenerator | None = None
    selector: LabelSelector | None = None

    def kinds(self) -> list[str]:
        """The generator kinds set on this entry, known or not (``selector`` excluded)."""
        known: dict[str, object] = {"list": self.list_, "clusters": self.clusters, "git": self.git}
        known |= {"matrix": self.matrix, "merge": self.merge}
        return [k for k, v in known.items() if v is not None] + list(self.model_extra or {})


class RollingSyncStep(WireModel):
    match_expressions: list[LabelSelectorRequirement] | None = None
    max_update: int | str | None = None


class RollingSync(WireModel):
    steps: list[RollingSyncStep] | None = None


class ApplicationSetStrategy(WireModel):
    type: Literal["AllAtOnce", "RollingSync"] | None = None
    rolling_sync: RollingSync | None = None


class ApplicationSetSyncPolicy(WireModel):
    applications_sync: ApplicationsSyncPolicy | None = None
    preserve_resources_on_deletion: bool | None = None


class PreservedFields(WireModel):
    annotations: list[str] | None = None
    labels: list[str] | None = None


class ApplicationSetSpec(WireModel):
    generators: list[Generator]
    template: ApplicationSetTemplate
    go_template: bool | None = None
    go_template_options: list[str] | None = None
    template_patch: str | None = None
    sync_policy: ApplicationSetSyncPolicy | None = None
    strategy: ApplicationSetStrategy | None = None
    preserved_fields: PreservedFields | None = None
    ignore_application_differences: list[dict[str, Any]] | None = None


class ApplicationSetCondition(WireModel):
    type: str
    status: str | None = None
    message: str | None = None
    reason: str | None = None
    last_transition_time: str | None = None


class ApplicationSetApplicationStatus(WireModel):
    application: str
    status: str | None = None
    message: str | None = None
    step: str | None = None
    last_transition_time: str | None = None
    target_revisions: list[str] | None = None


class ApplicationSetStatus(WireModel):
    conditions: list[ApplicationSetCondition] | None = None
    application_status: list[ApplicationSetApplicationStatus] | None = None
    resources: list[dict[str, Any]] | None = None
    resources_count: int | None = None


class ApplicationSet(base.Resource):
    kind: Literal["ApplicationSet"] = "ApplicationSet"
    spec: ApplicationSetSpec
    status: ApplicationSetStatus | None = None

    @pydantic.model_validator(mode="after")
    def _strategy(self) -> ApplicationSet:
        strategy = self.spec.strategy
        if strategy and strategy.type == "RollingSync" and not strategy.rolling_sync:
            raise ValueError("spec.strategy.rollingSync: required when type is RollingSync")
        return self

    @property
    def name(self) -> str:
        return self.metadata.name or ""


def parse_applicationset(obj: Mapping[str, Any]) -> ApplicationSet:
    """Validate a raw ApplicationSet; :class:`SpecError` names the object and the field path."""
    return base.parse(ApplicationSet, obj)


def dump_applicationset(appset: ApplicationSet) -> dict[str, Any]:
    return base.dump(appset)
