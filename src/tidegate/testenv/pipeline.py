"""A promotion pipeline on the test bed, for the e2e tests, the benchmark and the demo.

:func:`setup` builds it on a running controller (:class:`scenario.GitOps`): a config repository
with a Kustomize base and one overlay per stage, an Application per stage on ``dev``
(annotated so that its Stage may update it), a Kargo project with a Warehouse on a registry
image, Stages dev -> staging -> prod whose template clones, sets the image, commits, pushes and
runs ``argocd-update``, auto-promotion for dev and staging, and a generic webhook receiver.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import yaml

from tidegate.testenv import registry, scenario, testbed

KARGO = "/apis/kargo.akuity.io/v1alpha1"
STAGES = ("dev", "staging", "prod")


def kustomization(image: str, tag: str) -> str:
    return yaml.safe_dump({"resources": ["../../base"], "images": [{"name": image, "newTag": tag}]})


def deployment(image: str) -> str:
    return yaml.safe_dump(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "guestbook"},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": {"app": "guestbook"}},
                "template": {
                    "metadata": {"labels": {"app": "guestbook"}},
                    "spec": {"containers": [{"name": "web", "image": f"{image}:0.0.0"}]},
                },
            },
        }
    )


def tidegate(bed_kubeconfig: object, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tidegate", *args, f"--kubeconfig={bed_kubeconfig}"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


class Pipeline:
    def __init__(
        self, gitops: scenario.GitOps, reg: registry.RegistryInfo, webhook_secret: str
    ) -> None:
        self.webhook_secret = webhook_secret
        self.gitops = gitops
        self.reg = reg
        self.project = f"p-{secrets.token_hex(3)}"
        self.image = f"{reg.address}/guestbook-{secrets.token_hex(2)}"
        files = {
            "base/deployment.yaml": deployment(self.image),
            "base/kustomization.yaml": "resources: [deployment.yaml]\n",
        }
        for stage in (*STAGES, "slow"):
            files[f"overlays/{stage}/kustomization.yaml"] = kustomization(self.image, "0.0.0")
        self.repo, self.work = gitops.repo(files)
        self.kubeconfig = gitops.bed.clusters["mgmt"].kubeconfig

    def kargo(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        with self.gitops.mgmt() as client:
            headers = {"Content-Type": "application/merge-patch+json"} if method == "PATCH" else {}
            resp = client.request(method, f"{KARGO}{path}", json=body, headers=headers)
            assert resp.status_code < 300, resp.text
            data: dict[str, Any] = resp.json()
            return data

    def kargo_like(self, api_version: str, plural: str, obj: dict[str, Any]) -> dict[str, Any]:
        """Create ``obj`` (any namespaced kind of ``api_version``) in the project namespace."""
        with self.gitops.mgmt() as client:
            path = f"/apis/{api_version}/namespaces/{self.project}/{plural}"
            resp = client.post(path, json=obj)
            assert resp.status_code < 300, resp.text
            data: dict[str, Any] = resp.json()
            return data

    def ns_path(self, plural: str, name: str = "") -> str:
        return f"/namespaces/{self.project}/{plural}" + (f"/{name}" if name else "")

    def wait(self, what: str, check: Callable[[], Any], timeout: float = 90) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = check()
            if value:
                return value
            time.sleep(0.3)
        log = self.gitops.controller.log.read_text()[-4000:]
        raise AssertionError(f"timed out waiting for {what}\ncontroller log:\n{log}")

    def freights(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self.kargo("GET", self.ns_path("freights"))["items"]
        return items

    def freight_for(self, tag: str) -> dict[str, Any] | None:
        return next(
            (f for f in self.freights() if any(i.get("tag") == tag for i in f.get("images", []))),
            None,
        )

    def stage(self, name: str) -> dict[str, Any]:
        return self.kargo("GET", self.ns_path("stages", name))

    def current(self, stage: str) -> str:
        history = (self.stage(stage).get("status") or {}).get("freightHistory") or []
        if not history:
            return ""
        return str(history[0]["id"])

    def overlay_tag(self, stage: str) -> str:
        self.work.git("pull", "--quiet")
        doc = yaml.safe_load((self.work.path / f"overlays/{stage}/kustomization.yaml").read_text())
        return str(doc["images"][0]["newTag"])

    def live_image(self, stage: str) -> str:
        out = scenario.kubectl(
            self.gitops.bed,
            "dev",
            "get",
            "deployment",
            "guestbook",
            "-n",
            f"{self.project}-{stage}",
            "-o",
            "json",
        )
        return str(json.loads(out)["spec"]["template"]["spec"]["containers"][0]["image"])


def setup(gitops: scenario.GitOps, *, webhook_secret: str = "", shard: str = "") -> Pipeline:
    """Build the pipeline (registry started if the bed runs none); see the module's text."""
    testbed.up(gitops.bed.directory, [], registry=True)
    reg = registry.RegistryInfo.load(gitops.bed.directory)
    p = Pipeline(gitops, reg, webhook_secret or secrets.token_hex(12))
    git = gitops.bed.git
    assert git is not None
    dev_server = gitops.bed.clusters["dev"].server
    for stage in STAGES:
        app = scenario.application(
            f"{p.project}-{stage}",
            repo_url=p.repo.http_url,
            path=f"overlays/{stage}",
            server=dev_server,
            namespace=f"{p.project}-{stage}",
            automated=False,
        )
        app["metadata"]["annotations"] = {
            "kargo.akuity.io/authorized-stage": f"{p.project}:{stage}"
        }
        gitops.create_app(app)
    p.kargo(
        "POST",
        "/projects",
        {
            "apiVersion": "kargo.akuity.io/v1alpha1",
            "kind": "Project",
            "metadata": {
                "name": p.project,
                # The controller started with --promotions-shard=SHARD takes it, no other.
                "labels": {"kargo.akuity.io/shard": shard} if shard else {},
            },
        },
    )
    p.wait("the project's namespace", lambda: namespace_exists(gitops, p.project))
    with gitops.mgmt() as client:
        hook = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "wh"},
            "stringData": {"secret": p.webhook_secret},
        }
        resp = client.post(f"/api/v1/namespaces/{p.project}/secrets", json=hook)
        assert resp.status_code == 201, resp.text
    creds = [
        ("git", p.repo.http_url, git.info.username, git.info.password),
        ("image", p.image, reg.username, reg.password),
    ]
    with gitops.mgmt() as client:
        for kind, url, user, password in creds:
            secret = {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {
                    "name": f"{kind}-creds",
                    "labels": {"kargo.akuity.io/cred-type": kind},
                },
                "stringData": {"repoURL": url, "username": user, "password": password},
            }
            resp = client.post(f"/api/v1/namespaces/{p.project}/secrets", json=secret)
            assert resp.status_code == 201, resp.text
    kargo_objects = pipeline_objects(p)
    for plural, obj in kargo_objects:
        p.kargo("POST", p.ns_path(plural), obj)
    return p


def teardown(p: Pipeline) -> None:
    gitops = p.gitops
    with gitops.mgmt() as client:
        client.delete(f"{KARGO}/projects/{p.project}")
        client.delete(f"/api/v1/namespaces/{p.project}")


def namespace_exists(gitops: scenario.GitOps, name: str) -> bool:
    with gitops.mgmt() as client:
        return client.get(f"/api/v1/namespaces/{name}").status_code == 200


def pipeline_objects(p: Pipeline) -> list[tuple[str, dict[str, Any]]]:
    api = "kargo.akuity.io/v1alpha1"
    steps = [
        {
            "uses": "git-clone",
            "config": {
                "repoURL": p.repo.http_url,
                "checkout": [{"branch": "main", "path": "./src"}],
            },
        },
        {
            "uses": "kustomize-set-image",
            "as": "update",
            "config": {
                "path": "./src/overlays/${{ ctx.stage }}",
                "images": [{"image": p.image, "tag": "${{ imageFrom(vars.image).tag }}"}],
            },
        },
        {
            "uses": "git-commit",
            "as": "commit",
            "config": {"path": "./src", "message": "${{ outputs.update.commitMessage }}"},
        },
        {"uses": "git-push", "config": {"path": "./src", "targetBranch": "main"}},
        {
            "uses": "argocd-update",
            "config": {
                "apps": [
                    {
                        "name": p.project + "-${{ ctx.stage }}",
                        "namespace": p.gitops.namespace,
                        "sources": [
                            {
                                "repoURL": p.repo.http_url,
                                "desiredRevision": "${{ outputs.commit.commit }}",
                            }
                        ],
                    }
                ]
            },
        },
    ]
    template = {"spec": {"vars": [{"name": "image", "value": p.image}], "steps": steps}}
    origin = {"kind": "Warehouse", "name": "guestbook"}
    upstream = {
        "dev": {"direct": True},
        "staging": {"stages": ["dev"]},
        "prod": {"stages": ["staging"]},
    }
    objs: list[tuple[str, dict[str, Any]]] = [
        (
            "warehouses",
            {
                "apiVersion": api,
                "kind": "Warehouse",
                "metadata": {"name": "guestbook"},
                "spec": {
                    "interval": "1h",
                    "subscriptions": [{"image": {"repoURL": p.image, "constraint": "^1.0.0"}}],
                },
            },
        ),
        (
            "projectconfigs",
            {
                "apiVersion": api,
                "kind": "ProjectConfig",
                "metadata": {"name": p.project},
                "spec": {
                    "promotionPolicies": [
                        {"stage": "dev", "autoPromotionEnabled": True},
                        {"stage": "staging", "autoPromotionEnabled": True},
                    ],
                    "webhookReceivers": [{"name": "ci", "generic": {"secretRef": {"name": "wh"}}}],
                },
            },
        ),
    ]
    for stage in STAGES:
        objs.append(
            (
                "stages",
                {
                    "apiVersion": api,
                    "kind": "Stage",
                    "metadata": {"name": stage},
                    "spec": {
                        "requestedFreight": [{"origin": origin, "sources": upstream[stage]}],
                        "promotionTemplate": template,
                    },
                },
            )
        )
    return objs


def push(p: Pipeline, tag: str) -> None:
    registry.push_image(p.reg, p.image.split("/", 1)[1], tag)
    result = tidegate(p.kubeconfig, "warehouse", "refresh", "guestbook", f"--project={p.project}")
    assert result.returncode == 0, result.stderr
