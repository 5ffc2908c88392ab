"""ResourceKey: the one identity of a Kubernetes object everywhere in Tidegate."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple


class ResourceKey(NamedTuple):
    group: str
    kind: str
    namespace: str
    name: str

    @classmethod
    def of(cls, obj: Mapping[str, Any]) -> ResourceKey:
        """The key of a raw object (``apiVersion`` ``group/version`` or core ``version``)."""
        api_version = str(obj.get("apiVersion", ""))
        group = api_version.rpartition("/")[0]
        meta = obj.get("metadata") or {}
        return cls(
            group,
            str(obj.get("kind", "")),
            str(meta.get("namespace") or ""),
            str(meta.get("name") or ""),
        )

    def __str__(self) -> str:
        gk = f"{self.kind}.{self.group}" if self.group else self.kind
        return f"{gk} {self.namespace}/{self.name}" if self.namespace else f"{gk} {self.name}"
