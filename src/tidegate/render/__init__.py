"""render: turn a source path in a checked-out tree into Kubernetes objects.

Directory, Kustomize, Helm and config management plugin sources (all but the first through
child processes with deadlines: the real binaries, or the plugin's commands), path safety, a
render cache (in memory, and on disk across restarts: render/persist.py) and Argo CD resource
tracking. I/O:
file reads and renderer subprocesses; the parsing, glob, edit and tracking modules are pure.

Public API (pinned by tests/render/test_public_api.py)::

    result = await render.render(RenderRequest(...), cache=RenderCache(), limits=RenderLimits())
"""

from tidegate.render.cache import RenderCache
from tidegate.render.generate import detect_source_type, plugin_parameters, render
from tidegate.render.persist import RenderStore
from tidegate.render.plugin_config import PluginDefinition, PluginRegistry
from tidegate.render.remotes import RemoteRepos
from tidegate.render.request import (
    DirectoryOptions,
    HelmOptions,
    HelmParameter,
    JsonnetOptions,
    JsonnetVar,
    KustomizeOptions,
    KustomizeReplica,
    PluginOptions,
    PluginParameter,
    RenderLimits,
    RenderRequest,
    RenderResult,
    SourceType,
    TrackingMethod,
)
from tidegate.render.tools import Tools, discover
from tidegate.render.tracking import tracking_id

__all__ = [
    "DirectoryOptions",
    "HelmOptions",
    "HelmParameter",
    "JsonnetOptions",
    "JsonnetVar",
    "KustomizeOptions",
    "KustomizeReplica",
    "PluginDefinition",
    "PluginOptions",
    "PluginParameter",
    "PluginRegistry",
    "RemoteRepos",
    "RenderCache",
    "RenderLimits",
    "RenderRequest",
    "RenderResult",
    "RenderStore",
    "SourceType",
    "Tools",
    "TrackingMethod",
    "detect_source_type",
    "discover",
    "plugin_parameters",
    "render",
    "tracking_id",
]
