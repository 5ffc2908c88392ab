"""Table-driven: ApplicationSet manifest + clusters + git tree -> Applications (or an error)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tidegate.appset import applications
from tidegate.model import errors

from . import support

CASES = support.case_files("generate")


@pytest.mark.parametrize("case", [c for _, c in CASES], ids=[i for i, _ in CASES])
def test_generate(case: dict[str, Any]) -> None:
    git_spec = case.get("git") or {}
    git = (
        None
        if case.get("no_git")
        else support.MemoryGit(git_spec.get("files") or {}, git_spec.get("dirs"))
    )
    run = lambda: applications.generate_applications(  # noqa: E731
        case["appset"], clusters=case.get("clusters") or [], git=git
    )
    if "error" in case:
        with pytest.raises(errors.ApplicationSetError) as info:
            run()
        assert case["error"] in str(info.value)
        assert f"ApplicationSet {case['appset']['metadata']['name']!r}" in str(info.value)
        return
    apps = run()
    expect = case["expect"]
    by_name = {a["metadata"]["name"]: a for a in apps}
    assert [a["metadata"]["name"] for a in apps] == expect["names"]
    for name, partial in (expect.get("apps") or {}).items():
        support.assert_subset(partial, by_name[name], name)
    for name, path in (expect.get("absent_paths") or {}).items():
        node: Any = by_name[name]
        for part in path[:-1]:
            node = node[part]
        assert path[-1] not in node, f"{name}: {'.'.join(path)} should be absent"
    dumped = json.dumps(apps)
    for text in expect.get("absent") or []:
        assert text not in dumped
    if expect.get("no_finalizers"):
        assert all("finalizers" not in a["metadata"] for a in apps)
    if expect.get("no_automated"):
        assert all("automated" not in (a["spec"].get("syncPolicy") or {}) for a in apps)
    if "git_calls" in expect:
        assert git is not None
        assert [list(c) for c in git.calls] == expect["git_calls"]


def test_owned_applications_from_plain_parameter_sets() -> None:
    appset = {
        "metadata": {"name": "set", "namespace": "ns", "uid": "u"},
        "spec": {"template": {"metadata": {"name": "{{n}}-app"}, "spec": {"project": "p"}}},
    }
    apps = applications.owned_applications(appset, [{"n": "a"}, {"n": "b"}])
    assert [a["metadata"]["name"] for a in apps] == ["a-app", "b-app"]
    assert all(a["metadata"]["namespace"] == "ns" for a in apps)
    assert apps[0]["metadata"]["ownerReferences"][0]["uid"] == "u"
    assert apps[0]["metadata"]["finalizers"] == ["resources-finalizer.argocd.argoproj.io"]
    # The set's template is not modified by rendering.
    assert appset["spec"]["template"]["metadata"]["name"] == "{{n}}-app"
