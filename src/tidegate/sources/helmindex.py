"""A Helm repository's ``index.yaml``: read it, pick a chart version, find its archive. Pure.

The index maps chart names to their versions; each version lists the URLs of its archive,
absolute or relative to the repository URL. Reading is bounded by the caller (the size of the
download); here the YAML is parsed with the safe C loader and checked for shape, so a broken
index gives a message that names the repository and the cause.
"""

from __future__ import annotations

import dataclasses
import urllib.parse
from typing import Any

import yaml

from tidegate.model import errors
from tidegate.sources import semver

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclasses.dataclass(frozen=True)
class ChartVersion:
    name: str
    version: str
    urls: tuple[str, ...]
    digest: str = ""


@dataclasses.dataclass(frozen=True)
class Index:
    """Chart name -> versions as written in the index (strings)."""

    entries: dict[str, dict[str, ChartVersion]]

    def versions(self, chart: str) -> list[str]:
        return list(self.entries.get(chart, {}))


def parse_index(text: bytes, *, repo: str) -> Index:
    """Parse an index; a RepoError names ``repo`` when it is not a Helm repository index."""
    try:
        raw = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        raise errors.SourceError(
            f"Helm repository {repo}: index.yaml is not valid YAML: {exc}"
        ) from exc
    if not isinstance(raw, dict) or not isinstance(raw.get("entries"), dict):
        raise errors.SourceError(
            f"Helm repository {repo}: index.yaml has no 'entries' map (is it a Helm repository?)"
        )
    entries: dict[str, dict[str, ChartVersion]] = {}
    for name, versions in raw["entries"].items():
        if not isinstance(versions, list):
            continue
        by_version: dict[str, ChartVersion] = {}
        for item in versions:
            if not isinstance(item, dict) or item.get("version") is None:
                continue
            found = item.get("urls") or []
            by_version[str(item["version"])] = ChartVersion(
                name=str(name),
                version=str(item["version"]),
                urls=tuple(str(u) for u in found if isinstance(u, str)),
                digest=str(item.get("digest") or ""),
            )
        entries[str(name)] = by_version
    return Index(entries)


def select(index: Index, chart: str, wanted: str, *, repo: str) -> ChartVersion:
    """The version of ``chart`` that ``wanted`` (exact or a constraint) names."""
    if chart not in index.entries:
        raise errors.SourceError(f"Helm repository {repo}: no chart named {chart!r}")
    versions = index.versions(chart)
    chosen = semver.best(versions, wanted)
    if chosen is None:
        shown = ", ".join(sorted(versions, key=_sort_key, reverse=True)[:10]) or "none"
        raise errors.SourceError(
            f"Helm repository {repo}: chart {chart!r} has no version matching {wanted!r} "
            f"(newest: {shown})"
        )
    return index.entries[chart][chosen]


def _sort_key(text: str) -> tuple[int, semver.Version]:
    parsed = semver.parse_version(text)
    return (1, parsed) if parsed is not None else (0, semver.Version(0, 0, 0))


def archive_url(repo_url: str, chart: ChartVersion) -> str:
    """The archive's absolute URL (relative URLs are resolved against the repository)."""
    if not chart.urls:
        raise errors.SourceError(f"chart {chart.name} {chart.version}: the index lists no URL")
    base = repo_url.rstrip("/") + "/"
    return urllib.parse.urljoin(base, chart.urls[0])


def same_host(a: str, b: str) -> bool:
    """Whether two URLs share scheme, host and port (where credentials may be sent)."""
    pa, pb = urllib.parse.urlsplit(a), urllib.parse.urlsplit(b)
    return (pa.scheme, pa.hostname, pa.port) == (pb.scheme, pb.hostname, pb.port)
