"""Connection settings for one cluster: plain data, read from a kubeconfig or an Argo CD Secret.

``ClusterConfig`` never shows credentials in its ``repr``; it is turned into an HTTP client by
:func:`tidegate.kube.client.client_for`.
"""

from __future__ import annotations

import base64
import dataclasses
import functools
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tidegate.model import constants, errors
from tidegate.model import secrets as model_secrets

_SA_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")

# Client-side limits of every client (Argo CD's controller reads the same variables; its
# defaults are 50/100). Ours are higher: the controller's operations follow the API servers'
# latency and 429s (controller/opgate.py), so the token bucket is only a guard against a hot
# loop, and at 100 QPS it was what bounded a cold sync of 300 apps (issue 18: 70 s, 27.9 s
# without it, for kubectl's 19 s).
QPS_ENV = "ARGOCD_K8S_CLIENT_QPS"
BURST_ENV = "ARGOCD_K8S_CLIENT_BURST"
DEFAULT_QPS = 500.0
DEFAULT_BURST = 1000


@functools.cache
def client_limits() -> tuple[float, int]:
    """(qps, burst) for new clients: the environment's, else the defaults. A value that is not
    a positive number is a :class:`~tidegate.model.errors.ConfigError` naming the variable."""

    def number(name: str, default: float) -> float:
        text = os.environ.get(name, "").strip()
        if not text:
            return default
        try:
            value = float(text)
        except ValueError:
            value = -1.0
        if value <= 0 or value != value or value == float("inf"):
            raise errors.ConfigError(f"{name}={text!r}: not a positive number")
        return value

    return number(QPS_ENV, DEFAULT_QPS), int(number(BURST_ENV, DEFAULT_BURST))


@dataclasses.dataclass(frozen=True)
class ExecProvider:
    """An exec credential plugin (``client.authentication.k8s.io``), as kubeconfig ``user.exec``."""

    command: str
    args: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    api_version: str = "client.authentication.k8s.io/v1beta1"


@dataclasses.dataclass(frozen=True, repr=False)
class ClusterConfig:
    """Everything needed to talk to one API server; ``*_data`` fields are base64 PEM.

    Limits: ``qps``/``burst`` feed a token bucket shared by all requests of the client (the
    burst lets a 300-object sync with its dry runs go at full speed, the rate protects the API
    server from a hot loop); ``max_in_flight`` bounds concurrent non-watch requests.
    """

    server: str
    name: str = ""
    namespace: str = "default"
    ca_data: str | None = None
    cert_data: str | None = None
    key_data: str | None = None
    insecure: bool = False
    server_name: str | None = None
    bearer_token: str | None = None
    token_file: str | None = None
    username: str | None = None
    password: str | None = None
    exec_provider: ExecProvider | None = None
    timeout: float = 30.0
    qps: float = dataclasses.field(default_factory=lambda: client_limits()[0])
    burst: int = dataclasses.field(default_factory=lambda: client_limits()[1])
    max_in_flight: int = 16

    @property
    def auth_kind(self) -> str:
        """How the client authenticates, for display: never the credential itself."""
        if self.bearer_token:
            return "token"
        if self.token_file:
            return "token-file"
        if self.exec_provider:
            return "exec"
        if self.username:
            return "basic"
        if self.cert_data:
            return "client-certificate"
        return "none"

    def __repr__(self) -> str:
        return (
            f"ClusterConfig(name={self.name!r}, server={self.server!r}, "
            f"auth={self.auth_kind}, insecure={self.insecure})"
        )

    __str__ = __repr__

    def with_limits(
        self,
        *,
        qps: float | None = None,
        burst: int | None = None,
        max_in_flight: int | None = None,
    ) -> ClusterConfig:
        """A copy with other rate/concurrency limits."""
        return dataclasses.replace(
            self,
            qps=self.qps if qps is None else qps,
            burst=self.burst if burst is None else burst,
            max_in_flight=self.max_in_flight if max_in_flight is None else max_in_flight,
        )


KubeconfigSource = Path | str | Sequence[Path | str] | None
DEFAULT_KUBECONFIG = "~/.kube/config"
# Fields of kubeconfig entries that name files: relative to the file that defines them.
_CLUSTER_FILES = ("certificate-authority",)
_USER_FILES = ("client-certificate", "client-key", "tokenFile")
_NAMED_LISTS = (("clusters", "cluster"), ("users", "user"), ("contexts", "context"))


def kubeconfig_paths(source: KubeconfigSource) -> list[Path]:
    """The files a kubeconfig source names, as kubectl reads ``KUBECONFIG``.

    A string is a path list (``os.pathsep``-separated: ``a.yaml:b.yaml``); a ``Path`` is one
    file; ``None`` or an empty string is ``~/.kube/config``. Empty entries are skipped and a
    file listed twice counts once (its first place).
    """
    if source is None or (isinstance(source, str) and not source.strip(os.pathsep)):
        return [Path(DEFAULT_KUBECONFIG).expanduser()]
    if isinstance(source, Path):
        items: Sequence[Path | str] = [source]
    elif isinstance(source, str):
        items = source.split(os.pathsep)
    else:
        items = source
    paths: list[Path] = []
    for item in items:
        if not str(item):
            continue
        path = Path(item).expanduser()
        if path not in paths:
            paths.append(path)
    return paths


def merge_kubeconfigs(docs: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Merge kubeconfig documents as kubectl merges a ``KUBECONFIG`` list (pure).

    The first document to set a key wins: a cluster, user or context keeps the entry of the
    first document that names it (entries are not merged field by field), ``current-context``
    comes from the first document that has a non-empty one, and so does every other top-level
    key (``preferences``, ``extensions``...).
    """
    merged: dict[str, Any] = {"apiVersion": "v1", "kind": "Config"}
    for list_key, _ in _NAMED_LISTS:
        merged[list_key] = []
    seen: dict[str, set[str]] = {list_key: set() for list_key, _ in _NAMED_LISTS}
    for doc in docs:
        for key, value in doc.items():
            if key in seen:
                for entry in value or ():
                    name = entry.get("name") if isinstance(entry, Mapping) else None
                    if isinstance(name, str) and name not in seen[key]:
                        seen[key].add(name)
                        merged[key].append(entry)
            elif key not in merged or (key == "current-context" and not merged[key]):
                merged[key] = value
    return merged


def _absolute_files(doc: Mapping[str, Any], base: Path) -> dict[str, Any]:
    """``doc`` with the relative file references of its clusters and users made absolute.

    As kubectl does, a relative ``exec.command`` is resolved only when it contains a path
    separator (``./bin/auth``); a bare name (``aws``) is looked up in ``PATH``.
    """

    def resolve(entry: Any, fields: Sequence[str]) -> Any:
        if not isinstance(entry, Mapping):
            return entry
        out = dict(entry)
        for field in fields:
            value = out.get(field)
            if isinstance(value, str) and value and not Path(value).is_absolute():
                out[field] = str(base / value)
        exec_cfg = out.get("exec")
        if isinstance(exec_cfg, Mapping):
            command = exec_cfg.get("command")
            if isinstance(command, str) and os.sep in command and not Path(command).is_absolute():
                out["exec"] = {**exec_cfg, "command": str(base / command)}
        return out

    result = dict(doc)
    for list_key, item_key, fields in (
        ("clusters", "cluster", _CLUSTER_FILES),
        ("users", "user", _USER_FILES),
    ):
        entries = doc.get(list_key)
        if isinstance(entries, list):
            result[list_key] = [
                {**e, item_key: resolve(e.get(item_key), fields)} if isinstance(e, Mapping) else e
                for e in entries
            ]
    return result


def _shown(paths: Sequence[Path]) -> str:
    return os.pathsep.join(str(p) for p in paths)


def load_kubeconfig(source: KubeconfigSource) -> dict[str, Any]:
    """Read and merge the kubeconfig files of ``source`` (see :func:`kubeconfig_paths`).

    Files of a list that do not exist are skipped, as kubectl skips them; none existing is a
    :class:`ConfigError`. File references inside each file are made absolute first, so that
    they keep pointing where their own file meant.
    """
    import yaml

    paths = kubeconfig_paths(source)
    docs: list[dict[str, Any]] = []
    for path in paths:
        try:
            text = path.read_text()
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise errors.ConfigError(f"kubeconfig {path}: cannot read: {exc.strerror}") from exc
        try:
            doc = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise errors.ConfigError(f"kubeconfig {path}: not valid YAML: {exc}") from None
        if doc is None:
            continue
        if not isinstance(doc, dict):
            raise errors.ConfigError(f"kubeconfig {path}: not a kubeconfig (a YAML mapping)")
        for list_key, _ in _NAMED_LISTS:
            if doc.get(list_key) is not None and not isinstance(doc[list_key], list):
                raise errors.ConfigError(f"kubeconfig {path}: '{list_key}' must be a list")
        docs.append(_absolute_files(doc, path.parent.resolve()))
    if not docs:
        raise errors.ConfigError(f"kubeconfig {_shown(paths)}: no such file")
    return merge_kubeconfigs(docs)


def from_kubeconfig(source: KubeconfigSource, context: str | None = None) -> ClusterConfig:
    """Read one context (the current context when ``context`` is None) of a kubeconfig file or
    of a ``KUBECONFIG``-style list of files merged as kubectl merges them."""
    from lightkube.config import kubeconfig as lk_kubeconfig
    from lightkube.core import exceptions as lk_exceptions

    where = f"kubeconfig {_shown(kubeconfig_paths(source))}"
    merged = load_kubeconfig(source)
    wanted = context or merged.get("current-context")
    if not wanted:
        raise errors.ConfigError(f"{where}: no context given and no current-context")
    names = [str(c.get("name")) for c in merged["contexts"]]
    if wanted not in names:
        known = ", ".join(names) or "none"
        raise errors.ConfigError(f"{where}: context {wanted!r} not found (contexts: {known})")
    try:
        single = lk_kubeconfig.KubeConfig.from_dict(merged).get(context_name=wanted)
    except (lk_exceptions.ConfigError, KeyError, ValueError, TypeError) as exc:
        raise errors.ConfigError(f"{where}: cannot use context {wanted!r}: {exc}") from exc
    if single is None:
        raise errors.ConfigError(f"{where}: cannot use context {wanted!r}")
    cluster, user = single.cluster, single.user
    exec_provider = None
    if user is not None and user.exec is not None:
        exec_provider = ExecProvider(
            command=user.exec.command,
            args=tuple(user.exec.args or ()),
            env=tuple((nv.name, nv.value) for nv in user.exec.env or ()),
            api_version=user.exec.apiVersion,
        )

    def data_or_file(data: str | None, file: str | None) -> str | None:
        if data:
            return data
        if file:
            try:
                return base64.b64encode(Path(file).read_bytes()).decode()
            except OSError as exc:
                raise errors.ConfigError(f"{where}: cannot read {file}: {exc.strerror}") from exc
        return None

    return ClusterConfig(
        server=cluster.server,
        name=single.context_name,
        namespace=single.namespace,
        ca_data=data_or_file(cluster.certificate_auth_data, cluster.certificate_auth),
        cert_data=data_or_file(user.client_cert_data, user.client_cert) if user else None,
        key_data=data_or_file(user.client_key_data, user.client_key) if user else None,
        insecure=bool(cluster.insecure),
        bearer_token=user.token if user else None,
        token_file=user.token_file if user and user.token_file else None,
        username=user.username if user else None,
        password=user.password if user else None,
        exec_provider=exec_provider,
    )


def in_cluster(namespace: str | None = None) -> ClusterConfig:
    """The cluster Tidegate runs in, through its service account (``kubernetes.default.svc``)."""
    ca = _SA_DIR / "ca.crt"
    try:
        ca_data = base64.b64encode(ca.read_bytes()).decode()
        ns = namespace or (_SA_DIR / "namespace").read_text().strip()
    except OSError as exc:
        raise errors.ConfigError(f"not running in a cluster: cannot read {ca}: {exc}") from exc
    return ClusterConfig(
        server=constants.IN_CLUSTER_SERVER,
        name=constants.IN_CLUSTER_NAME,
        namespace=ns,
        ca_data=ca_data,
        token_file=str(_SA_DIR / "token"),
    )


def from_cluster_secret(secret: Mapping[str, Any]) -> ClusterConfig:
    """Read an Argo CD cluster Secret (``argocd.argoproj.io/secret-type: cluster``).

    Fields: ``name``, ``server``, ``namespaces`` (ignored here) and ``config``, a JSON object with
    ``bearerToken``, ``username``/``password``, ``tlsClientConfig`` and ``execProviderConfig``.
    """
    meta = secret.get("metadata") or {}
    where = f"cluster Secret {meta.get('namespace')}/{meta.get('name')}"
    meta = secret.get("metadata") or {}
    fields = model_secrets.fields(
        secret, what=f"cluster Secret {meta.get('namespace')}/{meta.get('name')}"
    )
    server = fields.get("server", "").strip()
    if not server:
        raise errors.ConfigError(f"{where}: field 'server' is missing")
    raw_config = fields.get("config", "").strip() or "{}"
    try:
        cfg = json.loads(raw_config)
    except json.JSONDecodeError as exc:
        # The message of a JSON error quotes the document: never show it (it holds tokens).
        raise errors.ConfigError(
            f"{where}: field 'config' is not valid JSON (line {exc.lineno})"
        ) from None
    if not isinstance(cfg, dict):
        raise errors.ConfigError(f"{where}: field 'config' must be a JSON object")
    tls = cfg.get("tlsClientConfig") or {}
    exec_cfg = cfg.get("execProviderConfig")
    exec_provider = None
    if exec_cfg:
        if not exec_cfg.get("command"):
            raise errors.ConfigError(f"{where}: execProviderConfig.command is missing")
        exec_provider = ExecProvider(
            command=str(exec_cfg["command"]),
            args=tuple(str(a) for a in exec_cfg.get("args") or ()),
            env=tuple(sorted((str(k), str(v)) for k, v in (exec_cfg.get("env") or {}).items())),
            api_version=str(exec_cfg.get("apiVersion") or "client.authentication.k8s.io/v1beta1"),
        )
    if cfg.get("awsAuthConfig") and exec_provider is None:
        raise errors.ConfigError(f"{where}: awsAuthConfig is not supported; use execProviderConfig")
    if server == constants.IN_CLUSTER_SERVER and not (
        cfg.get("bearerToken") or cfg.get("username") or exec_provider or tls.get("certData")
    ):
        return dataclasses.replace(
            in_cluster(), name=fields.get("name") or constants.IN_CLUSTER_NAME
        )
    return ClusterConfig(
        server=server,
        name=fields.get("name") or server,
        ca_data=tls.get("caData") or None,
        cert_data=tls.get("certData") or None,
        key_data=tls.get("keyData") or None,
        insecure=bool(tls.get("insecure", False)),
        server_name=tls.get("serverName") or None,
        bearer_token=cfg.get("bearerToken") or None,
        username=cfg.get("username") or None,
        password=cfg.get("password") or None,
        exec_provider=exec_provider,
    )
