"""The Sealed Secrets certificate of each registered cluster, served by ``tidegate server``.

``GET /api/v1/sealedsecrets/cert.pem?server=URL`` (or ``?name=NAME``; ``controllerNamespace``,
default ``kube-system``) answers the newest active sealing certificate of that cluster, as the
Sealed Secrets controller's ``/v1/cert.pem`` does, so ``kubeseal --cert URL`` and ``tidegate
seal --cert URL`` seal for any cluster of the fleet without access to it. RBAC: ``clusters,
get`` on the cluster's server, as reading the cluster itself. Only the public certificate is
read from the key Secrets' ``tls.crt`` and sent; private keys stay in the cluster.
"""

from __future__ import annotations

from typing import Annotated

import fastapi
from starlette.requests import Request
from starlette.responses import Response

from tidegate.api import context, credentials, errors, security
from tidegate.auth import access
from tidegate.controller import clusters
from tidegate.kube import client as kube_client
from tidegate.model import constants
from tidegate.sealedsecrets import keystore, names

router = fastapi.APIRouter(tags=["SealedSecrets"])
PATH = "/api/v1/sealedsecrets/cert.pem"


async def _cluster(ctx: context.ServerContext, server: str, name: str) -> clusters.Cluster:
    if bool(server) == bool(name):
        raise errors.ApiError(400, "give exactly one of 'server' and 'name'")
    secrets = await credentials.secrets_of_type(ctx, constants.SECRET_TYPE_CLUSTER)
    registry = clusters.ClusterRegistry(secrets, management=ctx.client.config)
    if server:
        found = registry.by_server(server)
    else:
        named = registry.by_name(name)
        if len(named) > 1:
            raise errors.ApiError(400, f"cluster name {name[:200]!r} is ambiguous; use 'server'")
        found = named[0] if named else None
    if found is None:
        raise errors.ApiError(404, f"cluster {(server or name)[:200]!r} not found")
    return found


@router.get(PATH, summary="The sealing certificate of a cluster")
async def certificate(
    request: Request,
    subject: access.Subject = security.Subject,
    server: str = "",
    name: str = "",
    controller_namespace: Annotated[
        str, fastapi.Query(alias="controllerNamespace")
    ] = names.CONTROLLER_NAMESPACE,
) -> Response:
    ctx = context.of(request)
    cluster = await _cluster(ctx, server, name)
    security.authorize(subject, "clusters", "get", cluster.server)
    namespace = security.check_name(controller_namespace, what="controllerNamespace")
    async with kube_client.client_for(cluster.require_config()) as client:
        pem = await keystore.certificates_pem(client, namespace)
    return Response(pem, media_type="application/x-pem-file")
