"""The controller's HTTP API reached through the API server's service proxy (I/O), as kubeseal
reaches it: ``/api/v1/namespaces/<ns>/services/http:<name>:/proxy/v1/...``.

Whatever serves the ``<name>`` Service in ``<ns>`` answers: the Sealed Secrets project's
controller, or Tidegate's (``tidegate sealed-secrets-controller --listen-addr`` behind a
Service). ``tidegate seal --validate`` and ``--re-encrypt`` use it, since both need the private
keys, which stay with the controller.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from tidegate.kube import client as kube_client
from tidegate.model import errors


def proxy_path(namespace: str, name: str, endpoint: str) -> str:
    return f"/api/v1/namespaces/{namespace}/services/http:{name}:/proxy{endpoint}"


def _what(client: kube_client.KubeClient, namespace: str, name: str, endpoint: str) -> str:
    return f"{endpoint} of service {namespace}/{name} on cluster {client.name}"


async def verify(
    client: kube_client.KubeClient, namespace: str, name: str, sealed: Mapping[str, Any]
) -> bool:
    """True when the controller can decrypt ``sealed`` (200), False when it cannot (409)."""
    try:
        await client.request(
            "POST",
            proxy_path(namespace, name, "/v1/verify"),
            what=_what(client, namespace, name, "/v1/verify"),
            body=json.dumps(sealed).encode(),
            accept="*/*",
        )
    except errors.KubeConflictError:
        return False
    return True


async def rotate(
    client: kube_client.KubeClient, namespace: str, name: str, sealed: Mapping[str, Any]
) -> dict[str, Any]:
    """The SealedSecret re-encrypted by the controller with its newest key."""
    reply = await client.request(
        "POST",
        proxy_path(namespace, name, "/v1/rotate"),
        what=_what(client, namespace, name, "/v1/rotate"),
        body=json.dumps(sealed).encode(),
    )
    body = reply.body
    if not isinstance(body, dict) or not body.get("kind"):
        raise errors.KubeError(
            f"{_what(client, namespace, name, '/v1/rotate')}: the answer is not a SealedSecret"
        )
    return dict(body)
