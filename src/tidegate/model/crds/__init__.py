"""Tidegate's CustomResourceDefinitions (Argo CD's names) and the objects an install needs.

``load`` reads the packaged YAML; ``install_manifests`` adds the control Namespace, the
``default`` AppProject and the controller's ServiceAccount and cluster RBAC. Applying them is
the installer's job: this module does no I/O beyond reading its own package data.
"""

from __future__ import annotations

import importlib.resources
from typing import Any, Final

import yaml

from tidegate.model import constants

CRD_FILES: Final = ("applications.yaml", "applicationsets.yaml", "appprojects.yaml")
CONTROLLER_NAME: Final = constants.CONTROLLER_NAME
_PART_OF: Final = {constants.LABEL_PART_OF: "tidegate"}


def load() -> list[dict[str, Any]]:
    """The CRDs for Application, ApplicationSet and AppProject, as plain dicts."""
    package = importlib.resources.files(__name__)
    crds: list[dict[str, Any]] = []
    for name in CRD_FILES:
        text = package.joinpath(name).read_text(encoding="utf-8")
        crds.append(yaml.load(text, Loader=yaml.CSafeLoader))
    return crds


def default_project(namespace: str) -> dict[str, Any]:
    """The ``default`` AppProject: any repository, any destination, any kind (as Argo CD)."""
    return {
        "apiVersion": constants.API_VERSION,
        "kind": "AppProject",
        "metadata": {"name": constants.DEFAULT_PROJECT, "namespace": namespace},
        "spec": {
            "sourceRepos": ["*"],
            "destinations": [{"server": "*", "namespace": "*"}],
            "clusterResourceWhitelist": [{"group": "*", "kind": "*"}],
        },
    }


def controller_rbac(namespace: str) -> list[dict[str, Any]]:
    """ServiceAccount, ClusterRole and ClusterRoleBinding for the controller.

    Like Argo CD's application controller, it may manage any resource in the cluster it runs
    in (it deploys arbitrary manifests to the in-cluster destination); AppProjects restrict
    what each Application may actually touch.
    """
    labels = {"app.kubernetes.io/name": CONTROLLER_NAME, **_PART_OF}
    return [
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": CONTROLLER_NAME, "namespace": namespace, "labels": labels},
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": CONTROLLER_NAME, "labels": labels},
            "rules": [
                {"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
                {"nonResourceURLs": ["*"], "verbs": ["*"]},
            ],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": CONTROLLER_NAME, "labels": labels},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": CONTROLLER_NAME,
            },
            "subjects": [
                {"kind": "ServiceAccount", "name": CONTROLLER_NAME, "namespace": namespace}
            ],
        },
    ]


def install_manifests(namespace: str = constants.DEFAULT_CONTROL_NAMESPACE) -> list[dict[str, Any]]:
    """Everything an install applies, in apply order: Namespace, CRDs, RBAC, default project.

    The default AppProject comes last: its CRD must be established before it can be created.
    """
    ns = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": namespace, "labels": dict(_PART_OF)},
    }
    return [ns, *load(), *controller_rbac(namespace), default_project(namespace)]
