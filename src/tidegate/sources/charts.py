"""Helm charts from chart repositories and OCI registries, fetched once and kept on disk.

:class:`ChartCache` answers "which tree holds chart C at version (or range) V of repository R":

- a Helm repository (``https://host/path``): its ``index.yaml`` is downloaded (bounded by
  ``max_index_bytes``) and kept in memory; it is downloaded again when older than ``max_age``
  (the controller passes its resync period, or 0 for a hard refresh). The version is picked
  with Helm's constraint syntax (:mod:`tidegate.sources.semver`), the archive downloaded
  (bounded, digest checked when the index has one) with the repository's credentials only if
  it lives on the repository's host, or when ``passCredentials`` is set;
- an OCI registry (``oci://host/path`` with ``chart``, or ``host/path`` registered with
  ``enableOCI``): tags are listed for a range, the manifest must be a Helm chart
  (:mod:`tidegate.sources.oci`);
- an OCI source (``oci://host/path/artifact`` without ``chart``, Argo CD's OCI manifests): one
  layer of an accepted media type, unpacked; a Helm chart layer is unpacked to its chart.

Archives are unpacked by :mod:`tidegate.sources.archive` (no links, no escaping paths, bounded).
A chart whose ``Chart.yaml`` declares dependencies not vendored in ``charts/`` gets ``helm
dependency build`` once per version (:mod:`tidegate.sources.chartdeps`: a scratch Helm home
whose ``repositories.yaml`` and registry config hold the registered repositories' credentials,
never argv). Unpacked trees are keyed by content digest:
the same version is never downloaded twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import os
import re
import shutil
import ssl
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

from tidegate.model import errors
from tidegate.sources import archive, chartdeps, helmindex, oci, semver, urls
from tidegate.sources import credentials as creds_mod


@dataclasses.dataclass(frozen=True)
class ChartLimits:
    max_index_bytes: int = 32 * 1024 * 1024
    max_archive_bytes: int = 64 * 1024 * 1024
    unpacked: archive.ArchiveLimits = dataclasses.field(default_factory=archive.ArchiveLimits)
    timeout_seconds: float = 60.0
    dependency_timeout_seconds: float = 120.0


@dataclasses.dataclass(frozen=True, repr=False)
class ChartRequest:
    """What a source asks for. ``chart`` empty: an OCI source (the artifact at ``repo_url``)."""

    repo_url: str
    chart: str
    revision: str
    creds: creds_mod.RepoCredentials | None = None
    pass_credentials: bool = False

    def __repr__(self) -> str:
        return f"ChartRequest({urls.display(self.repo_url)!r}, {self.chart!r}, {self.revision!r})"

    @property
    def oci(self) -> bool:
        return self.repo_url.startswith("oci://") or bool(self.creds and self.creds.enable_oci)

    @property
    def shown(self) -> str:
        where = urls.display(self.repo_url)
        return f"chart {self.chart!r} of {where}" if self.chart else f"OCI artifact {where}"


@dataclasses.dataclass(frozen=True)
class FetchedChart:
    """``root`` is the unpacked tree, ``path`` the chart (or source) directory inside it."""

    root: Path
    path: str
    version: str
    digest: str

    @property
    def revision(self) -> str:
        """What the app's status reports as the revision: the chart version, as Argo CD."""
        return self.version


HelmRepo = chartdeps.HelmRepo


@dataclasses.dataclass
class _IndexEntry:
    started: float
    index: helmindex.Index


class ChartCache:
    """Charts unpacked under ``root``; indexes in memory. See the module docstring."""

    def __init__(
        self, root: Path, *, max_age: float = 180.0, limits: ChartLimits = ChartLimits()
    ) -> None:
        self.root = root
        self.max_age = max_age
        self.limits = limits
        self._indexes: dict[str, _IndexEntry] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self.index_fetches = 0
        self.downloads = 0

    @classmethod
    def default(cls) -> ChartCache:
        import platformdirs

        return cls(Path(platformdirs.user_cache_dir("tidegate")) / "charts")

    def _lock(self, key: str) -> asyncio.Lock:
        return self._locks.setdefault(key, asyncio.Lock())

    async def fetch(
        self,
        req: ChartRequest,
        *,
        max_age: float | None = None,
        helm: Sequence[str] | None = None,
        registered: Sequence[HelmRepo] = (),
    ) -> FetchedChart:
        """The unpacked chart for ``req`` (dependencies built with ``helm`` if needed)."""
        if req.oci:
            return await self._fetch_oci(req, max_age=max_age, helm=helm, registered=registered)
        if not req.chart:
            raise errors.SpecError(
                f"{urls.display(req.repo_url)}: a Helm repository source needs 'chart'"
            )
        index = await self.index(req.repo_url, req.creds, max_age=max_age)
        shown = urls.display(req.repo_url)
        version = await asyncio.to_thread(
            helmindex.select, index, req.chart, req.revision, repo=shown
        )
        url = helmindex.archive_url(req.repo_url, version)
        key = version.digest or hashlib.sha256(f"{url}\n{version.version}".encode()).hexdigest()
        final = self._dir(req.repo_url, req.chart, version.version, key)
        if final.is_dir():
            return FetchedChart(final, req.chart, version.version, key)
        async with self._lock(str(final)):
            if not final.is_dir():
                send = helmindex.same_host(req.repo_url, url) or req.pass_credentials
                what = f"{req.shown}, version {version.version}"
                with tempfile.TemporaryDirectory(prefix="tidegate-chart-") as temp:
                    tgz = Path(temp) / "chart.tgz"
                    await self._download(url, tgz, req.creds if send else None, what=what)
                    if version.digest:
                        actual = await asyncio.to_thread(_sha256, tgz)
                        if actual != version.digest.removeprefix("sha256:"):
                            raise errors.SourceError(
                                f"{what}: archive digest {actual} differs from the index's"
                            )
                    await self._unpack(tgz, final, req.chart, what, helm, registered)
        return FetchedChart(final, req.chart, version.version, key)

    # -- Helm repositories ----------------------------------------------------------------

    async def index(
        self, repo_url: str, creds: creds_mod.RepoCredentials | None, *, max_age: float | None
    ) -> helmindex.Index:
        """The repository's index, downloaded again if it was fetched over ``max_age`` ago."""
        # Keyed by the credentials too: a caller without them must not read a cached index.
        key = f"{urls.normalise(repo_url)} {_fingerprint(creds)}"
        oldest = time.monotonic() - (self.max_age if max_age is None else max_age)
        asked = time.monotonic()
        async with self._lock("index " + key):
            entry = self._indexes.get(key)
            if entry is not None and (entry.started >= oldest or entry.started >= asked):
                return entry.index
            started = time.monotonic()
            url = repo_url.rstrip("/") + "/index.yaml"
            shown = urls.display(repo_url)
            body = await self._get_bytes(
                url, creds, limit=self.limits.max_index_bytes, what=f"Helm repository {shown}"
            )
            self.index_fetches += 1
            index = await asyncio.to_thread(helmindex.parse_index, body, repo=shown)
            self._indexes[key] = _IndexEntry(started, index)
            return index

    async def _get_bytes(
        self, url: str, creds: creds_mod.RepoCredentials | None, *, limit: int, what: str
    ) -> bytes:
        data = bytearray()
        async with self._stream(url, creds, what=what) as response:
            declared = int(response.headers.get("Content-Length") or 0)
            if declared > limit:
                raise errors.SourceError(
                    f"{what}: index.yaml is {declared} bytes, "
                    f"larger than the limit of {limit} bytes"
                )
            async for block in response.aiter_bytes():
                data += block
                if len(data) > limit:
                    raise errors.SourceError(
                        f"{what}: index.yaml is larger than the limit of {limit} bytes"
                    )
        return bytes(data)

    async def _download(
        self, url: str, dest: Path, creds: creds_mod.RepoCredentials | None, *, what: str
    ) -> None:
        limit = self.limits.max_archive_bytes
        written = 0
        async with self._stream(url, creds, what=what) as response:
            with dest.open("wb") as sink:
                async for block in response.aiter_bytes():
                    written += len(block)
                    if written > limit:
                        raise errors.SourceError(f"{what}: archive larger than {limit} bytes")
                    sink.write(block)
        self.downloads += 1

    @contextlib.asynccontextmanager
    async def _stream(self, url: str, creds: creds_mod.RepoCredentials | None, *, what: str) -> Any:
        auth = httpx.BasicAuth(creds.username, creds.password) if creds and creds.username else None
        try:
            async with (
                _client(creds, self.limits.timeout_seconds) as client,
                client.stream("GET", url, auth=auth) as response,
            ):
                _raise_for_status(response, what=what, url=url, had_creds=auth is not None)
                yield response
        except httpx.TimeoutException as exc:
            raise errors.RepoUnreachableError(
                f"{what}: no answer within {self.limits.timeout_seconds:.0f}s"
            ) from exc
        except (httpx.HTTPError, ssl.SSLError) as exc:  # TLS 1.3 alerts surface as SSLError
            raise errors.RepoUnreachableError(f"{what}: {type(exc).__name__}: {exc}") from exc

    # -- OCI --------------------------------------------------------------------------------

    async def check_registry(self, url: str, creds: creds_mod.RepoCredentials | None) -> None:
        """The registry of ``url`` answers ``GET /v2/`` with these credentials."""
        ref = oci.parse_reference(url, plain_http=bool(creds and creds.oci_plain_http))
        try:
            async with _client(creds, self.limits.timeout_seconds) as http:
                client = oci.Client(
                    http,
                    username=creds.username if creds else "",
                    password=creds.password if creds else "",
                )
                await client.ping(ref)
        except (httpx.HTTPError, ssl.SSLError) as exc:  # TLS 1.3 alerts surface as SSLError
            raise errors.RepoUnreachableError(f"{ref}: {type(exc).__name__}: {exc}") from exc

    async def _fetch_oci(
        self,
        req: ChartRequest,
        *,
        max_age: float | None,
        helm: Sequence[str] | None,
        registered: Sequence[HelmRepo],
    ) -> FetchedChart:
        creds = req.creds
        plain = bool(creds and creds.oci_plain_http)
        base = oci.parse_reference(req.repo_url, plain_http=plain)
        ref = (
            dataclasses.replace(base, repository=f"{base.repository}/{req.chart.lower()}")
            if req.chart
            else base
        )
        async with _client(creds, self.limits.timeout_seconds) as http:
            client = oci.Client(
                http,
                username=creds.username if creds else "",
                password=creds.password if creds else "",
            )
            try:
                tag = await self._oci_tag(client, ref, req.revision, max_age=max_age)
                artifact = await client.manifest(ref, tag)
                layer = _pick_layer(artifact, ref, chart=bool(req.chart))
                final = self._dir(str(ref), "", tag, artifact.digest)
                if final.is_dir():
                    return self._oci_result(final, req, tag, artifact.digest)
                async with self._lock(str(final)):
                    if not final.is_dir():
                        with tempfile.TemporaryDirectory(prefix="tidegate-oci-") as temp:
                            tgz = Path(temp) / "layer.tgz"
                            limit = self.limits.max_archive_bytes
                            await client.blob(ref, layer, tgz, limit=limit)
                            self.downloads += 1
                            helm_layer = layer.get("mediaType") == oci.HELM_LAYER
                            what = f"{ref}:{tag}"
                            await self._unpack(
                                tgz, final, "" if not helm_layer else "*", what, helm, registered
                            )
            except httpx.TimeoutException as exc:
                raise errors.RepoUnreachableError(f"{ref}: the registry did not answer") from exc
            except (httpx.HTTPError, ssl.SSLError) as exc:  # TLS 1.3 alerts surface as SSLError
                raise errors.RepoUnreachableError(f"{ref}: {type(exc).__name__}: {exc}") from exc
        return self._oci_result(final, req, tag, artifact.digest)

    def _oci_result(self, final: Path, req: ChartRequest, tag: str, digest: str) -> FetchedChart:
        charts = [p.name for p in final.iterdir() if (p / "Chart.yaml").is_file()]
        path = charts[0] if len(charts) == 1 else "."
        if not req.chart and path != ".":
            # An OCI source holding a chart: the app's path is inside the chart (Argo CD: ".").
            return FetchedChart(final / path, ".", tag, digest)
        return FetchedChart(final, path, tag, digest)

    async def _oci_tag(
        self, client: oci.Client, ref: oci.Reference, wanted: str, *, max_age: float | None
    ) -> str:
        wanted = wanted.strip()
        if wanted.startswith("sha256:") or (semver.is_exact(wanted)):
            return wanted
        tags = await client.tags(ref)
        if wanted in tags:
            return wanted
        try:
            chosen = semver.best(tags, wanted)
        except errors.SpecError:
            chosen = None
        if chosen is None:
            newest = ", ".join(sorted(tags, reverse=True)[:10]) or "none"
            raise errors.RevisionNotFoundError(
                f"{ref}: no tag matching {wanted or 'the newest version'!r} (tags: {newest})"
            )
        return chosen

    # -- unpacking and dependencies -------------------------------------------------------

    def _dir(self, repo_url: str, chart: str, version: str, digest: str) -> Path:
        safe = re.sub(r"[^A-Za-z0-9._-]+", "_", f"{chart}-{version}" if chart else version)
        short = digest.removeprefix("sha256:")[:16]
        return self.root / urls.cache_dir_name(repo_url) / f"{safe[:80]}-{short}"

    async def _unpack(
        self,
        tgz: Path,
        final: Path,
        chart: str,
        what: str,
        helm: Sequence[str] | None,
        registered: Sequence[HelmRepo],
    ) -> None:
        """Unpack into a scratch dir, build dependencies, then move into place atomically.
        ``chart``: the expected top directory; ``*`` any one chart; ``""`` not a chart."""
        final.parent.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix=".fetch-", dir=final.parent))
        try:
            tree = scratch / "tree"
            await asyncio.to_thread(
                archive.extract, tgz, tree, what=what, limits=self.limits.unpacked
            )
            if chart:
                chart_dir = _chart_dir(tree, chart, what)
                if chartdeps.needs_dependencies(chart_dir):
                    if helm is None:
                        raise errors.SourceError(f"{what}: has dependencies and no helm is found")
                    await chartdeps.build_dependencies(
                        chart_dir,
                        helm=helm,
                        registered=registered,
                        time_limit=self.limits.dependency_timeout_seconds,
                        what=what,
                    )
            await asyncio.to_thread(_move_into_place, tree, final)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)


def _move_into_place(tree: Path, final: Path) -> None:
    if final.exists():
        shutil.rmtree(final)
    os.replace(tree, final)


def _pick_layer(artifact: oci.Artifact, ref: oci.Reference, *, chart: bool) -> dict[str, Any]:
    types = [str(layer.get("mediaType", "")) for layer in artifact.layers]
    if chart:
        if artifact.config_type != oci.HELM_CONFIG:
            raise errors.SourceError(
                f"{ref}: not a Helm chart (config media type {artifact.config_type or 'none'!r}, "
                f"expected {oci.HELM_CONFIG!r})"
            )
        found = [layer for layer in artifact.layers if layer.get("mediaType") == oci.HELM_LAYER]
        if not found:
            raise errors.SourceError(f"{ref}: a Helm chart manifest without a chart layer")
        return found[0]
    if len(artifact.layers) != 1:
        raise errors.SourceError(
            f"{ref}: an OCI source must have exactly one layer, it has {len(artifact.layers)}"
        )
    if types[0] not in oci.SOURCE_LAYERS:
        raise errors.SourceError(
            f"{ref}: layer media type {types[0]!r} is not accepted "
            f"(accepted: {', '.join(oci.SOURCE_LAYERS)})"
        )
    return artifact.layers[0]


def _chart_dir(tree: Path, chart: str, what: str) -> Path:
    tops = [p for p in tree.iterdir() if p.is_dir() and (p / "Chart.yaml").is_file()]
    if chart != "*":
        tops = [p for p in tops if p.name == chart] or tops
    if len(tops) != 1:
        raise errors.SourceError(f"{what}: the archive holds no chart (no <name>/Chart.yaml)")
    return tops[0]


def _client(creds: creds_mod.RepoCredentials | None, timeout: float) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        verify=_tls(creds), timeout=httpx.Timeout(timeout), follow_redirects=True
    )


def _tls(creds: creds_mod.RepoCredentials | None) -> ssl.SSLContext:
    context = ssl.create_default_context(cadata=(creds.ca_data or None) if creds else None)
    if creds is None:
        return context
    if creds.insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if creds.tls_client_cert and creds.tls_client_key:
        # ssl loads a client certificate from files only: a private temp dir, removed at once.
        with tempfile.TemporaryDirectory(prefix="tidegate-tls-") as temp:
            cert, key = Path(temp) / "client.crt", Path(temp) / "client.key"
            cert.touch(mode=0o600)
            key.touch(mode=0o600)
            cert.write_text(creds.tls_client_cert)
            key.write_text(creds.tls_client_key)
            context.load_cert_chain(cert, key)
    return context


def _raise_for_status(response: httpx.Response, *, what: str, url: str, had_creds: bool) -> None:
    code = response.status_code
    if code == 200:
        return
    shown = urls.display(url)
    if code == 401:
        raise errors.AuthenticationError(
            f"{what}: {shown}: "
            + (
                "the credentials were refused (HTTP 401)"
                if had_creds
                else "needs credentials "
                "(HTTP 401): register the repository with `tidegate repo add --type helm`"
            )
        )
    if code == 403:
        raise errors.AuthenticationError(f"{what}: {shown}: access denied (HTTP 403)")
    if code == 404:
        raise errors.RepoNotFoundError(f"{what}: {shown} not found (HTTP 404)")
    raise errors.RepoUnreachableError(f"{what}: {shown}: HTTP {code}")


def _fingerprint(creds: creds_mod.RepoCredentials | None) -> str:
    if creds is None:
        return "-"
    secret = "\0".join([creds.username, creds.password, creds.tls_client_key, creds.bearer_token])
    return hashlib.sha256(secret.encode()).hexdigest()[:16]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(1024 * 1024):
            digest.update(block)
    return digest.hexdigest()
