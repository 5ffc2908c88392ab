"""Helpers for the ApplicationSet controller e2e tests: one control namespace on the test bed's
management cluster with Tidegate installed, the dev/staging/prod clusters registered as Argo CD
cluster Secrets, a repository Secret for the test git server, and the controller in-process."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any, TypeVar

from tidegate.appset import controller as appset_controller
from tidegate.kube import client as kube_client
from tidegate.kube import config as kube_config
from tidegate.kube import discovery
from tidegate.model import constants
from tidegate.model.keys import ResourceKey
from tidegate.testenv import handle

T = TypeVar("T")
CLUSTER_LABELS = {
    "dev": {"environment": "dev"},
    "staging": {"environment": "staging"},
    "prod": {"environment": "production"},
}


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def cluster_secret(
    namespace: str, bed: handle.TestBed, cluster: str, labels: Mapping[str, str]
) -> dict[str, Any]:
    """An Argo CD cluster Secret with the test bed's admin client certificate."""
    cfg = kube_config.from_kubeconfig(bed.clusters[cluster].kubeconfig)
    config = {
        "tlsClientConfig": {
            "caData": cfg.ca_data,
            "certData": cfg.cert_data,
            "keyData": cfg.key_data,
        }
    }
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": f"cluster-{cluster}",
            "namespace": namespace,
            "labels": {constants.LABEL_SECRET_TYPE: constants.SECRET_TYPE_CLUSTER, **labels},
        },
        "type": "Opaque",
        "data": {
            "name": b64(cluster),
            "server": b64(cfg.server),
            "config": b64(json.dumps(config)),
        },
    }


def repo_secret(namespace: str, url: str, username: str, password: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": "repo-testbed",
            "namespace": namespace,
            "labels": {constants.LABEL_SECRET_TYPE: constants.SECRET_TYPE_REPO_CREDS},
        },
        "type": "Opaque",
        "data": {"url": b64(url), "username": b64(username), "password": b64(password)},
    }


class Env:
    """One control namespace and its running controller."""

    def __init__(
        self,
        *,
        kube: kube_client.KubeClient,
        namespace: str,
        bed: handle.TestBed,
        controller: appset_controller.AppSetController,
        apps: discovery.APIResource,
        sets: discovery.APIResource,
    ) -> None:
        self.kube = kube
        self.namespace = namespace
        self.bed = bed
        self.controller = controller
        self.apps_res = apps
        self.sets_res = sets

    def app_key(self, name: str) -> ResourceKey:
        return ResourceKey(constants.GROUP, constants.KIND_APPLICATION, self.namespace, name)

    def set_key(self, name: str) -> ResourceKey:
        return ResourceKey(constants.GROUP, constants.KIND_APPLICATION_SET, self.namespace, name)

    async def apps(self) -> dict[str, dict[str, Any]]:
        listed = await self.kube.list(self.apps_res, namespace=self.namespace)
        return {a["metadata"]["name"]: a for a in listed.items}

    async def live_app_names(self) -> set[str]:
        """Applications that exist and are not being deleted."""
        return {
            n for n, a in (await self.apps()).items() if not a["metadata"].get("deletionTimestamp")
        }

    async def get_set(self, name: str) -> dict[str, Any]:
        return await self.kube.get(self.set_key(name))

    async def condition(self, set_name: str, kind: str) -> dict[str, Any] | None:
        appset = await self.kube.get_or_none(self.set_key(set_name))
        for cond in ((appset or {}).get("status") or {}).get("conditions") or []:
            if cond.get("type") == kind:
                return dict(cond)
        return None

    async def apply_set(self, manifest: Mapping[str, Any]) -> dict[str, Any]:
        obj = {**manifest, "metadata": {**manifest["metadata"], "namespace": self.namespace}}
        return (await self.kube.apply(obj, force=True)).body

    async def label_cluster(self, cluster: str, labels: Mapping[str, str]) -> None:
        await self.kube.apply(cluster_secret(self.namespace, self.bed, cluster, labels), force=True)

    async def patch_app(self, name: str, patch: Mapping[str, Any]) -> dict[str, Any]:
        return await self.kube.patch(self.app_key(name), patch)

    async def strip_finalizers(self) -> None:
        for name, app in (await self.apps()).items():
            if app["metadata"].get("finalizers"):
                await self.kube.patch(self.app_key(name), {"metadata": {"finalizers": None}})
