"""``spec.source`` / ``spec.sources[]``: where manifests come from and how they are rendered."""

from __future__ import annotations

from typing import Any

import pydantic

from tidegate.model.base import WireModel


class NameValue(WireModel):
    name: str
    value: str | None = None


class JsonnetVar(WireModel):
    name: str
    value: str | None = None
    code: bool | None = None


class Jsonnet(WireModel):
    ext_vars: list[JsonnetVar] | None = None
    tlas: list[JsonnetVar] | None = None
    libs: list[str] | None = None


class Directory(WireModel):
    recurse: bool | None = None
    include: str | None = None
    exclude: str | None = None
    jsonnet: Jsonnet | None = None
    disable_extension_filter: bool | None = None


class KustomizeReplica(WireModel):
    name: str
    count: int | str


class KustomizeSelector(WireModel):
    group: str | None = None
    version: str | None = None
    kind: str | None = None
    name: str | None = None
    namespace: str | None = None
    label_selector: str | None = None
    annotation_selector: str | None = None


class KustomizePatch(WireModel):
    path: str | None = None
    patch: str | None = None
    target: KustomizeSelector | None = None
    options: dict[str, bool] | None = None


class Kustomize(WireModel):
    name_prefix: str | None = None
    name_suffix: str | None = None
    images: list[str] | None = None
    common_labels: dict[str, str] | None = None
    common_annotations: dict[str, str] | None = None
    common_annotations_envsubst: bool | None = None
    force_common_labels: bool | None = None
    force_common_annotations: bool | None = None
    label_without_selector: bool | None = None
    namespace: str | None = None
    version: str | None = None
    components: list[str] | None = None
    patches: list[KustomizePatch] | None = None
    replicas: list[KustomizeReplica] | None = None
    kube_version: str | None = None
    api_versions: list[str] | None = None


class HelmParameter(WireModel):
    name: str
    value: str | None = None
    force_string: bool | None = None


class HelmFileParameter(WireModel):
    name: str
    path: str


class Helm(WireModel):
    value_files: list[str] | None = None
    values: str | None = None
    values_object: dict[str, Any] | None = None
    parameters: list[HelmParameter] | None = None
    file_parameters: list[HelmFileParameter] | None = None
    release_name: str | None = None
    skip_crds: bool | None = None
    skip_schema_validation: bool | None = None
    skip_tests: bool | None = None
    pass_credentials: bool | None = None
    ignore_missing_value_files: bool | None = None
    version: str | None = None
    namespace: str | None = None
    kube_version: str | None = None
    api_versions: list[str] | None = None


class PluginParameter(WireModel):
    """A plugin parameter: any of ``string``, ``array`` and ``map`` (all strings)."""

    name: str
    string: str | None = None
    array: list[str] | None = None
    map: dict[str, str] | None = None


class Plugin(WireModel):
    """``spec.source.plugin``: ``name`` empty = chosen by the plugins' discovery rules."""

    name: str | None = None
    env: list[NameValue] | None = None
    parameters: list[PluginParameter] | None = None


class ApplicationSource(WireModel):
    """One source of manifests: a path in a git repository, or a chart in a Helm repository."""

    repo_url: str = pydantic.Field("", alias="repoURL")
    target_revision: str | None = None
    path: str | None = None
    chart: str | None = None
    ref: str | None = None
    name: str | None = None
    directory: Directory | None = None
    kustomize: Kustomize | None = None
    helm: Helm | None = None
    plugin: Plugin | None = None

    @property
    def revision(self) -> str:
        """The revision to resolve; ``HEAD`` when none is given, as Argo CD does."""
        return self.target_revision or "HEAD"

    def explicit_types(self) -> list[str]:
        """The source types configured explicitly (at most one is allowed)."""
        kinds: dict[str, object] = {"Directory": self.directory, "Kustomize": self.kustomize}
        kinds |= {"Helm": self.helm, "Plugin": self.plugin}
        return [name for name, value in kinds.items() if value is not None]

    def problems(self) -> list[str]:
        """What makes this source unusable, as Argo CD reports it (empty when valid)."""
        found: list[str] = []
        if not self.repo_url:
            found.append("repoURL: is required")
        elif not (self.path or self.chart or self.ref):
            found.append("either path, chart or ref is required")
        types = self.explicit_types()
        if len(types) > 1:
            found.append(f"multiple source types defined: {', '.join(types)}")
        return found
