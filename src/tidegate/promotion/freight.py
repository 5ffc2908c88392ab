"""Freight: the immutable set of artifact versions a Warehouse found (pure).

The name is Kargo's: the SHA-1 (hex) of ``"<Kind>/<name>:"`` (the origin) followed by the
sorted canonical forms of the artifacts joined by ``|`` -- ``repoURL:id`` for a commit
(``repoURL:tag:id`` when it was found by tag), ``repoURL:digest`` for an image and
``repoURL/name:version`` for a chart -- so that the same artifacts always make the same Freight,
in any order and on any controller. The alias is a readable ``adjective-animal`` derived from
the name, stored as label ``kargo.akuity.io/alias``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tidegate.promotion.crds import API_VERSION

ALIAS_LABEL = "kargo.akuity.io/alias"

_ADJECTIVES = (
    "amber", "brave", "calm", "dapper", "eager", "fuzzy", "gentle", "hardy", "icy", "jolly",
    "keen", "lucky", "mellow", "nimble", "olive", "plucky", "quiet", "rapid", "sunny", "tidy",
    "upbeat", "vivid", "witty", "young", "zesty", "bold", "crisp", "dusky", "fancy", "glad",
)  # fmt: skip
_ANIMALS = (
    "aardvark", "badger", "crane", "dingo", "egret", "ferret", "gecko", "heron", "ibis", "jackal",
    "koala", "lemur", "marten", "newt", "otter", "puffin", "quail", "raven", "stoat", "tapir",
    "urchin", "vole", "walrus", "yak", "zebra", "bison", "camel", "dormouse", "eland", "finch",
)  # fmt: skip


@dataclass(frozen=True)
class Commit:
    repo_url: str
    id: str
    branch: str = ""
    tag: str = ""
    message: str = ""
    author: str = ""

    def canonical(self) -> str:
        url = normalize_git_url(self.repo_url)
        return f"{url}:{self.tag}:{self.id}" if self.tag else f"{url}:{self.id}"

    def to_obj(self) -> dict[str, Any]:
        obj = {"repoURL": self.repo_url, "id": self.id}
        for key, value in (("branch", self.branch), ("tag", self.tag), ("message", self.message),
                           ("author", self.author)):  # fmt: skip
            if value:
                obj[key] = value
        return obj


@dataclass(frozen=True)
class Image:
    repo_url: str
    tag: str
    digest: str
    annotations: Mapping[str, str] = field(default_factory=dict)

    def canonical(self) -> str:
        return f"{self.repo_url}:{self.digest}"

    def to_obj(self) -> dict[str, Any]:
        obj: dict[str, Any] = {"repoURL": self.repo_url, "tag": self.tag, "digest": self.digest}
        if self.annotations:
            obj["annotations"] = dict(self.annotations)
        return obj


@dataclass(frozen=True)
class Chart:
    repo_url: str
    name: str
    version: str

    def canonical(self) -> str:
        base = self.repo_url.rstrip("/")
        return f"{base}/{self.name}:{self.version}" if self.name else f"{base}:{self.version}"

    def to_obj(self) -> dict[str, Any]:
        obj = {"repoURL": self.repo_url, "version": self.version}
        if self.name:
            obj["name"] = self.name
        return obj


Artifact = Commit | Image | Chart


def normalize_git_url(url: str) -> str:
    """Lower-case, no trailing ``/`` or ``.git``: one repository, one spelling."""
    url = url.strip().lower().rstrip("/")
    return url.removesuffix(".git")


def name(origin_kind: str, origin_name: str, artifacts: Sequence[Artifact]) -> str:
    parts = sorted(a.canonical() for a in artifacts)
    text = f"{origin_kind}/{origin_name}:" + "|".join(parts)
    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()


def alias(freight_name: str) -> str:
    """A readable alias derived from the name (stable: the same Freight, the same alias)."""
    value = int(freight_name[:12], 16)
    adjective = _ADJECTIVES[value % len(_ADJECTIVES)]
    animal = _ANIMALS[(value // len(_ADJECTIVES)) % len(_ANIMALS)]
    return f"{adjective}-{animal}"


def manifest(
    *, namespace: str, warehouse: str, artifacts: Sequence[Artifact], taken: Collection[str] = ()
) -> dict[str, Any]:
    """The Freight object for ``artifacts`` found by ``warehouse`` (owned by nobody: Freight
    outlives a deleted Warehouse, as in Kargo). ``taken`` aliases get a numeric suffix."""
    fname = name("Warehouse", warehouse, artifacts)
    base = alias(fname)
    chosen, n = base, 2
    while chosen in taken:
        chosen, n = f"{base}-{n}", n + 1
    obj: dict[str, Any] = {
        "apiVersion": API_VERSION,
        "kind": "Freight",
        "metadata": {"name": fname, "namespace": namespace, "labels": {ALIAS_LABEL: chosen}},
        "alias": chosen,
        "origin": {"kind": "Warehouse", "name": warehouse},
    }
    for key, kind in (("commits", Commit), ("images", Image), ("charts", Chart)):
        items = [a.to_obj() for a in artifacts if isinstance(a, kind)]
        if items:
            obj[key] = items
    return obj


def images_of(freight: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [i for i in freight.get("images") or () if isinstance(i, dict)]


def commits_of(freight: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [c for c in freight.get("commits") or () if isinstance(c, dict)]


def charts_of(freight: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [c for c in freight.get("charts") or () if isinstance(c, dict)]
