"""argocd's --kustomize-*, --directory-include/-exclude and --sync-retry-* flags -> spec."""

from __future__ import annotations

from typing import Any

import pytest

from tidegate.cli import appspec
from tidegate.cli.appspec_extra import RetryFlags, SourceExtras
from tidegate.model.application import parse_application

SRC = {"repoURL": "https://g/r.git", "path": "k"}


def _apply(spec: dict[str, Any], **kw: Any) -> dict[str, Any]:
    out = appspec.apply_flags(spec, appspec.SpecFlags(**kw))
    parse_application(
        {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
         "metadata": {"name": "a", "namespace": "argocd"},
         "spec": {"project": "default", **out,
                  "destination": {"server": "https://kubernetes.default.svc"}}}
    )  # fmt: skip
    return out


def test_kustomize_flags_fill_and_merge() -> None:
    spec = {"source": {**SRC, "kustomize": {"commonLabels": {"a": "1", "b": "2"},
                                            "replicas": [{"name": "web", "count": 1},
                                                         {"name": "db", "count": 1}]}}}  # fmt: skip
    extras = SourceExtras(
        common_labels=("b=3", "c=4"),
        common_annotations=("team=x",),
        force_common_labels=True,
        label_without_selector=True,
        label_include_templates=False,
        kustomize_namespace="prod",
        replicas=("web=3",),
        kube_version="1.30",
        api_versions=("a/v1", "b/v2"),
        ignore_missing_components=True,
    )
    out = _apply(spec, extras=extras)
    assert out["source"]["kustomize"] == {
        "commonLabels": {"a": "1", "b": "3", "c": "4"},
        "commonAnnotations": {"team": "x"},
        "forceCommonLabels": True,
        "labelWithoutSelector": True,
        "labelIncludeTemplates": False,
        "namespace": "prod",
        "replicas": [{"name": "db", "count": 1}, {"name": "web", "count": 3}],
        "kubeVersion": "1.30",
        "apiVersions": ["a/v1", "b/v2"],
        "ignoreMissingComponents": True,
    }


def test_directory_include_exclude_on_the_chosen_source() -> None:
    spec = {"sources": [dict(SRC), {**SRC, "path": "d"}]}
    extras = SourceExtras(directory_include="*.yaml", directory_exclude="{a,b}.yaml")
    out = _apply(spec, extras=extras, source_position=2)
    assert out["sources"][0] == SRC
    assert out["sources"][1]["directory"] == {"include": "*.yaml", "exclude": "{a,b}.yaml"}


def test_directory_disable_extension_filter_sets_and_clears_the_field() -> None:
    on = _apply({"source": dict(SRC)}, extras=SourceExtras(directory_disable_extension_filter=True))
    assert on["source"]["directory"] == {"disableExtensionFilter": True}
    off = _apply(on, extras=SourceExtras(directory_disable_extension_filter=False))
    assert off["source"]["directory"] == {}  # false is argocd's default: omitted


@pytest.mark.parametrize("bad", ["web", "web=", "=3", "web=three"])
def test_bad_replica_is_refused(bad: str) -> None:
    with pytest.raises(appspec.FlagError, match="--kustomize-replica"):
        _apply({"source": dict(SRC)}, extras=SourceExtras(replicas=(bad,)))


@pytest.mark.parametrize(
    ("spec", "flags", "want"),
    [
        # argocd's defaults fill the backoff
        ({}, RetryFlags(limit=5),
         {"retry": {"limit": 5,
                    "backoff": {"duration": "5s", "maxDuration": "3m0s", "factor": 2}}}),
        ({}, RetryFlags(limit=2, backoff_duration="10s", backoff_max_duration="1m",
                        backoff_factor=3, refresh=True),
         {"retry": {"limit": 2, "backoff": {"duration": "10s", "maxDuration": "1m", "factor": 3},
                    "refresh": True}}),
        ({}, RetryFlags(limit=-1), {"retry": {"limit": -1}}),
        # 0 removes the retry, and an empty syncPolicy with it
        ({"syncPolicy": {"retry": {"limit": 3}}}, RetryFlags(limit=0), None),
        ({"syncPolicy": {"retry": {"limit": 3}, "syncOptions": ["A=b"]}}, RetryFlags(limit=0),
         {"syncOptions": ["A=b"]}),
        # backoff flags change an existing retry
        ({"syncPolicy": {"retry": {"limit": 3, "backoff": {"duration": "5s"}}}},
         RetryFlags(backoff_factor=4),
         {"retry": {"limit": 3, "backoff": {"duration": "5s", "factor": 4}}}),
    ],
)  # fmt: skip
def test_sync_retry(spec: dict[str, Any], flags: RetryFlags, want: Any) -> None:
    out = _apply({"source": dict(SRC), **spec}, retry=flags)
    assert out.get("syncPolicy") == want


def test_backoff_without_a_retry_is_refused_not_ignored() -> None:
    with pytest.raises(appspec.FlagError, match="--sync-retry-limit: required"):
        _apply({"source": dict(SRC)}, retry=RetryFlags(backoff_duration="10s"))
