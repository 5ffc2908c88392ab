"""An app's pods and their log lines, as ``argocd app logs`` and the API's logs endpoints read
them: the pods that the app's resources own (``ownerReferences`` walked up, Pod -> ReplicaSet
-> Deployment), narrowed to the resources named by group / kind / name / namespace, and each
line of their containers' logs kept or dropped by argocd's ``filter`` (a substring; ``!``
negates it; case-insensitive unless ``match_case``) and ``untilTime``.

Shared by the CLI's direct mode and the API server (``/api/v1/applications/{name}/logs`` and
``.../pods/{pod}/logs``), so both pick the same pods and the same lines. The selection and the
filters are pure; reading pods and logs goes through the destination's kube client.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import AsyncGenerator, Collection, Iterable, Mapping
from typing import Any

from tidegate.kube import client as kube_client
from tidegate.model import errors
from tidegate.model.keys import ResourceKey

Obj = dict[str, Any]
OWNER_DEPTH = 5  # Pod -> ReplicaSet -> Deployment / Rollout, Pod -> Job -> CronJob, with room


@dataclasses.dataclass(frozen=True)
class Selector:
    """argocd's ``--group --kind --name --namespace`` of ``app logs`` (empty: any)."""

    group: str | None = None
    kind: str | None = None
    name: str | None = None
    namespace: str | None = None

    def picks(self, key: ResourceKey) -> bool:
        return (
            (self.group is None or self.group == key.group)
            and (not self.kind or self.kind == key.kind)
            and (not self.name or self.name == key.name)
            and (not self.namespace or self.namespace == key.namespace)
        )


def selected(status_resources: Iterable[Mapping[str, Any]], sel: Selector) -> set[ResourceKey]:
    """The keys of the app's resources (``status.resources``) that ``sel`` picks. Pure."""
    out = set()
    for res in status_resources:
        key = ResourceKey(str(res.get("group") or ""), str(res.get("kind") or ""),
                          str(res.get("namespace") or ""), str(res.get("name") or ""))  # fmt: skip
        if sel.picks(key):
            out.add(key)
    return out


def _owner_key(owner: Mapping[str, Any], namespace: str) -> ResourceKey:
    group = str(owner.get("apiVersion") or "").rpartition("/")[0]
    return ResourceKey(group, str(owner.get("kind") or ""), namespace, str(owner.get("name")))


async def owning(
    client: kube_client.KubeClient, obj: Obj, wanted: Collection[ResourceKey]
) -> ResourceKey | None:
    """The key of ``wanted`` that ``obj`` is, or that owns it through its controller owner
    chain (at most :data:`OWNER_DEPTH` GETs); None when the chain leaves ``wanted``."""
    namespace = str((obj.get("metadata") or {}).get("namespace") or "")
    current = obj
    for _ in range(OWNER_DEPTH):
        if ResourceKey.of(current) in wanted:
            return ResourceKey.of(current)
        owners = [o for o in (current.get("metadata") or {}).get("ownerReferences") or [] if o]
        owner = next((o for o in owners if o.get("controller")), owners[0] if owners else None)
        if owner is None:
            return None
        key = _owner_key(owner, namespace)
        if key in wanted:
            return key
        try:
            found = await client.get_or_none(key)
        except errors.UnknownKindError:
            return None
        if found is None:
            return None
        current = found
    return None


async def pods_of(client: kube_client.KubeClient, wanted: Collection[ResourceKey]) -> list[Obj]:
    """The pods of the namespaces of ``wanted`` that ``wanted`` owns, sorted by namespace and
    name."""
    res = await client.resource("", "Pod", "v1")
    pods: list[Obj] = []
    for namespace in sorted({k.namespace for k in wanted if k.namespace}):
        for pod in (await client.list(res, namespace=namespace)).items:
            pod.setdefault("apiVersion", "v1")
            pod.setdefault("kind", "Pod")
            if await owning(client, pod, wanted) is not None:
                pods.append(pod)
    return sorted(pods, key=lambda p: (p["metadata"].get("namespace"), p["metadata"]["name"]))


def default_container(pod: Mapping[str, Any]) -> str:
    """kubectl's choice: the ``kubectl.kubernetes.io/default-container`` annotation, else the
    first container."""
    meta = pod.get("metadata") or {}
    chosen = (meta.get("annotations") or {}).get("kubectl.kubernetes.io/default-container")
    containers = (pod.get("spec") or {}).get("containers") or [{}]
    return str(chosen or containers[0].get("name") or "")


def keeps(content: str, text: str, *, match_case: bool) -> bool:
    """argocd's log filter: lines containing ``text`` (``!text``: not containing it). Pure."""
    if not text:
        return True
    negate = text.startswith("!")
    wanted = text[1:] if negate else text
    line, needle = (content, wanted) if match_case else (content.lower(), wanted.lower())
    return (needle in line) != negate


def parse_time(text: str) -> dt.datetime:
    """An RFC 3339 time (``untilTime``); ConfigError naming it otherwise."""
    try:
        found = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise errors.ConfigError(f"until-time {text!r} is not an RFC 3339 time") from None
    return found if found.tzinfo else found.replace(tzinfo=dt.UTC)


def after(stamp: str, until: dt.datetime | None) -> bool:
    """Whether a line stamped ``stamp`` (the API server's RFC 3339 nano) is past ``until``."""
    if until is None or not stamp:
        return False
    head, dot, frac = stamp.rstrip("Z").partition(".")
    try:
        when = dt.datetime.fromisoformat(head + (dot + frac[:6] if dot else "")).replace(
            tzinfo=dt.UTC
        )
    except ValueError:
        return False
    return when > until


@dataclasses.dataclass(frozen=True)
class LogQuery:
    container: str = ""
    follow: bool = False
    tail: int | None = None
    since_seconds: int | None = None
    previous: bool = False

    def params(self, pod: Mapping[str, Any]) -> dict[str, str]:
        params = {
            "timestamps": "true",
            "follow": "true" if self.follow else "false",
            "container": self.container or default_container(pod),
        }
        if self.tail is not None and self.tail >= 0:
            params["tailLines"] = str(self.tail)
        if self.since_seconds is not None and self.since_seconds > 0:
            params["sinceSeconds"] = str(self.since_seconds)
        if self.previous:
            params["previous"] = "true"
        return params


async def lines(
    client: kube_client.KubeClient, pod: Mapping[str, Any], query: LogQuery
) -> AsyncGenerator[tuple[str, str], None]:
    """(timestamp, content) of each line of the pod's container log, as the API server sends
    them (an error status is raised as a KubeError naming the pod)."""
    meta = pod.get("metadata") or {}
    ns, name = str(meta.get("namespace") or ""), str(meta.get("name") or "")
    stream = client.stream_lines(
        f"/api/v1/namespaces/{ns}/pods/{name}/log",
        what=f"logs of pod {ns}/{name}",
        params=query.params(pod),
    )
    try:
        async for line in stream:
            if line:
                stamp, _, content = line.partition(" ")
                yield stamp, content
    finally:
        await stream.aclose()
