"""orphans.monitoring: whether a live event of an untracked object can concern any app."""

from __future__ import annotations

from tidegate.controller import orphans
from tidegate.model import project as model_project


def project(name: str, orphaned: dict[str, object] | None) -> model_project.AppProject:
    spec: dict[str, object] = {"sourceRepos": ["*"]}
    if orphaned is not None:
        spec["orphanedResources"] = orphaned
    return model_project.AppProject.model_validate({"metadata": {"name": name}, "spec": spec})


def test_no_project_monitoring_orphans_means_no_app_needs_a_walk() -> None:
    assert orphans.monitoring({}) is False
    assert orphans.monitoring({"default": project("default", None)}) is False


def test_one_project_monitoring_orphans_is_enough() -> None:
    projects = {"default": project("default", None), "team": project("team", {"warn": True})}
    assert orphans.monitoring(projects) is True
    assert orphans.watching(
        {"a": {"spec": {"project": "team", "destination": {"namespace": "ns"}}}}.items(),
        projects,
        "ns",
    ) == ["a"]
