"""Pin the public names of tidegate.render."""

from __future__ import annotations

import tidegate.render


def test_public_api() -> None:
    assert sorted(tidegate.render.__all__) == [
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
    for name in tidegate.render.__all__:
        assert getattr(tidegate.render, name) is not None
