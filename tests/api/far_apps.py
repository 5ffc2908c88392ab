"""Set-up shared by the tests of an Application outside the control namespace ("far" apps, Argo
CD's apps in any namespace): namespaces of its own per test module (a served one its project
lists, a served one it does not, one not served), a repository of a Deployment and a ConfigMap,
and the app in the listed namespace, synced by the module's real controller."""

from __future__ import annotations

import contextlib
import dataclasses
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import yaml
from tests.api.access_helpers import JSON
from tests.api.polling import until

from tidegate.testenv import handle, scenario

# The workload (test_resource_actions.py deploys it too).
DEPLOYMENT = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web"},
    "spec": {
        "replicas": 1,
        "selector": {"matchLabels": {"app": "web"}},
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "c", "image": "registry.invalid/web:1"}]},
        },
    },
}
CONFIGMAP = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"},
             "data": {"color": "blue"}}  # fmt: skip


@dataclasses.dataclass(frozen=True)
class Far:
    """The names of one module's set-up, all derived from its ``tag``."""

    tag: str

    @property
    def glob(self) -> str:
        """The server's and the controller's ``--application-namespaces``."""
        return f"tgd-{self.tag}-*"

    @property
    def team(self) -> str:  # served, listed by the project
        return f"tgd-{self.tag}-team"

    @property
    def other(self) -> str:  # served, not listed by the project
        return f"tgd-{self.tag}-other"

    @property
    def unserved(self) -> str:
        return f"tgy-{self.tag}"

    @property
    def project(self) -> str:
        return f"team-{self.tag}"

    @property
    def app(self) -> str:
        return f"far-{self.tag}"

    @property
    def dest(self) -> str:  # the app's destination namespace on dev
        return f"far-dest-{self.tag}"

    @property
    def window(self) -> dict[str, Any]:
        return {"kind": "allow", "schedule": "* * * * *", "duration": "1h",
                "applications": [self.app]}  # fmt: skip


@contextlib.contextmanager
def namespaces(bed: handle.TestBed, far: Far) -> Iterator[None]:
    with bed.admin_client("mgmt") as client:
        for ns in (far.team, far.other, far.unserved):
            body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}
            client.post("/api/v1/namespaces", content=json.dumps(body), headers=JSON)
    try:
        yield
    finally:
        with bed.admin_client("mgmt") as client:
            for ns in (far.team, far.other, far.unserved):
                client.delete(f"/api/v1/namespaces/{ns}")
        with bed.admin_client("dev") as client:
            client.delete(f"/api/v1/namespaces/{far.dest}")


def repo(bed: handle.TestBed, src: Path) -> str:
    """A repository of the Deployment and the ConfigMap (path ``app``), written in ``src``."""
    assert bed.git is not None
    (src / "app").mkdir()
    (src / "app" / "all.yaml").write_text(yaml.safe_dump_all([DEPLOYMENT, CONFIGMAP]))
    return bed.git.create_repo(from_dir=src).http_url


def app_manifest(
    bed: handle.TestBed, far: Far, repo_url: str, name: str, namespace: str
) -> dict[str, Any]:
    app = scenario.application(name, repo_url=repo_url, path="app", automated=False,
                               project=far.project, server=bed.clusters["dev"].server,
                               namespace=far.dest)  # fmt: skip
    app["metadata"]["namespace"] = namespace
    return app


def deploy(
    api: httpx.Client,
    bed: handle.TestBed,
    far: Far,
    repo_url: str,
    poll: Callable[..., Any] = until,
) -> str:
    """The app in ``far.team`` (its project lists the namespace, and an allow window names
    it), synced through the API by the controller: the Deployment and ConfigMap in
    ``far.dest`` on dev. ``poll``: the browser tests' (Playwright runs an event loop)."""
    project = {"project": {"metadata": {"name": far.project}, "spec": {
        "sourceRepos": ["*"], "destinations": [{"server": "*", "namespace": "*"}],
        "sourceNamespaces": [far.team], "syncWindows": [far.window],
        "clusterResourceWhitelist": [{"group": "", "kind": "Namespace"}]}}}  # fmt: skip
    made = api.post("/api/v1/projects", content=json.dumps(project), headers=JSON)
    assert made.status_code == 200, made.text
    body = json.dumps(app_manifest(bed, far, repo_url, far.app, far.team))
    created = api.post("/api/v1/applications", content=body, headers=JSON)
    assert created.status_code == 200, created.text
    synced = api.post(f"/api/v1/applications/{far.app}/sync", content=json.dumps(
        {"appNamespace": far.team}), headers=JSON)  # fmt: skip
    assert synced.status_code == 200, synced.text

    def done() -> bool:
        got = api.get(f"/api/v1/applications/{far.app}", params={"appNamespace": far.team})
        status = got.json().get("status") or {}
        state = status.get("operationState") or {}
        assert state.get("phase") not in ("Failed", "Error"), state.get("message")
        return state.get("phase") == "Succeeded" and len(status.get("resources") or []) == 2

    poll(done, within=120)
    return far.app
