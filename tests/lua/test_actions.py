"""Resource actions: discovery, running an action, the multi-resource form, refusals."""

from __future__ import annotations

from typing import Any

import pytest

from tidegate.lua import actions
from tidegate.model import overrides

ACTIONS = """
discovery.lua: |
  local found = {}
  found["restart"] = {iconClass = "fa fa-redo", displayName = "Restart"}
  found["pause"] = {disabled = obj.spec.paused == true}
  found["scale"] = {params = {{name = "replicas", default = "1"}}}
  found["fork"] = {}
  return found
definitions:
- name: restart
  action.lua: |
    if obj.spec.template.metadata.annotations == nil then
      obj.spec.template.metadata.annotations = {}
    end
    local stamp = "2026-01-01T00:00:00Z"
    obj.spec.template.metadata.annotations["kubectl.kubernetes.io/restartedAt"] = stamp
    return obj
- name: pause
  action.lua: |
    obj.spec.paused = true
    return obj
- name: scale
  action.lua: |
    obj.spec.replicas = tonumber(actionParams["replicas"])
    return obj
- name: fork
  action.lua: |
    local copy = {apiVersion = "v1", kind = "ConfigMap"}
    copy.metadata = {name = obj.metadata.name .. "-fork", namespace = obj.metadata.namespace}
    copy.data = {source = obj.metadata.name}
    obj.metadata.labels = {forked = "true"}
    return {{operation = "create", resource = copy}, {operation = "patch", resource = obj}}
"""


def deployment(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop", "annotations": {}},
        "spec": {"replicas": 3, "template": {"metadata": {}, "spec": {}}, **spec},
    }


def registry(text: str = ACTIONS) -> actions.ResourceActions:
    found, problems = overrides.parse({"resource.customizations.actions.apps_Deployment": text})
    assert problems == []
    result = actions.ResourceActions.from_overrides(found)
    return result


def test_discovery_lists_actions_with_their_attributes() -> None:
    listed = registry().list(deployment(paused=True))
    assert [a.to_dict() for a in listed] == [
        {"name": "fork", "disabled": False},
        {"name": "pause", "disabled": True},
        {"name": "restart", "disabled": False, "iconClass": "fa fa-redo", "displayName": "Restart"},
        {"name": "scale", "disabled": False, "params": [{"name": "replicas", "default": "1"}]},
    ]
    assert registry().list({"apiVersion": "v1", "kind": "ConfigMap"}) == []


def test_run_patches_the_object_and_keeps_empty_maps() -> None:
    [result] = registry().run(deployment(), "restart")
    assert result.operation == "patch"
    annotations = result.resource["spec"]["template"]["metadata"]["annotations"]
    assert annotations == {"kubectl.kubernetes.io/restartedAt": "2026-01-01T00:00:00Z"}
    # metadata.annotations was {} and the script did not touch it: still a map, not [].
    assert result.resource["metadata"]["annotations"] == {}
    assert result.resource["spec"]["template"]["spec"] == {}


def test_parameters_reach_the_script() -> None:
    [result] = registry().run(deployment(), "scale", {"replicas": "5"})
    assert result.resource["spec"]["replicas"] == 5


def test_multi_resource_form() -> None:
    created, patched = registry().run(deployment(), "fork")
    assert (created.operation, patched.operation) == ("create", "patch")
    assert created.resource["metadata"] == {"name": "web-fork", "namespace": "shop"}
    assert patched.resource["metadata"]["labels"] == {"forked": "true"}


@pytest.mark.parametrize(
    ("obj", "name", "message"),
    [
        (deployment(paused=True), "pause", "Deployment shop/web: action 'pause' is disabled"),
        (deployment(), "explode", "action 'explode' is not available"),
        ({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}}, "restart",
         "no actions are configured for Pod"),
    ],
)  # fmt: skip
def test_refusals(obj: dict[str, Any], name: str, message: str) -> None:
    with pytest.raises(actions.ActionError, match=message):
        registry().run(obj, name)


SCRIPT = "Lua script resource.customizations.actions.apps_Deployment go: "


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("return 1", "action 'go' on Deployment shop/web: Lua output was not a valid object"),
        ("return {{operation = 'delete', resource = obj}}", "on Deployment shop/web: entry 1 must"),
        ("while true do end", SCRIPT + "instruction limit exceeded"),
        ("os.execute('id')", SCRIPT + "line 1: attempt to call field 'execute'"),
    ],
)
def test_bad_action_scripts(body: str, message: str) -> None:
    text = (
        "discovery.lua: return {go = {}}\n"
        "definitions:\n- name: go\n  action.lua: |\n    " + body + "\n"
    )
    with pytest.raises(actions.ActionError) as caught:
        registry(text).run(deployment(), "go")
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("definitions: []\n", "discovery.lua is missing"),
        ("discovery.lua: return {}\ndefinitions: {a: b}\n", "definitions must be a list"),
        ("discovery.lua: return {}\ndefinitions:\n- name: x\n", "needs a name and action.lua"),
        ("discovery.lua: 'return {'\n", "discovery.lua: line 1: unexpected symbol near <eof>"),
    ],
)
def test_bad_configuration_is_a_problem(text: str, problem: str) -> None:
    found, _ = overrides.parse({"resource.customizations.actions.apps_Deployment": text})
    result = actions.ResourceActions.from_overrides(found)
    assert len(result.problems) == 1 and problem in result.problems[0]
    assert result.problems[0].startswith(
        "argocd-cm resource.customizations.actions.apps_Deployment"
    )
