"""API discovery: which kinds a cluster serves, under which plural, version and scope.

Aggregated discovery (``apidiscovery.k8s.io/v2``, two requests) is asked for first; servers that
answer with the legacy documents get the per-group-version walk. The result is cached until
:meth:`Discovery.invalidate` (CRD created or deleted) or a lookup misses.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

from tidegate.model import errors

AGGREGATED_ACCEPT = (
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
    "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,"
    "application/json"
)

# fetch(path, accept) -> decoded JSON document
Fetch = Callable[[str, str], Awaitable[Mapping[str, Any]]]


@dataclasses.dataclass(frozen=True, slots=True)
class APIResource:
    """One served resource of one group-version."""

    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool
    verbs: frozenset[str]

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_kind(self) -> str:
        return f"{self.kind}.{self.group}" if self.group else self.kind

    def path(self, namespace: str | None = None, name: str | None = None) -> str:
        """The URL path of the collection (or of one object when ``name`` is given)."""
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced and namespace:
            base = f"{base}/namespaces/{namespace}"
        base = f"{base}/{self.plural}"
        return f"{base}/{name}" if name else base


@dataclasses.dataclass(frozen=True)
class APIIndex:
    """All served resources; ``preferred`` holds the preferred version of each (group, kind)."""

    resources: tuple[APIResource, ...]
    by_gvk: Mapping[tuple[str, str, str], APIResource]
    preferred: Mapping[tuple[str, str], APIResource]

    @classmethod
    def build(cls, resources: Iterable[APIResource]) -> APIIndex:
        """Index resources given in preference order (preferred versions first per group)."""
        by_gvk: dict[tuple[str, str, str], APIResource] = {}
        preferred: dict[tuple[str, str], APIResource] = {}
        listed = tuple(resources)
        for res in listed:
            by_gvk.setdefault((res.group, res.version, res.kind), res)
            preferred.setdefault((res.group, res.kind), res)
        return cls(listed, by_gvk, preferred)

    def find(self, group: str, kind: str, version: str | None = None) -> APIResource | None:
        if version:
            return self.by_gvk.get((group, version, kind))
        return self.preferred.get((group, kind))


def parse_aggregated(doc: Mapping[str, Any]) -> list[APIResource]:
    """Resources of an ``APIGroupDiscoveryList`` (versions are listed in preference order)."""
    out: list[APIResource] = []
    for group_doc in doc.get("items") or ():
        group = str((group_doc.get("metadata") or {}).get("name") or "")
        for version_doc in group_doc.get("versions") or ():
            version = str(version_doc.get("version") or "")
            for res in version_doc.get("resources") or ():
                kind_doc = res.get("responseKind") or {}
                kind = str(kind_doc.get("kind") or "")
                if not kind or not res.get("resource"):
                    continue
                out.append(
                    APIResource(
                        group=group,
                        version=version,
                        kind=kind,
                        plural=str(res["resource"]),
                        namespaced=res.get("scope") == "Namespaced",
                        verbs=frozenset(res.get("verbs") or ()),
                    )
                )
    return out


def parse_resource_list(doc: Mapping[str, Any]) -> list[APIResource]:
    """Resources of a legacy ``APIResourceList`` (``/api/v1``, ``/apis/<group>/<version>``)."""
    group, _, version = str(doc.get("groupVersion") or "").rpartition("/")
    out: list[APIResource] = []
    for res in doc.get("resources") or ():
        name = str(res.get("name") or "")
        if not name or "/" in name:  # subresources (status, scale...)
            continue
        out.append(
            APIResource(
                group=group,
                version=version,
                kind=str(res.get("kind") or ""),
                plural=name,
                namespaced=bool(res.get("namespaced")),
                verbs=frozenset(res.get("verbs") or ()),
            )
        )
    return out


def legacy_group_versions(core: Mapping[str, Any], groups: Mapping[str, Any]) -> list[str]:
    """Paths of every group-version, preferred version first within each group."""
    paths = [f"/api/{v}" for v in core.get("versions") or ()]
    for group in groups.get("groups") or ():
        preferred = (group.get("preferredVersion") or {}).get("groupVersion")
        versions = [str(v.get("groupVersion")) for v in group.get("versions") or ()]
        versions.sort(key=lambda gv: gv != preferred)
        paths.extend(f"/apis/{gv}" for gv in versions)
    return paths


class Discovery:
    """Cached discovery for one cluster. Concurrent lookups share one refresh."""

    def __init__(
        self,
        *,
        fetch: Fetch,
        cluster: str,
        min_refresh_interval: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._cluster = cluster
        self._min_interval = min_refresh_interval
        self._clock = clock
        self._index: APIIndex | None = None
        self._stale = True
        self._refreshed_at = float("-inf")
        self._lock = asyncio.Lock()
        self.refresh_count = 0

    def invalidate(self) -> None:
        """Forget the cached index (call when a CRD or an APIService is created or deleted)."""
        self._stale = True

    async def index(self) -> APIIndex:
        if self._index is None or self._stale:
            await self.refresh()
        assert self._index is not None
        return self._index

    async def refresh(self) -> APIIndex:
        started = self._clock()
        async with self._lock:
            if self._index is not None and not self._stale and self._refreshed_at >= started:
                return self._index  # another task refreshed while we waited
            self._stale = False
            try:
                resources = await self._load()
            except BaseException:
                self._stale = True
                raise
            self._index = APIIndex.build(resources)
            self._refreshed_at = self._clock()
            self.refresh_count += 1
            return self._index

    async def _load(self) -> list[APIResource]:
        core = await self._fetch("/api", AGGREGATED_ACCEPT)
        groups = await self._fetch("/apis", AGGREGATED_ACCEPT)
        if core.get("kind") == "APIGroupDiscoveryList" and groups.get("kind") == (
            "APIGroupDiscoveryList"
        ):
            return parse_aggregated(core) + parse_aggregated(groups)
        docs = await asyncio.gather(
            *(self._fetch(path, "application/json") for path in legacy_group_versions(core, groups))
        )
        return [res for doc in docs for res in parse_resource_list(doc)]

    async def lookup(self, group: str, kind: str, version: str | None = None) -> APIResource:
        """The resource serving ``kind`` in ``group`` (and ``version`` if given).

        A miss refreshes discovery once (unless it was refreshed moments ago); a miss after
        that raises :class:`UnknownKindError` naming the kind.
        """
        index = await self.index()
        found = index.find(group, kind, version)
        if found is None and self._clock() - self._refreshed_at >= self._min_interval:
            self._stale = True
            index = await self.index()
            found = index.find(group, kind, version)
        if found is None:
            gv = f"{group}/{version}" if group and version else (group or version or "v1")
            raise errors.UnknownKindError(
                f"cluster {self._cluster} does not serve kind {kind!r} in API {gv!r}: "
                f"is the CustomResourceDefinition for {kind}"
                f"{'.' + group if group else ''} installed?"
            )
        return found

    async def watchable(self) -> list[APIResource]:
        """Preferred versions of all resources that support list and watch."""
        index = await self.index()
        return [r for r in index.preferred.values() if {"list", "watch"} <= r.verbs]
