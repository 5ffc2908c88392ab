"""The pure parts of the CLI's per-app calls over the API: the ``appNamespace`` a call about an
app carries, the query naming one of its resources, and the live states ``app manifests
--source live`` prints from managed-resources."""

from __future__ import annotations

import json

import pytest

from tidegate.cli import app_manifests_remote, app_remote, app_resources_remote, remote
from tidegate.model import constants


@pytest.fixture
def apps(monkeypatch: pytest.MonkeyPatch) -> app_remote.RemoteApps:
    monkeypatch.setenv(constants.ENV_CONTROL_NAMESPACE, "ctl")
    session = remote.Session(url="https://x", token="t", verify=False, context="x")
    return app_remote.RemoteApps(None, session, "ctl")


def test_app_namespace_is_sent_for_another_namespace_only(apps: app_remote.RemoteApps) -> None:
    assert apps.app_params() == {}
    assert apps.app_params("team") == {"appNamespace": "team"}
    far = {"metadata": {"name": "a", "namespace": "team"}}
    assert apps.params_of(far) == {"appNamespace": "team"}
    assert apps.params_of({"metadata": {"name": "a", "namespace": "ctl"}}) == {}
    assert apps.params_of({"metadata": {"name": "a"}}) == {}


def test_a_recorded_resource_as_the_resource_query() -> None:
    res = {"group": "apps", "kind": "Deployment", "namespace": "d", "name": "web",
           "version": "v1", "status": "Synced"}  # fmt: skip
    assert app_resources_remote.target(res) == {
        "namespace": "d", "resourceName": "web", "kind": "Deployment", "group": "apps",
        "version": "v1"}  # fmt: skip
    cluster_scoped = app_resources_remote.target({"kind": "Namespace", "name": "n"})
    assert cluster_scoped["namespace"] == "" and cluster_scoped["group"] == ""


def test_live_states_skip_what_is_not_on_the_cluster() -> None:
    live = {"kind": "ConfigMap", "metadata": {"name": "c"}}
    items = [{"liveState": json.dumps(live)}, {"liveState": "null"}, {"liveState": ""}, {}]
    assert app_manifests_remote.live_states(items) == [live]
