"""A Helm repository's ``index.yaml``: read it, pick a chart version, find its archive. Pure.

The index maps chart names to their versions; each version lists the URLs of its archive,
absolute or relative to the repository URL. Reading is bounded by the caller (the size of the
download); here the YAML is parsed with the safe C loader and checked for shape, so a broken
index gives a message that names the repository and the cause.
"""

from __future__ import annotations

import dataclasses
import re
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


_ENTRIES = re.compile(rb"^entries:[ \t]*\r?$", re.MULTILINE)
# The next key at the indent of a chart name (or a top-level key) ends a chart's section; list
# items ("  - ...") may sit at that indent too, as ``helm repo index`` writes them.
_NEXT_KEY = re.compile(rb"^(?:  [^\s#-]|[^\s#])", re.MULTILINE)


@dataclasses.dataclass
class Index:
    """A repository index, parsed per chart on first use.

    Real indexes hold thousands of charts (megabytes of YAML) and an app needs one: for the
    block layout every index writer uses, only that chart's section is parsed (the
    ``entries:`` line, then ``  <name>:`` up to the next key of that indent); any other layout
    falls back to parsing the whole document once.
    """

    raw: bytes
    repo: str
    _charts: dict[str, dict[str, ChartVersion]] = dataclasses.field(default_factory=dict)
    _full: dict[str, dict[str, ChartVersion]] | None = None

    def chart(self, name: str) -> dict[str, ChartVersion] | None:
        """The versions of chart ``name`` (as written), or None if the index has none."""
        if name in self._charts:
            return self._charts[name]
        found = self._section(name)
        if found is None:
            found = self._parse_all().get(name)
        if found is not None:
            self._charts[name] = found
        return found

    def versions(self, chart: str) -> list[str]:
        return list(self.chart(chart) or {})

    def _section(self, name: str) -> dict[str, ChartVersion] | None:
        entries = _ENTRIES.search(self.raw)
        if entries is None:
            return None
        quoted = re.escape(name.encode())
        key = re.compile(rb"^  (?:" + quoted + rb'|"' + quoted + rb'"):[ \t]*\r?$', re.MULTILINE)
        found = key.search(self.raw, entries.end())
        if found is None:
            return None
        after = _NEXT_KEY.search(self.raw, found.end())
        section = b"entries:\n" + self.raw[found.start() : after.start() if after else None]
        try:
            return _entries(_load(section, self.repo)).get(name)
        except errors.SourceError:
            return None  # an unusual layout: the whole document decides

    def _parse_all(self) -> dict[str, dict[str, ChartVersion]]:
        if self._full is None:
            self._full = _entries(_load(self.raw, self.repo))
        return self._full


def _load(text: bytes, repo: str) -> dict[str, Any]:
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
    return raw


def _entries(raw: dict[str, Any]) -> dict[str, dict[str, ChartVersion]]:
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
    return entries


def parse_index(text: bytes, *, repo: str) -> Index:
    """An index to read charts from; a SourceError names ``repo`` when ``text`` is not a Helm
    repository index (checked cheaply: the whole document is parsed only if needed)."""
    index = Index(text, repo)
    if _ENTRIES.search(text) is None:
        index._parse_all()  # raises the precise error (not YAML, or no entries)
    return index


def select(index: Index, chart: str, wanted: str, *, repo: str) -> ChartVersion:
    """The version of ``chart`` that ``wanted`` (exact or a constraint) names."""
    entries = index.chart(chart)
    if entries is None:
        raise errors.SourceError(f"Helm repository {repo}: no chart named {chart!r}")
    versions = list(entries)
    chosen = semver.best(versions, wanted)
    if chosen is None:
        shown = ", ".join(sorted(versions, key=_sort_key, reverse=True)[:10]) or "none"
        raise errors.SourceError(
            f"Helm repository {repo}: chart {chart!r} has no version matching {wanted!r} "
            f"(newest: {shown})"
        )
    return entries[chosen]


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
