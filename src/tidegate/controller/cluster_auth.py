"""Service-account credentials on a target cluster, for ``cluster add --service-account
--system-namespace --cluster-endpoint`` and ``cluster rotate-auth``, as argocd manages them.

* ``--service-account NAME``: an existing service account of ``--system-namespace`` (default
  ``kube-system``) whose rights the user grants; Tidegate creates no RBAC for it, only a
  long-lived token Secret (``kubernetes.io/service-account-token``) when it has none.
* ``rotate-auth``: the service account is read from the stored token's claims; a new token
  Secret is created, proven to authenticate as that account, stored in the cluster Secret, and
  only then are the account's older token Secrets deleted (which revokes their tokens). A
  cluster stored with other credentials (client certificate, user token) is refused.
* ``--cluster-endpoint kubeconfig|kube-public|internal``: the server stored is the
  kubeconfig's, the one published in ``kube-public/cluster-info``, or
  ``https://kubernetes.default.svc``.

Token values never appear in output or errors.
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from tidegate.model import constants, errors
from tidegate.model import secrets as model_secrets
from tidegate.model.keys import ResourceKey

if TYPE_CHECKING:
    from tidegate.controller import clusters
    from tidegate.kube import client as kube_client

TOKEN_WAIT_SECONDS = 30.0
ENDPOINTS = ("kubeconfig", "kube-public", "internal")
_TOKEN_TYPE = "kubernetes.io/service-account-token"
_SA_ANNOTATION = "kubernetes.io/service-account.name"


def account_of_token(token: str) -> tuple[str, str] | None:
    """(namespace, name) of the service account a token was issued to, from its claims (not
    verified: the API server does that); None for a token that is not a service account's."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(claims, dict):
        return None
    bound = claims.get("kubernetes.io")
    if isinstance(bound, dict) and isinstance(bound.get("serviceaccount"), dict):
        return str(bound.get("namespace") or ""), str(bound["serviceaccount"].get("name") or "")
    ns = claims.get("kubernetes.io/serviceaccount/namespace")
    name = claims.get("kubernetes.io/serviceaccount/service-account.name")
    if isinstance(ns, str) and isinstance(name, str):
        return ns, name
    return None


def server_from_cluster_info(configmap: Mapping[str, Any] | None, *, cluster: str) -> str:
    """The server published in ``kube-public/cluster-info`` (its ``kubeconfig`` key)."""
    import yaml

    raw = ((configmap or {}).get("data") or {}).get("kubeconfig")
    if not raw:
        raise errors.ConfigError(
            f"cluster {cluster}: --cluster-endpoint kube-public needs the ConfigMap"
            " kube-public/cluster-info with a 'kubeconfig' key (kubeadm publishes it)"
        )
    try:
        doc = yaml.safe_load(raw)
        server = str(doc["clusters"][0]["cluster"]["server"])
    except (yaml.YAMLError, KeyError, IndexError, TypeError):
        raise errors.ConfigError(
            f"cluster {cluster}: kube-public/cluster-info holds no cluster server"
        ) from None
    return server


async def endpoint(client: kube_client.KubeClient, choice: str, kubeconfig_server: str) -> str:
    if choice == "internal":
        return constants.IN_CLUSTER_SERVER
    if choice == "kube-public":
        key = ResourceKey("", "ConfigMap", "kube-public", "cluster-info")
        found = await client.get_or_none(key, version="v1")
        return server_from_cluster_info(found, cluster=client.name)
    return kubeconfig_server


async def _token_secrets(
    client: kube_client.KubeClient, namespace: str, account: str
) -> list[dict[str, Any]]:
    res = await client.resource("", "Secret", "v1")
    items = (await client.list(res, namespace=namespace)).items
    return [
        s for s in items
        if s.get("type") == _TOKEN_TYPE
        and ((s.get("metadata") or {}).get("annotations") or {}).get(_SA_ANNOTATION) == account
    ]  # fmt: skip


async def wait_token(client: kube_client.KubeClient, key: ResourceKey) -> tuple[str, str]:
    import asyncio

    loop = asyncio.get_running_loop()
    deadline = loop.time() + TOKEN_WAIT_SECONDS
    while True:
        data = (await client.get(key, version="v1")).get("data") or {}
        if data.get("token"):
            token = model_secrets.decode(data["token"])
            if token is None:
                raise errors.KubeError(f"{key} on cluster {client.name}: the token is not base64")
            return token, str(data.get("ca.crt") or "")
        if loop.time() > deadline:
            raise errors.KubeError(
                f"{key} on cluster {client.name}: no token after {TOKEN_WAIT_SECONDS:.0f}s"
                " (is the token controller of kube-controller-manager running?)"
            )
        await asyncio.sleep(0.2)


async def new_token(
    client: kube_client.KubeClient, namespace: str, account: str
) -> tuple[str, str, str]:
    """A new long-lived token Secret for the account: (secret name, token, CA)."""
    key = ResourceKey("", "ServiceAccount", namespace, account)
    if await client.get_or_none(key, version="v1") is None:
        raise errors.ConfigError(
            f"service account {namespace}/{account} not found on cluster {client.name}"
        )
    name = f"{account}-token-{secrets.token_hex(3)}"
    await client.create({
        "apiVersion": "v1", "kind": "Secret", "type": _TOKEN_TYPE,
        "metadata": {"name": name, "namespace": namespace,
                     "labels": {constants.LABEL_PART_OF: "tidegate"},
                     "annotations": {_SA_ANNOTATION: account}},
    })  # fmt: skip
    token, ca = await wait_token(client, ResourceKey("", "Secret", namespace, name))
    return name, token, ca


async def account_token(
    client: kube_client.KubeClient, namespace: str, account: str
) -> tuple[str, str]:
    """(token, CA) of an existing service account: its first filled token Secret, else a new
    one."""
    for secret in sorted(await _token_secrets(client, namespace, account),
                         key=lambda s: str(s["metadata"]["name"])):  # fmt: skip
        token = model_secrets.decode(str((secret.get("data") or {}).get("token") or ""))
        if token:
            return token, str((secret.get("data") or {}).get("ca.crt") or "")
    _, token, ca = await new_token(client, namespace, account)
    return token, ca


async def whoami(client: kube_client.KubeClient) -> str:
    review = await client.create(
        {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}
    )
    return str(((review.get("status") or {}).get("userInfo") or {}).get("username") or "")


async def rotate(client: kube_client.KubeClient, token: str) -> tuple[str, str, list[str]]:
    """A new token for the service account of ``token`` (``client`` authenticates with it):
    (the new token, the account's namespace, the names of its other token Secrets, which
    :func:`delete_old` removes once the caller has stored and proven the new one)."""
    account = account_of_token(token)
    if account is None:
        raise errors.ConfigError(
            f"cluster {client.name}: its stored credentials are not a service account token;"
            " rotate-auth only rotates service account tokens"
        )
    namespace, name = account
    old = [str(s["metadata"]["name"]) for s in await _token_secrets(client, namespace, name)]
    created, new, _ = await new_token(client, namespace, name)
    return new, namespace, [o for o in old if o != created]


async def delete_old(client: kube_client.KubeClient, namespace: str, names: list[str]) -> None:
    for name in names:
        await client.delete(ResourceKey("", "Secret", namespace, name), version="v1")


async def rotate_registration(
    client: kube_client.KubeClient, namespace: str, found: clusters.Cluster
) -> str:
    """``cluster rotate-auth`` for the registered cluster ``found`` (its Secret in
    ``namespace`` of the management cluster ``client``): a new token is issued, proven to
    authenticate as the same service account, stored, and only then are the old ones revoked.
    Returns what the CLI prints; a cluster not stored with a service account token is refused."""
    import dataclasses

    from tidegate.controller import clusters as clusters_mod
    from tidegate.kube import client as kube_client_mod

    config = found.config
    if found.local or config is None or not config.bearer_token:
        raise errors.ConfigError(
            f"cluster '{found.name}' ({found.server}) is not stored with a service account"
            " token; rotate-auth only rotates those"
        )
    async with kube_client_mod.client_for(config) as target:
        token, account_ns, old = await rotate(target, config.bearer_token)
    rotated = dataclasses.replace(config, bearer_token=token)
    async with kube_client_mod.client_for(rotated) as target:
        user = await whoami(target)
    account = account_of_token(token)
    if account is None or user != f"system:serviceaccount:{account[0]}:{account[1]}":
        raise errors.KubeError(
            f"cluster '{found.name}': the new token authenticates as {user!r}, not as the"
            " service account it was issued for; nothing stored"
        )
    document = json.dumps(clusters_mod.config_document(rotated))
    patch = {"data": {"config": base64.b64encode(document.encode()).decode()}}
    await client.patch(ResourceKey("", "Secret", namespace, found.secret_name), patch,
                       version="v1")  # fmt: skip
    async with kube_client_mod.client_for(rotated) as target:
        await delete_old(target, account_ns, old)
    return f"cluster '{found.name}' credentials rotated ({user}; old tokens revoked)"
