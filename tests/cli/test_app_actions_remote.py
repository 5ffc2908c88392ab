"""``app actions run`` over the server: which resources are chosen, the calls it builds, the
result lines it reads and the errors it words (pure)."""

from __future__ import annotations

import pytest

from tidegate.cli import app_actions_remote as remote
from tidegate.lua import actions as lua_actions
from tidegate.model import errors

WEB = {"group": "apps", "version": "v1", "kind": "Deployment", "namespace": "shop", "name": "web"}
API = {**WEB, "name": "api"}


def test_one_match_is_chosen() -> None:
    remote.check_selection(["shop/web"], kind="Deployment", app="store", all_=False)


def test_no_match_names_the_kind_and_the_app() -> None:
    with pytest.raises(errors.ConfigError, match=r"^no Deployment of application store matches$"):
        remote.check_selection([], kind="Deployment", app="store", all_=True)


def test_several_need_all() -> None:
    with pytest.raises(errors.ConfigError) as raised:
        remote.check_selection(["shop/web", "shop/api"], kind="Deployment", app="a", all_=False)
    assert str(raised.value) == (
        "2 resources match (shop/web, shop/api): narrow with --resource-name or use --all"
    )
    remote.check_selection(["shop/web", "shop/api"], kind="Deployment", app="a", all_=True)


def test_cluster_scoped_resource_is_named_without_namespace() -> None:
    assert remote.where({"kind": "Namespace", "name": "shop"}) == "shop"
    assert remote.describe(WEB) == "Deployment shop/web"


def test_without_parameters_the_deprecated_call_names_the_resource_in_the_query() -> None:
    path, query, body = remote.request("store", WEB, "restart", {}, {"appNamespace": "team"})
    assert path == "/api/v1/applications/store/resource/actions"
    assert query == {"namespace": "shop", "resourceName": "web", "kind": "Deployment",
                     "group": "apps", "version": "v1", "appNamespace": "team"}  # fmt: skip
    assert body == "restart"


def test_parameters_go_in_the_v2_body() -> None:
    path, query, body = remote.request("store", WEB, "scale", {"replicas": "3"}, {})
    assert (path, query) == ("/api/v1/applications/store/resource/actions/v2", {})
    assert body == {"name": "store", "namespace": "shop", "resourceName": "web",
                    "kind": "Deployment", "group": "apps", "version": "v1", "action": "scale",
                    "resourceActionParameters": [{"name": "replicas", "value": "3"}]}  # fmt: skip


def test_result_lines_from_the_header() -> None:
    header = {"Tidegate-Action-Result": "Deployment/web patched, Job/web-x1 created"}
    assert remote.changes(header) == ["Deployment/web patched", "Job/web-x1 created"]
    assert remote.changes({}) == []  # an Argo CD server says nothing


def test_a_refusal_names_app_resource_and_action_once() -> None:
    message = "application store: Deployment shop/web: action 'x' is not available"
    assert remote.failure("store", "x", WEB, message, changed=[], unchanged=[]) == (
        "application store: action 'x' on apps/Deployment shop/web: "
        "Deployment shop/web: action 'x' is not available"
    )


def test_a_failure_after_others_says_what_changed() -> None:
    text = remote.failure("team/store", "restart", API, "permission denied",
                          changed=["shop/web"], unchanged=["shop/api", "shop/db"])  # fmt: skip
    assert text == (
        "application team/store: action 'restart' on apps/Deployment shop/api: permission "
        "denied (changed: shop/web; not changed: shop/api, shop/db)"
    )
    first = remote.failure("s", "restart", WEB, "denied", changed=[], unchanged=["shop/web"])
    assert first.endswith("(changed: none; not changed: shop/web)")


@pytest.mark.parametrize(
    ("offered", "refusal"),
    [
        ({"restart": False}, None),
        ({"pause": False}, "Deployment shop/web: action 'restart' is not available"),
        ({"restart": True}, "Deployment shop/web: action 'restart' is disabled"),
    ],
)
def test_the_offer_check_words_refusals_as_the_scripts_do(
    offered: dict[str, bool], refusal: str | None
) -> None:
    if refusal is None:
        lua_actions.check_offered("Deployment shop/web", "restart", offered)
        return
    with pytest.raises(lua_actions.ActionError) as raised:
        lua_actions.check_offered("Deployment shop/web", "restart", offered)
    assert str(raised.value) == refusal
