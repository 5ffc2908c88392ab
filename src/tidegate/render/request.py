"""Plain data in, plain data out: what to render, the limits it runs under, and what came out.

Every type here is a frozen dataclass of immutable fields, so a request can be logged, compared
and turned into a cache key without surprises. Nothing in this module does I/O.
"""

from __future__ import annotations

import dataclasses
import enum
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tidegate.model import constants
from tidegate.render.plugin_config import PluginDefinition


class SourceType(enum.StrEnum):
    """The renderer chosen for a source path (Argo CD's ``status.sourceType`` values)."""

    DIRECTORY = "Directory"
    KUSTOMIZE = "Kustomize"
    HELM = "Helm"
    PLUGIN = "Plugin"


class TrackingMethod(enum.StrEnum):
    """How rendered objects are marked as belonging to an Application (argocd-cm setting)."""

    LABEL = constants.TRACKING_LABEL
    ANNOTATION = constants.TRACKING_ANNOTATION
    ANNOTATION_AND_LABEL = constants.TRACKING_ANNOTATION_AND_LABEL


@dataclasses.dataclass(frozen=True)
class JsonnetVar:
    """A top-level argument or external variable; ``code`` passes Jsonnet code, not a string."""

    name: str
    value: str
    code: bool = False


@dataclasses.dataclass(frozen=True)
class JsonnetOptions:
    """``spec.source.directory.jsonnet``; ``libs`` are paths relative to the repository root."""

    tlas: tuple[JsonnetVar, ...] = ()
    ext_vars: tuple[JsonnetVar, ...] = ()
    libs: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class DirectoryOptions:
    """``spec.source.directory``: ``include``/``exclude`` are globs over paths relative to the
    source path; ``{a,b}`` alternatives allowed; ``*`` also matches ``/`` as in Argo CD."""

    recurse: bool = False
    include: str = ""
    exclude: str = ""
    jsonnet: JsonnetOptions = JsonnetOptions()
    # argocd's disableExtensionFilter: files of any extension are candidates (include/exclude
    # decide); those without a manifest extension are read as YAML and skipped when they hold
    # no Kubernetes object.
    disable_extension_filter: bool = False


@dataclasses.dataclass(frozen=True)
class KustomizeReplica:
    name: str
    count: int


@dataclasses.dataclass(frozen=True)
class KustomizeOptions:
    """``spec.source.kustomize``. ``images`` use kustomize's ``[name=]newName[:tag][@digest]``.

    ``patches`` and ``components`` are kustomization entries (patches as JSON strings, so the
    options stay hashable: build them with :meth:`with_patches`)."""

    images: tuple[str, ...] = ()
    name_prefix: str = ""
    name_suffix: str = ""
    common_labels: tuple[tuple[str, str], ...] = ()
    common_annotations: tuple[tuple[str, str], ...] = ()
    namespace: str = ""
    replicas: tuple[KustomizeReplica, ...] = ()
    patches_json: tuple[str, ...] = ()
    components: tuple[str, ...] = ()

    @staticmethod
    def with_patches(patches: list[Mapping[str, Any]], **kwargs: Any) -> KustomizeOptions:
        encoded = tuple(json.dumps(p, sort_keys=True) for p in patches)
        return KustomizeOptions(patches_json=encoded, **kwargs)

    @property
    def patches(self) -> list[dict[str, Any]]:
        return [json.loads(p) for p in self.patches_json]

    def is_empty(self) -> bool:
        return self == KustomizeOptions()


@dataclasses.dataclass(frozen=True)
class HelmParameter:
    """One ``--set`` (or ``--set-string`` when ``force_string``)."""

    name: str
    value: str
    force_string: bool = False


@dataclasses.dataclass(frozen=True)
class HelmOptions:
    """``spec.source.helm``. ``values_object_json`` holds ``valuesObject`` as canonical JSON
    (build with :meth:`with_values_object`); it wins over ``values`` as in Argo CD."""

    release_name: str = ""
    value_files: tuple[str, ...] = ()
    values: str = ""
    values_object_json: str = ""
    parameters: tuple[HelmParameter, ...] = ()
    skip_crds: bool = False
    ignore_missing_value_files: bool = False
    # ``fileParameters``: (name, path) pairs, ``--set-file name=path`` (path as value files).
    file_parameters: tuple[tuple[str, str], ...] = ()
    skip_schema_validation: bool = False
    skip_tests: bool = False  # ``helm.skipTests``: leave out the chart's test hooks
    namespace: str = ""  # ``helm.namespace``: overrides the destination namespace for helm

    @staticmethod
    def with_values_object(values_object: Mapping[str, Any], **kwargs: Any) -> HelmOptions:
        return HelmOptions(values_object_json=json.dumps(values_object, sort_keys=True), **kwargs)


@dataclasses.dataclass(frozen=True)
class PluginParameter:
    """One ``spec.source.plugin.parameters`` entry: any of ``string``, ``array``, ``map``
    (``None`` = not given; an empty array or map is given, as in Argo CD)."""

    name: str
    string: str | None = None
    array: tuple[str, ...] | None = None
    map: tuple[tuple[str, str], ...] | None = None


@dataclasses.dataclass(frozen=True)
class PluginOptions:
    """``spec.source.plugin``: ``name`` empty = chosen by the plugins' discovery rules."""

    name: str = ""
    env: tuple[tuple[str, str], ...] = ()
    parameters: tuple[PluginParameter, ...] = ()


def _plain(value: Any) -> Any:
    """JSON for what ``json`` cannot encode itself: nested options (dataclasses), paths."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    return str(value)


@dataclasses.dataclass(frozen=True)
class RenderRequest:
    """One render: ``root`` is the checked-out tree (read-only, shared), ``path`` the source path
    inside it. ``commit`` keys the cache; ``""`` disables caching for this request."""

    root: Path
    path: str
    commit: str
    app_name: str
    namespace: str
    source_type: SourceType | None = None
    directory: DirectoryOptions = DirectoryOptions()
    kustomize: KustomizeOptions = KustomizeOptions()
    helm: HelmOptions = HelmOptions()
    kube_version: str | None = None
    api_versions: tuple[str, ...] = ()
    tracking: TrackingMethod = TrackingMethod.ANNOTATION
    installation_id: str = ""
    # Multi-source apps: (ref name, checked-out tree) of the sources with a ``ref``, for Helm
    # value files written ``$<ref>/path``. The trees are keyed by commit, so is the cache key.
    ref_roots: tuple[tuple[str, Path], ...] = ()
    # The app's project ``sourceRepos`` (globs, ``!`` denies): the only repositories a remote
    # reference (kustomize base, Helm value file, chart dependency) may name. Empty: none.
    source_repos: tuple[str, ...] = ()
    # Config management plugins (render/plugin.py): ``plugin`` is the app's explicit plugin
    # source; ``plugins`` the registered definitions that may be chosen (by name or discovery),
    # whole in the cache key, so an edited plugin file renders again. The last three fields feed
    # the plugin's build environment (ARGOCD_APP_PROJECT_NAME, ..._SOURCE_REPO_URL, ...).
    plugin: PluginOptions | None = None
    plugins: tuple[PluginDefinition, ...] = ()
    project: str = ""
    repo_url: str = ""
    target_revision: str = ""

    def cache_key(self) -> str:
        """Everything that changes the output, except where the tree happens to be on disk.
        (Fields one by one, not ``dataclasses.asdict(self)``: that deep-copies the root path
        only to drop it, ~1 ms a request, a second per 1,000 apps on a cold start.)"""
        fields = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        del fields["root"]
        return json.dumps(fields, sort_keys=True, default=_plain)


@dataclasses.dataclass(frozen=True)
class RenderLimits:
    """Bounds on one render. Defaults follow Argo CD's repo-server (90 s exec timeout)."""

    max_file_bytes: int = 8 * 1024 * 1024
    max_total_bytes: int = 64 * 1024 * 1024
    max_alias_expansion: int = 100_000
    timeout_seconds: float = 90.0
    max_stderr_bytes: int = 64 * 1024
    max_remote_repos: int = 16  # distinct (repository, ref) pairs one render may fetch


@dataclasses.dataclass(frozen=True)
class RenderResult:
    """Rendered objects, tracking applied. ``objects`` may be shared with the render cache:
    treat them as read-only, or take :meth:`copy_objects` before changing anything."""

    objects: tuple[dict[str, Any], ...]
    source_type: SourceType
    size_bytes: int
    # (repository URL, ref, commit) of every remote repository the render read: a cached
    # result is used only while each ref still resolves to the same commit.
    remote_pins: tuple[tuple[str, str, str], ...] = ()

    def copy_objects(self) -> list[dict[str, Any]]:
        """Deep copies the caller may mutate (JSON round trip: objects are JSON-shaped)."""
        return [json.loads(json.dumps(o)) for o in self.objects]
