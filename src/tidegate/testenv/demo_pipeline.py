"""The demo's promotion pipeline: the guestbook image from the test bed's registry promoted
dev -> staging -> production through the example configuration repository.

A Kargo project ``guestbook`` with a Warehouse on ``<registry>/guestbook-ui`` (``^1.0.0``),
Stages ``dev`` (direct), ``staging`` (from dev) and ``production`` (from staging), auto-promotion
to dev and staging, none to production (approve and promote by hand), and a generic webhook
receiver. Each Stage's promotion sets the image in its overlay of the config repository,
commits, pushes and syncs the ApplicationSet's app of its environment.
"""

from __future__ import annotations

from typing import Any

from tidegate.testenv import handle, registry, scenario

PROJECT = "guestbook"
IMAGE_NAME = "guestbook-ui"
BASE_IMAGE = "registry.example/guestbook-ui"  # as the example base writes it
API = "kargo.akuity.io/v1alpha1"
# Stage -> (upstream stage or "" for direct, the app it updates)
STAGES = {"dev": ("", "dev-guestbook"), "staging": ("dev", "staging-guestbook"),
          "production": ("staging", "prod-guestbook")}  # fmt: skip
AUTHORIZED = "kargo.akuity.io/authorized-stage"


def authorized_annotation() -> dict[str, str]:
    """For the guestbook ApplicationSet's template: each environment's Stage may update it."""
    return {AUTHORIZED: PROJECT + ":{{metadata.labels.environment}}"}


def _stage(
    name: str, upstream: str, app: str, repo_url: str, image: str, apps_ns: str
) -> dict[str, Any]:
    steps = [
        {"uses": "git-clone",
         "config": {"repoURL": repo_url, "checkout": [{"branch": "main", "path": "./src"}]}},
        {"uses": "kustomize-set-image", "as": "image",
         "config": {"path": f"./src/apps/guestbook/overlays/{name}",
                    "images": [{"image": BASE_IMAGE, "newName": image,
                                "tag": "${{ imageFrom('" + image + "').tag }}"}]}},
        {"uses": "git-commit", "as": "commit",
         "config": {"path": "./src", "message": "${{ outputs.image.commitMessage }}"}},
        {"uses": "git-push", "config": {"path": "./src", "targetBranch": "main"}},
        {"uses": "argocd-update",
         "config": {"apps": [{"name": app, "namespace": apps_ns, "sources": [
             {"repoURL": repo_url, "desiredRevision": "${{ outputs.commit.commit }}"}]}]}},
    ]  # fmt: skip
    sources: dict[str, Any] = {"stages": [upstream]} if upstream else {"direct": True}
    return {
        "apiVersion": API,
        "kind": "Stage",
        "metadata": {"name": name, "namespace": PROJECT},
        "spec": {
            "requestedFreight": [
                {"origin": {"kind": "Warehouse", "name": IMAGE_NAME}, "sources": sources}
            ],
            "promotionTemplate": {"spec": {"steps": steps}},
        },
    }


def manifests(
    bed: handle.TestBed, reg: registry.RegistryInfo, repo_url: str, apps_ns: str, secret: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(the Project, everything in its namespace)."""
    assert bed.git is not None
    image = f"{reg.address}/{IMAGE_NAME}"
    project = {"apiVersion": API, "kind": "Project", "metadata": {"name": PROJECT}}

    def cred(kind: str, url: str, user: str, password: str) -> dict[str, Any]:
        return {
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": f"{kind}-credentials", "namespace": PROJECT,
                         "labels": {"kargo.akuity.io/cred-type": kind}},
            "stringData": {"repoURL": url, "username": user, "password": password},
        }  # fmt: skip

    inside: list[dict[str, Any]] = [
        cred("git", repo_url, bed.git.info.username, bed.git.info.password),
        cred("image", image, reg.username, reg.password),
        {"apiVersion": "v1", "kind": "Secret",
         "metadata": {"name": "ci-webhook", "namespace": PROJECT},
         "stringData": {"secret": secret}},
        {"apiVersion": API, "kind": "Warehouse",
         "metadata": {"name": IMAGE_NAME, "namespace": PROJECT},
         "spec": {"interval": "1m", "subscriptions": [
             {"image": {"repoURL": image, "constraint": "^1.0.0"}}]}},
        {"apiVersion": API, "kind": "ProjectConfig",
         "metadata": {"name": PROJECT, "namespace": PROJECT},
         "spec": {"promotionPolicies": [{"stage": "dev", "autoPromotionEnabled": True},
                                        {"stage": "staging", "autoPromotionEnabled": True}],
                  "webhookReceivers": [{"name": "ci",
                                        "generic": {"secretRef": {"name": "ci-webhook"}}}]}},
    ]  # fmt: skip
    inside += [
        _stage(name, upstream, app, repo_url, image, apps_ns)
        for name, (upstream, app) in STAGES.items()
    ]
    return [project], inside


def seed_image(reg: registry.RegistryInfo) -> None:
    """The first release, so that the pipeline has something to promote."""
    registry.push_image(reg, IMAGE_NAME, "1.0.0")


def apply(bed: handle.TestBed, repo_url: str, apps_ns: str, secret: str) -> None:
    reg = registry.RegistryInfo.load(bed.directory)
    project, inside = manifests(bed, reg, repo_url, apps_ns, secret)
    scenario.apply_manifests(bed, "mgmt", project)
    scenario.apply_manifests(bed, "mgmt", [{"apiVersion": "v1", "kind": "Namespace",
                                            "metadata": {"name": PROJECT}}])  # fmt: skip
    scenario.apply_manifests(bed, "mgmt", inside)
    seed_image(reg)
