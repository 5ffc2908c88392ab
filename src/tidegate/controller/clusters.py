"""The cluster registry: destination clusters from Argo CD cluster Secrets. Pure: no I/O.

Clusters are Secrets labelled ``argocd.argoproj.io/secret-type: cluster`` in the control
namespace, with the fields ``name``, ``server``, ``config`` (JSON credentials), and optionally
``namespaces``, ``clusterResources``, ``project`` and ``shard``. The management cluster is always
present as ``in-cluster`` / ``https://kubernetes.default.svc``, reached with the controller's own
configuration, unless a Secret registers that server itself. A Secret that cannot be read makes
*its* cluster carry an ``error``; every other cluster still works.

The inverse direction (a cluster Secret from a :class:`ClusterConfig`) and the objects of the
cluster-manager service account installed by ``tidegate cluster add`` are built here too.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import re
import urllib.parse
from collections.abc import Iterable, Mapping
from typing import Any

from tidegate.kube import config as kube_config
from tidegate.model import constants, errors
from tidegate.model import secrets as model_secrets

_CREDENTIAL_KEYS = ("bearerToken", "username", "password", "execProviderConfig", "awsAuthConfig")
_HIDDEN_ANNOTATIONS = frozenset({constants.ANNOTATION_LAST_APPLIED})
_INVALID_NAME_CHARS = re.compile(r"[^-a-z0-9.]")
_TRUE = ("true", "yes", "1")
MASK = "******"


@dataclasses.dataclass(frozen=True)
class Cluster:
    """One destination cluster. ``config`` is None exactly when ``error`` says why."""

    name: str
    server: str
    config: kube_config.ClusterConfig | None
    labels: Mapping[str, str] = dataclasses.field(default_factory=dict)
    annotations: Mapping[str, str] = dataclasses.field(default_factory=dict)
    namespaces: tuple[str, ...] = ()
    cluster_resources: bool = False
    project: str = ""
    shard: int | None = None
    secret_name: str = ""  # empty for the implicit in-cluster entry
    error: str = ""
    uid: str = ""  # the Secret's uid: Argo CD's cluster ID, which controller sharding hashes

    @property
    def local(self) -> bool:
        """The implicit in-cluster entry (no Secret: no labels, not matched by selectors)."""
        return not self.secret_name

    def require_config(self) -> kube_config.ClusterConfig:
        """The connection settings, or the ConfigError that makes the cluster unusable."""
        if self.config is None:
            raise errors.ConfigError(self.error or f"cluster '{self.name}' has no configuration")
        return self.config


def _where(secret: Mapping[str, Any]) -> str:
    meta = secret.get("metadata") or {}
    return f"cluster Secret {meta.get('namespace') or '?'}/{meta.get('name') or '?'}"


def _strings(value: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in (value or {}).items()}


def _uses_own_credentials(raw_config: str) -> bool:
    """Whether a ``config`` field holds credentials (else in-cluster means "the controller's")."""
    try:
        cfg = json.loads(raw_config or "{}")
    except json.JSONDecodeError:
        return True  # let from_cluster_secret report the error
    if not isinstance(cfg, dict):
        return True
    tls = cfg.get("tlsClientConfig") or {}
    return any(cfg.get(key) for key in _CREDENTIAL_KEYS) or bool(tls.get("certData"))


def cluster_from_secret(
    secret: Mapping[str, Any], *, management: kube_config.ClusterConfig | None
) -> Cluster:
    """Read one cluster Secret; problems become the cluster's ``error``, never an exception."""
    meta = secret.get("metadata") or {}
    secret_name = str(meta.get("name") or "?")
    labels, annotations = _strings(meta.get("labels")), _strings(meta.get("annotations"))
    try:
        fields = model_secrets.fields(secret, what=_where(secret))
    except errors.ConfigError as exc:
        return Cluster(
            secret_name,
            "",
            None,
            labels,
            annotations,
            secret_name=secret_name,
            error=str(exc),
            uid=str(meta.get("uid") or ""),
        )
    server = fields.get("server", "").strip()
    name = fields.get("name", "").strip() or server or secret_name
    base = Cluster(
        name=name,
        server=server,
        config=None,
        labels=labels,
        annotations=annotations,
        namespaces=tuple(n.strip() for n in fields.get("namespaces", "").split(",") if n.strip()),
        cluster_resources=fields.get("clusterResources", "").strip().lower() in _TRUE,
        project=fields.get("project", "").strip(),
        secret_name=secret_name,
        uid=str(meta.get("uid") or ""),
    )
    shard = fields.get("shard", "").strip()
    if shard and not shard.isdigit():
        return dataclasses.replace(
            base, error=f"{_where(secret)}: field 'shard' must be a number, not {shard!r}"
        )
    base = dataclasses.replace(base, shard=int(shard) if shard else None)
    if server.rstrip("/") == constants.IN_CLUSTER_SERVER and not _uses_own_credentials(
        fields.get("config", "")
    ):
        if management is None:
            return dataclasses.replace(
                base, error=f"{_where(secret)}: the management cluster's configuration is unknown"
            )
        return dataclasses.replace(base, config=dataclasses.replace(management, name=name))
    try:
        config = kube_config.from_cluster_secret(secret)
    except errors.ConfigError as exc:
        return dataclasses.replace(base, error=str(exc))
    return dataclasses.replace(base, config=dataclasses.replace(config, name=name))


def normalize_name(name: str) -> str:
    """``nameNormalized``: lower case, anything but ``[-a-z0-9.]`` becomes ``-``, trimmed."""
    return _INVALID_NAME_CHARS.sub("-", name.lower())[:253].strip("-.")


def _same_server(a: str, b: str) -> bool:
    return a.rstrip("/") == b.rstrip("/")


class ClusterRegistry:
    """All destination clusters: built from the raw Secrets of the control namespace.

    ``management`` reaches the cluster Tidegate runs in (the implicit ``in-cluster`` entry);
    ``in_cluster_enabled=False`` removes that entry, as Argo CD's ``cluster.inClusterEnabled``.
    """

    def __init__(
        self,
        secrets: Iterable[Mapping[str, Any]],
        *,
        management: kube_config.ClusterConfig | None,
        in_cluster_enabled: bool = True,
    ) -> None:
        wanted = [
            s
            for s in secrets
            if ((s.get("metadata") or {}).get("labels") or {}).get(constants.LABEL_SECRET_TYPE)
            == constants.SECRET_TYPE_CLUSTER
        ]
        wanted.sort(key=lambda s: str((s.get("metadata") or {}).get("name") or ""))
        found: list[Cluster] = []
        for secret in wanted:
            cluster = cluster_from_secret(secret, management=management)
            first = next(
                (c for c in found if c.server and _same_server(c.server, cluster.server)), None
            )
            if first is not None and not cluster.error:
                cluster = dataclasses.replace(
                    cluster,
                    config=None,
                    error=f"{_where(secret)}: server {cluster.server} is already registered by "
                    f"Secret {first.secret_name} (cluster '{first.name}')",
                )
            if _same_server(cluster.server, constants.IN_CLUSTER_SERVER) and not in_cluster_enabled:
                cluster = dataclasses.replace(
                    cluster, config=None, error="the in-cluster destination is disabled"
                )
            found.append(cluster)
        if in_cluster_enabled and not any(
            _same_server(c.server, constants.IN_CLUSTER_SERVER) for c in found
        ):
            implicit = Cluster(
                name=constants.IN_CLUSTER_NAME,
                server=constants.IN_CLUSTER_SERVER,
                config=dataclasses.replace(management, name=constants.IN_CLUSTER_NAME)
                if management
                else None,
                error="" if management else "the management cluster's configuration is unknown",
            )
            found.insert(0, implicit)
        self._clusters = found

    def clusters(self) -> list[Cluster]:
        return list(self._clusters)

    def by_name(self, name: str) -> list[Cluster]:
        return [c for c in self._clusters if c.name == name]

    def by_server(self, server: str) -> Cluster | None:
        return next((c for c in self._clusters if _same_server(c.server, server)), None)

    def resolve(self, server: str | None = None, name: str | None = None) -> Cluster:
        """The destination cluster of an Application (``destination.server`` or ``.name``).

        Raises SpecError when neither is set, the cluster is unknown, a name is ambiguous, or
        both are set and name different clusters. A known but broken cluster is returned: its
        ``error`` (see :meth:`Cluster.require_config`) says what is wrong with its Secret.
        """
        server, name = (server or "").strip(), (name or "").strip()
        if not server and not name:
            raise errors.SpecError("destination: neither 'server' nor 'name' is set")
        if server:
            found = self.by_server(server)
            if found is None:
                raise errors.SpecError(
                    f"destination server '{server}': cluster '{server}' not found"
                    f" (known: {self._known(lambda c: c.server)})"
                )
            if name and found.name != name:
                named = self.by_name(name)
                detail = (
                    f"cluster '{name}' has server {named[0].server}"
                    if len(named) == 1
                    else f"cluster '{found.name}' has that server"
                )
                raise errors.SpecError(
                    f"destination server '{server}' and name '{name}' name different clusters"
                    f" ({detail})"
                )
            return found
        matches = self.by_name(name)
        if not matches:
            raise errors.SpecError(
                f"destination name '{name}': cluster '{name}' not found"
                f" (known: {self._known(lambda c: c.name)})"
            )
        if len(matches) > 1:
            servers = ", ".join(c.server for c in matches)
            raise errors.SpecError(
                f"destination name '{name}': {len(matches)} clusters have that name"
                f" (servers {servers}); use 'server' instead"
            )
        return matches[0]

    def _known(self, what: Any) -> str:
        shown = sorted({str(what(c)) for c in self._clusters if what(c)})
        if not shown:
            return "none"
        return ", ".join(shown[:10]) + (f" and {len(shown) - 10} more" if len(shown) > 10 else "")

    def generator_params(self) -> list[dict[str, Any]]:
        """Parameters of the ApplicationSet ``clusters`` generator, one dict per cluster:
        ``name``, ``nameNormalized``, ``server``, ``project``, ``metadata.labels``,
        ``metadata.annotations`` (nested). The implicit in-cluster entry has no labels."""
        return [
            {
                "name": c.name,
                "nameNormalized": normalize_name(c.name),
                "server": c.server,
                "project": c.project,
                "metadata": {"labels": dict(c.labels), "annotations": _shown_annotations(c)},
            }
            for c in self._clusters
        ]

    def appset_clusters(self) -> list[dict[str, Any]]:
        """The clusters in the shape ``tidegate.appset`` generators read (``Context.clusters``)."""
        return [
            {
                "name": c.name,
                "server": c.server,
                "project": c.project,
                "labels": dict(c.labels),
                "annotations": _shown_annotations(c),
                "local": c.local,
            }
            for c in self._clusters
        ]


def _shown_annotations(cluster: Cluster) -> dict[str, str]:
    return {k: v for k, v in cluster.annotations.items() if k not in _HIDDEN_ANNOTATIONS}


# -- writing cluster Secrets ------------------------------------------------------------------


def secret_name_for(server: str) -> str:
    """The Secret name ``tidegate cluster add`` uses: ``cluster-<host>-<hash of the URL>``."""
    host = urllib.parse.urlsplit(server).hostname or "server"
    digest = hashlib.sha256(server.encode()).hexdigest()[:10]
    return f"cluster-{normalize_name(host)[:40]}-{digest}"


def config_document(config: kube_config.ClusterConfig) -> dict[str, Any]:
    """The ``config`` field (Argo CD's JSON) for connection settings; token files are read
    by the caller first (``bearer_token``), so a ConfigError here names the cluster."""
    if config.token_file and not config.bearer_token:
        raise errors.ConfigError(
            f"cluster {config.name or config.server}: a token file cannot be stored; "
            "read it into a bearer token first"
        )
    doc: dict[str, Any] = {}
    if config.bearer_token:
        doc["bearerToken"] = config.bearer_token
    if config.username:
        doc["username"] = config.username
        doc["password"] = config.password or ""
    tls: dict[str, Any] = {"insecure": config.insecure}
    for key, value in (
        ("caData", config.ca_data),
        ("certData", config.cert_data),
        ("keyData", config.key_data),
        ("serverName", config.server_name),
    ):
        if value:
            tls[key] = value
    doc["tlsClientConfig"] = tls
    if config.exec_provider:
        ep = config.exec_provider
        doc["execProviderConfig"] = {
            "command": ep.command,
            "args": list(ep.args),
            "env": dict(ep.env),
            "apiVersion": ep.api_version,
        }
    return doc


def cluster_secret(
    *,
    name: str,
    server: str,
    config: kube_config.ClusterConfig,
    namespace: str,
    labels: Mapping[str, str] | None = None,
    annotations: Mapping[str, str] | None = None,
    namespaces: Iterable[str] = (),
    cluster_resources: bool = False,
    project: str = "",
    secret_name: str | None = None,
    shard: int | None = None,
) -> dict[str, Any]:
    """A cluster Secret as Argo CD documents it (values base64 in ``data``)."""
    fields = {"name": name, "server": server, "config": json.dumps(config_document(config))}
    ns_list = ",".join(n for n in namespaces if n)
    if ns_list:
        fields["namespaces"] = ns_list
        if cluster_resources:
            fields["clusterResources"] = "true"
    if project:
        fields["project"] = project
    if shard is not None:
        fields["shard"] = str(shard)
    meta: dict[str, Any] = {
        "name": secret_name or secret_name_for(server),
        "namespace": namespace,
        "labels": {**(labels or {}), constants.LABEL_SECRET_TYPE: constants.SECRET_TYPE_CLUSTER},
    }
    if annotations:
        meta["annotations"] = dict(annotations)
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": meta,
        "data": {k: base64.b64encode(v.encode()).decode() for k, v in fields.items()},
    }


def same_registration(current: Mapping[str, Any], wanted: Mapping[str, Any]) -> bool:
    """Whether two cluster Secrets register the same cluster with the same settings."""

    def view(secret: Mapping[str, Any]) -> tuple[Any, ...]:
        meta = secret.get("metadata") or {}
        try:
            fields = model_secrets.fields(secret, what=_where(secret))
        except errors.ConfigError:
            return ("invalid",)
        try:
            config = json.loads(fields.pop("config", "") or "{}")
        except json.JSONDecodeError:
            config = None
        annotations = {
            k: v
            for k, v in _strings(meta.get("annotations")).items()
            if k not in _HIDDEN_ANNOTATIONS
        }
        return (fields, config, _strings(meta.get("labels")), annotations)

    return view(current) == view(wanted)


def masked_config(config: kube_config.ClusterConfig | None) -> dict[str, Any]:
    """``config`` for display: secret values masked, certificates omitted (as kubectl does)."""
    if config is None:
        return {}
    doc = config_document(dataclasses.replace(config, token_file=None))
    for key in ("bearerToken", "password"):
        if doc.get(key):
            doc[key] = MASK
    tls = doc["tlsClientConfig"]
    if tls.get("keyData"):
        tls["keyData"] = MASK
    for key in ("caData", "certData"):
        if tls.get(key):
            tls[key] = "DATA+OMITTED"
    if "execProviderConfig" in doc:
        env = doc["execProviderConfig"]["env"]
        doc["execProviderConfig"]["env"] = {k: MASK for k in env}
    if config.token_file:
        doc["tokenFile"] = config.token_file
    return doc


# -- the cluster-manager service account (``tidegate cluster add``) ---------------------------


def manager_objects(namespace: str = constants.CLUSTER_MANAGER_NAMESPACE) -> list[dict[str, Any]]:
    """ServiceAccount, ClusterRole (every verb on every resource and non-resource URL),
    ClusterRoleBinding and a long-lived token Secret, to install on a target cluster."""
    sa = constants.CLUSTER_MANAGER_SERVICE_ACCOUNT
    labels = {constants.LABEL_PART_OF: "tidegate"}
    # One binding per system namespace: installing in another namespace must not take the
    # rights away from the account of the default one.
    binding = constants.CLUSTER_MANAGER_ROLE_BINDING
    if namespace != constants.CLUSTER_MANAGER_NAMESPACE:
        binding = f"{binding}-{namespace}"
    return [
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": sa, "namespace": namespace, "labels": labels},
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": constants.CLUSTER_MANAGER_ROLE, "labels": labels},
            "rules": [
                {"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
                {"nonResourceURLs": ["*"], "verbs": ["*"]},
            ],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": binding, "labels": labels},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": constants.CLUSTER_MANAGER_ROLE,
            },
            "subjects": [{"kind": "ServiceAccount", "name": sa, "namespace": namespace}],
        },
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "type": "kubernetes.io/service-account-token",
            "metadata": {
                "name": constants.CLUSTER_MANAGER_TOKEN_SECRET,
                "namespace": namespace,
                "labels": labels,
                "annotations": {"kubernetes.io/service-account.name": sa},
            },
        },
    ]
