"""One async client per cluster: raw JSON requests over a pooled HTTP connection.

Built on lightkube's configuration layer (kubeconfig parsing, TLS, token/basic/exec auth).
Ordinary requests go through :mod:`tidegate.kube.transport` (httpx2 for a command, aiohttp for
a long-running process: ``client_for(bulk=True)``); watches, followed logs and the liveness ping
through httpx2, on a second connection pool without read timeout. Objects stay plain dicts,
(de)serialised with msgspec. Every request goes through a token bucket (QPS/burst); ordinary
ones also through a concurrency limit.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import time
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from typing import Any, Literal

import httpx2 as httpx
import msgspec
from lightkube.core import exceptions as lk_exceptions

from tidegate.kube import config as kube_config
from tidegate.kube import discovery, fence, pressure, ratelimit, status, transport
from tidegate.metrics import families as metric_families
from tidegate.model import constants, errors
from tidegate.model.keys import ResourceKey

Propagation = Literal["Foreground", "Background", "Orphan"]
# The ``fieldValidation`` of writes: Strict (as kubectl validates; the sync default), Warn, or
# Ignore (sync option ``Validate=false``). None sends nothing: the server's default (Warn).
FieldValidation = Literal["Strict", "Warn", "Ignore"]
APPLY_CONTENT_TYPE = "application/apply-patch+yaml"  # JSON is valid YAML
MERGE_CONTENT_TYPE = "application/merge-patch+json"

WATCH_IDLE_MARGIN = 90.0
"""Seconds of silence past a watch's server-side ``timeoutSeconds`` before it is given up."""

_encode = msgspec.json.encode
_decode = msgspec.json.decode


@dataclasses.dataclass(frozen=True)
class ListResult:
    items: list[dict[str, Any]]
    resource_version: str


@dataclasses.dataclass(frozen=True)
class Response:
    code: int
    body: dict[str, Any]


def describe(verb: str, key: ResourceKey, cluster: str) -> str:
    return f"{verb} {key} on cluster {cluster}"


def _write_params(
    *,
    dry_run: bool,
    validation: FieldValidation | None,
    force: bool = False,
    field_manager: str = constants.FIELD_MANAGER,
) -> dict[str, str]:
    params = {"fieldManager": field_manager}
    if validation is not None:
        params["fieldValidation"] = validation
    if force:
        params["force"] = "true"
    if dry_run:
        params["dryRun"] = "All"
    return params


def is_recreatable(exc: errors.KubeError) -> bool:
    """Errors that deleting and recreating the object can cure: an immutable field (422
    Invalid) or a conflict (409)."""
    return isinstance(exc, errors.KubeApiError) and exc.code in (409, 422)


def already_exists(exc: errors.KubeError) -> bool:
    return isinstance(exc, errors.KubeConflictError) and exc.reason == "AlreadyExists"


class KubeClient:
    """Requests to one cluster. Create with :func:`client_for`; close with :meth:`aclose`."""

    def __init__(
        self,
        *,
        config: kube_config.ClusterConfig,
        http: transport.Transport,
        watch_http: httpx.AsyncClient,
    ) -> None:
        self.config = config
        self.name = config.name or config.server
        self._http = http
        self._watch_http = watch_http
        self._bucket = ratelimit.TokenBucket(qps=config.qps, burst=config.burst)
        self._in_flight = asyncio.Semaphore(max(1, config.max_in_flight))
        self.pressure = pressure.Pressure()  # latency trend and 429s (controller/opgate.py)
        self._extensions = _extensions_of(config)
        self.discovery = discovery.Discovery(fetch=self._fetch_discovery, cluster=self.name)
        # Watch streams open now, by group_kind ("Rollout.argoproj.io"): what a shared cache
        # saves is visible (one watch per kind per cluster, whoever consumes it).
        self.open_watches: collections.Counter[str] = collections.Counter()

    def __repr__(self) -> str:
        return f"KubeClient({self.config!r})"

    async def aclose(self) -> None:
        await self._http.aclose()
        await self._watch_http.aclose()

    async def __aenter__(self) -> KubeClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- transport -------------------------------------------------------------------------

    async def request(
        self,
        method: str,
        path: str,
        *,
        what: str,
        params: Mapping[str, str] | None = None,
        body: bytes | None = None,
        content_type: str = "application/json",
        accept: str = "application/json",
        secrets: tuple[str, ...] | list[str] = (),
    ) -> Response:
        """Send one request; 2xx answers are decoded, others raise a :class:`KubeError`."""
        headers = {"Accept": accept}
        if body is not None:
            headers["Content-Type"] = content_type
        await self._bucket.acquire()
        async with self._in_flight:
            fence.check(method, what)  # last moment before it leaves: a lost shard sends nothing
            sent = time.monotonic()
            try:
                resp = await self._http.send(
                    transport.Outgoing(method, path, params, body, headers)
                )
            except transport.TransportError as exc:
                raise status.unreachable(
                    cluster=self.name,
                    server=self.config.server,
                    what=what,
                    cause=exc.__cause__ or exc,
                ) from exc
            except (lk_exceptions.ConfigError, OSError) as exc:  # credential plugin, token file
                raise errors.KubeError(
                    f"{what}: cannot authenticate to cluster {self.name}: {exc}"
                ) from exc
        self.pressure.record(time.monotonic() - sent, resp.status)
        metric_families.record_k8s_request(
            server=self.config.server,
            method=method,
            path=path,
            code=resp.status,
            params=params,
        )
        if resp.status >= 400:
            raise status.api_error(what=what, code=resp.status, body=resp.content, secrets=secrets)
        content = resp.content
        try:
            doc = _decode(content) if content else {}
        except msgspec.DecodeError as exc:
            raise errors.KubeError(f"{what}: the API server answered with invalid JSON") from exc
        return Response(resp.status, doc if isinstance(doc, dict) else {})

    async def ping(self, *, within: float) -> None:
        """``GET /version`` within ``within`` seconds, outside the token bucket and the
        in-flight limit and on the watch pool (no connection limit): whether the server
        answers, even while its ordinary requests are all stuck (a hung server holds them).
        Raises :class:`ClusterUnreachableError` when it does not answer; an error status
        counts as an answer."""
        what = f"get /version of cluster {self.name}"
        req = self._watch_http.build_request(
            "GET", "/version", headers={"Accept": "application/json"}, extensions=self._extensions
        )
        try:
            async with asyncio.timeout(within):
                resp = await self._watch_http.send(req)
                await resp.aclose()
        except TimeoutError as exc:
            raise errors.ClusterUnreachableError(
                f"cluster {self.name} ({self.config.server}) is unreachable: "
                f"no answer to {what} within {within:g}s"
            ) from exc
        except httpx.TransportError as exc:
            raise status.unreachable(
                cluster=self.name, server=self.config.server, what=what, cause=exc
            ) from exc

    async def _fetch_discovery(self, path: str, accept: str) -> Mapping[str, Any]:
        return (await self.request("GET", path, what=f"discover {path}", accept=accept)).body

    async def resource_for(self, obj: Mapping[str, Any]) -> discovery.APIResource:
        """The served resource of a raw object, by its ``apiVersion`` and ``kind``."""
        group, _, version = str(obj.get("apiVersion") or "").rpartition("/")
        kind = str(obj.get("kind") or "")
        if not version or not kind:
            raise errors.KubeError(f"{ResourceKey.of(obj)}: apiVersion and kind are required")
        return await self.discovery.lookup(group, kind, version)

    async def resource(
        self, group: str, kind: str, version: str | None = None
    ) -> discovery.APIResource:
        return await self.discovery.lookup(group, kind, version)

    def _namespace_of(self, res: discovery.APIResource, namespace: str) -> str:
        if not res.namespaced:
            return ""
        return namespace or self.config.namespace

    # -- verbs on one object ---------------------------------------------------------------

    async def get(self, key: ResourceKey, *, version: str | None = None) -> dict[str, Any]:
        res = await self.resource(key.group, key.kind, version)
        ns = self._namespace_of(res, key.namespace)
        what = describe("get", key, self.name)
        return (await self.request("GET", res.path(ns, key.name), what=what)).body

    async def get_or_none(
        self, key: ResourceKey, *, version: str | None = None
    ) -> dict[str, Any] | None:
        try:
            return await self.get(key, version=version)
        except errors.KubeNotFoundError:
            return None

    async def apply(
        self,
        obj: Mapping[str, Any],
        *,
        dry_run: bool = False,
        force: bool = False,
        field_manager: str = constants.FIELD_MANAGER,
        validation: FieldValidation | None = None,
    ) -> Response:
        """Server-side apply; the answer is the object as (it would be) stored.

        ``code`` is 201 when the apply created the object, 200 otherwise. A sync applies with
        ``force=True`` (Argo CD's ``kubectl apply --server-side --force-conflicts``).
        """
        res = await self.resource_for(obj)
        key = ResourceKey.of(obj)
        ns = self._namespace_of(res, key.namespace)
        params = _write_params(
            dry_run=dry_run, validation=validation, force=force, field_manager=field_manager
        )
        verb = "dry-run apply" if dry_run else "apply"
        response = await self.request(
            "PATCH",
            res.path(ns, key.name),
            what=describe(verb, key, self.name),
            params=params,
            body=_encode(obj),
            content_type=APPLY_CONTENT_TYPE,
            secrets=status.secret_values(obj),
        )
        if key.kind == "CustomResourceDefinition" and not dry_run:
            self.discovery.invalidate()
        return response

    async def create(
        self,
        obj: Mapping[str, Any],
        *,
        dry_run: bool = False,
        validation: FieldValidation | None = None,
    ) -> dict[str, Any]:
        """POST to the collection (works with ``metadata.generateName``)."""
        res = await self.resource_for(obj)
        key = ResourceKey.of(obj)
        params = _write_params(dry_run=dry_run, validation=validation)
        verb = "dry-run create" if dry_run else "create"
        response = await self.request(
            "POST",
            res.path(self._namespace_of(res, key.namespace)),
            what=describe(verb, key, self.name),
            params=params,
            body=_encode(obj),
            secrets=status.secret_values(obj),
        )
        if key.kind == "CustomResourceDefinition" and not dry_run:
            self.discovery.invalidate()
        return response.body

    async def replace(
        self,
        obj: Mapping[str, Any],
        *,
        dry_run: bool = False,
        validation: FieldValidation | None = None,
    ) -> dict[str, Any]:
        """PUT the whole object (``Replace=true``); unconditional without a resourceVersion."""
        res = await self.resource_for(obj)
        key = ResourceKey.of(obj)
        params = _write_params(dry_run=dry_run, validation=validation)
        response = await self.request(
            "PUT",
            res.path(self._namespace_of(res, key.namespace), key.name),
            what=describe("dry-run replace" if dry_run else "replace", key, self.name),
            params=params,
            body=_encode(obj),
            secrets=status.secret_values(obj),
        )
        return response.body

    async def patch(
        self,
        key: ResourceKey,
        patch: Mapping[str, Any],
        *,
        version: str | None = None,
        subresource: str | None = None,
        field_manager: str = constants.FIELD_MANAGER,
    ) -> dict[str, Any]:
        """JSON merge patch (used to remove tracking labels, set annotations...); of the
        ``subresource`` (``status``) when given. A workload controller passes its own
        ``field_manager``, so that a sync's server-side apply does not take back its fields."""
        res = await self.resource(key.group, key.kind, version)
        path = res.path(self._namespace_of(res, key.namespace), key.name)
        response = await self.request(
            "PATCH",
            f"{path}/{subresource}" if subresource else path,
            what=describe("patch", key, self.name),
            params={"fieldManager": field_manager},
            body=_encode(patch),
            content_type=MERGE_CONTENT_TYPE,
        )
        return response.body

    async def delete(
        self,
        key: ResourceKey,
        *,
        propagation: Propagation = "Background",
        dry_run: bool = False,
        grace_period_seconds: int | None = None,
        version: str | None = None,
    ) -> bool:
        """Delete one object; ``False`` when it did not exist (already gone)."""
        res = await self.resource(key.group, key.kind, version)
        opts: dict[str, Any] = {
            "kind": "DeleteOptions",
            "apiVersion": "v1",
            "propagationPolicy": propagation,
        }
        if dry_run:
            opts["dryRun"] = ["All"]
        if grace_period_seconds is not None:
            opts["gracePeriodSeconds"] = grace_period_seconds
        try:
            await self.request(
                "DELETE",
                res.path(self._namespace_of(res, key.namespace), key.name),
                what=describe("delete", key, self.name),
                body=_encode(opts),
            )
        except errors.KubeNotFoundError:
            return False
        if key.kind == "CustomResourceDefinition" and not dry_run:
            self.discovery.invalidate()
        return True

    async def wait_gone(self, key: ResourceKey, *, within: float, interval: float = 0.1) -> None:
        """Poll until ``key`` no longer exists; a :class:`KubeError` names it after ``within`` s."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while await self.get_or_none(key) is not None:
            if loop.time() >= deadline:
                raise errors.KubeError(
                    f"{key} on cluster {self.name} still exists {within:.0f}s after its deletion "
                    "(a finalizer may hold it)"
                )
            await asyncio.sleep(interval)

    async def recreate(
        self,
        obj: Mapping[str, Any],
        *,
        validation: FieldValidation | None,
        delete_within: float,
        server_side: bool,
    ) -> None:
        """Delete the object, wait until it is gone, create it again (sync option
        ``Force=true``), by server-side apply or by create."""
        key = ResourceKey.of(obj)
        await self.delete(key, propagation="Background")
        await self.wait_gone(key, within=delete_within)
        if server_side:
            await self.apply(obj, force=True, validation=validation)
        else:
            await self.create(obj, validation=validation)

    # -- collections -------------------------------------------------------------------------

    async def list(
        self,
        res: discovery.APIResource,
        *,
        namespace: str | None = None,
        label_selector: str | None = None,
        page_size: int = 500,
    ) -> ListResult:
        """All objects of a resource (one namespace, or all); pages through ``continue``."""
        params: dict[str, str] = {"limit": str(page_size)}
        if label_selector:
            params["labelSelector"] = label_selector
        path = res.path(namespace if res.namespaced else None)
        where = f" in namespace {namespace}" if namespace else ""
        what = f"list {res.group_kind}{where} on cluster {self.name}"
        items: list[dict[str, Any]] = []
        while True:
            doc = (await self.request("GET", path, what=what, params=params)).body
            for item in doc.get("items") or ():
                item["apiVersion"] = res.api_version
                item["kind"] = res.kind
                items.append(item)
            meta = doc.get("metadata") or {}
            cont = meta.get("continue")
            if not cont:
                return ListResult(items, str(meta.get("resourceVersion") or ""))
            params["continue"] = str(cont)

    async def watch_events(
        self,
        res: discovery.APIResource,
        *,
        resource_version: str,
        namespace: str | None = None,
        label_selector: str | None = None,
        timeout_seconds: int = 300,
    ) -> AsyncIterator[tuple[str, dict[str, Any]]]:
        """Raw ``(type, object)`` watch events with bookmarks, until the server ends the watch.

        A 410 answer to the request itself is raised as :class:`KubeApiError` with code 410;
        ERROR events are yielded as they come (the reflector decides).
        """
        params = {
            "watch": "true",
            "allowWatchBookmarks": "true",
            "resourceVersion": resource_version,
            "timeoutSeconds": str(timeout_seconds),
        }
        if label_selector:
            params["labelSelector"] = label_selector
        what = f"watch {res.group_kind} on cluster {self.name}"
        path = res.path(namespace if res.namespaced else None)
        # The server ends the watch after timeoutSeconds; silence well past that is a server
        # that hangs or a connection that died without a word: end it, the caller rewatches.
        idle = float(timeout_seconds) + WATCH_IDLE_MARGIN
        lines_of = self.stream_lines(path, what=what, params=params, idle_timeout=idle)
        self.open_watches[res.group_kind] += 1
        try:
            async with contextlib.aclosing(lines_of) as lines:
                async for line in lines:
                    if not line:
                        continue
                    try:
                        event = _decode(line)
                    except msgspec.DecodeError as exc:
                        raise errors.KubeError(f"{what}: invalid watch event") from exc
                    yield str(event.get("type") or ""), event.get("object") or {}
        finally:
            self.open_watches[res.group_kind] -= 1
            if self.open_watches[res.group_kind] <= 0:
                del self.open_watches[res.group_kind]

    async def stream_lines(
        self,
        path: str,
        *,
        what: str,
        params: Mapping[str, str] | None = None,
        idle_timeout: float | None = None,
    ) -> AsyncGenerator[str, None]:
        """The lines of a long-lived answer (a watch, a followed log) as they arrive. First an
        empty line once the status is known to be good (an error status is raised as
        :class:`KubeApiError` instead), so a caller can answer before the first real line.
        ``idle_timeout``: seconds without a byte after which the stream is unreachable (None:
        wait forever, for a followed log that may stay quiet)."""
        timeout = httpx.Timeout(
            self.config.timeout, connect=min(10.0, self.config.timeout), read=idle_timeout
        )
        req = self._watch_http.build_request(
            "GET", path, params=params, extensions=self._extensions, timeout=timeout
        )
        await self._bucket.acquire()
        try:
            resp = await self._watch_http.send(req, stream=True)
        except httpx.TransportError as exc:
            raise status.unreachable(
                cluster=self.name, server=self.config.server, what=what, cause=exc
            ) from exc
        try:
            if resp.status_code >= 400:
                body = await resp.aread()
                raise status.api_error(what=what, code=resp.status_code, body=body)
            yield ""
            async for line in resp.aiter_lines():
                yield line
        except httpx.TransportError as exc:
            raise status.unreachable(
                cluster=self.name, server=self.config.server, what=what, cause=exc
            ) from exc
        finally:
            await resp.aclose()


def _extensions_of(config: kube_config.ClusterConfig) -> dict[str, str]:
    """httpx request extensions: the TLS server name to send when it differs from the host."""
    return {"sni_hostname": config.server_name} if config.server_name else {}


def _ssl_and_auth(cfg: kube_config.ClusterConfig) -> dict[str, Any]:
    """TLS context and auth flow through lightkube's adapter (handles files, exec plugins)."""
    from lightkube.config import client_adapter, kubeconfig, models

    user = models.User(
        exec=(
            models.UserExec(
                apiVersion=cfg.exec_provider.api_version,
                command=cfg.exec_provider.command,
                args=list(cfg.exec_provider.args) or None,
                env=[models.NameValue(name=k, value=v) for k, v in cfg.exec_provider.env] or None,
            )
            if cfg.exec_provider
            else None
        ),
        username=cfg.username,
        password=cfg.password,
        token=cfg.bearer_token,
        token_file=cfg.token_file,
        client_cert_data=cfg.cert_data,
        client_key_data=cfg.key_data,
    )
    cluster = models.Cluster(
        server=cfg.server, certificate_auth_data=cfg.ca_data, insecure=cfg.insecure
    )
    single = kubeconfig.SingleConfig(
        context_name=cfg.name or "cluster",
        context=models.Context(cluster="cluster", user="user", namespace=cfg.namespace),
        cluster=cluster,
        user=user,
    )
    params = client_adapter.ConnectionParams(trust_env=False).httpx_params(single)
    return {"base_url": params["base_url"], "verify": params["verify"], "auth": params["auth"]}


def client_for(config: kube_config.ClusterConfig, *, bulk: bool = False) -> KubeClient:
    """A client with its own connection pools (requests, watches) for one cluster.

    ``bulk``: the client of a long-running process that sends many requests (a controller's
    clusters, the server's): its ordinary requests go through aiohttp, cheaper per request
    and dearer to import (:mod:`tidegate.kube.transport`). Otherwise through httpx2."""
    try:
        common = _ssl_and_auth(config)
    except (OSError, ValueError) as exc:
        raise errors.ConfigError(f"cluster {config.name or config.server}: {exc}") from exc
    keepalive = max(4, config.max_in_flight)
    timeout = httpx.Timeout(config.timeout, connect=min(10.0, config.timeout))
    http: transport.Transport
    if bulk:
        from tidegate.kube import bulk_transport  # aiohttp: ~80 ms of import, not for commands

        http = bulk_transport.BulkTransport(
            server=common["base_url"],
            ssl_context=common["verify"],
            auth=common["auth"],
            timeout=config.timeout,
            connections=keepalive,
            server_hostname=config.server_name,
        )
    else:
        limits = httpx.Limits(max_connections=keepalive, max_keepalive_connections=keepalive)
        http = transport.LightTransport(
            httpx.AsyncClient(**common, trust_env=False, timeout=timeout, limits=limits),
            extensions=_extensions_of(config),
        )
    watch_http = httpx.AsyncClient(
        **common,
        trust_env=False,
        timeout=httpx.Timeout(config.timeout, connect=min(10.0, config.timeout), read=None),
        limits=httpx.Limits(max_connections=None, max_keepalive_connections=8),
    )
    return KubeClient(config=config, http=http, watch_http=watch_http)
