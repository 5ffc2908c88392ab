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
dependency build`` once per version, with a scratch Helm home holding a ``repositories.yaml``
and registry config made from the registered Helm repositories (credentials in files of a
private temp dir, removed after; never in argv). Unpacked trees are keyed by content digest:
the same version is never downloaded twice.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import hashlib
import json
import os
import re
import shutil
import ssl
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import yaml

from tidegate.model import errors
from tidegate.sources import archive, helmindex, oci, semver, urls
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


@dataclasses.dataclass(frozen=True, repr=False)
class HelmRepo:
    """A registered Helm repository, for ``helm dependency build``."""

    url: str
    creds: creds_mod.RepoCredentials | None

    def __repr__(self) -> str:
        return f"HelmRepo({urls.display(self.url)!r})"


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
        except httpx.HTTPError as exc:
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
        except httpx.HTTPError as exc:
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
            except httpx.HTTPError as exc:
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
                if _needs_dependencies(chart_dir):
                    if helm is None:
                        raise errors.SourceError(f"{what}: has dependencies and no helm is found")
                    await _build_dependencies(
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


def _needs_dependencies(chart_dir: Path) -> bool:
    """Whether ``Chart.yaml`` (or a v1 ``requirements.yaml``) names charts not in ``charts/``."""
    declared: list[Any] = []
    for name in ("Chart.yaml", "requirements.yaml"):
        path = chart_dir / name
        if path.is_file():
            with contextlib.suppress(yaml.YAMLError):
                raw = yaml.safe_load(path.read_text(encoding="utf-8", errors="replace"))
                if isinstance(raw, dict) and isinstance(raw.get("dependencies"), list):
                    declared += raw["dependencies"]
    vendored = {p.name for p in (chart_dir / "charts").glob("*")}
    for dep in declared:
        if not isinstance(dep, dict) or not dep.get("repository"):
            continue
        name = str(dep.get("name", ""))
        if name not in vendored and not any(v.startswith(f"{name}-") for v in vendored):
            return True
    return False


@contextlib.contextmanager
def _helm_home(registered: Sequence[HelmRepo]) -> Iterator[dict[str, str]]:
    """A private Helm home whose repositories.yaml and registry config hold ``registered``."""
    with tempfile.TemporaryDirectory(prefix="tidegate-helmhome-") as temp:
        home = Path(temp)
        os.chmod(home, 0o700)
        entries: list[dict[str, Any]] = []
        auths: dict[str, dict[str, str]] = {}
        for number, repo in enumerate(registered):
            c = repo.creds or creds_mod.RepoCredentials()
            if c.enable_oci or repo.url.startswith("oci://"):
                host = repo.url.removeprefix("oci://").split("/", 1)[0]
                if c.username:
                    token = base64.b64encode(f"{c.username}:{c.password}".encode()).decode()
                    auths[host] = {"auth": token}
                continue
            entry: dict[str, Any] = {"name": f"repo-{number}", "url": repo.url}
            if c.username:
                entry |= {"username": c.username, "password": c.password}
            if c.tls_client_cert and c.tls_client_key:
                (home / f"{number}.crt").write_text(c.tls_client_cert)
                (home / f"{number}.key").write_text(c.tls_client_key)
                entry |= {"certFile": str(home / f"{number}.crt")}
                entry |= {"keyFile": str(home / f"{number}.key")}
            if c.ca_data:
                (home / f"{number}-ca.crt").write_text(c.ca_data)
                entry["caFile"] = str(home / f"{number}-ca.crt")
            if c.insecure:
                entry["insecure_skip_tls_verify"] = True
            entries.append(entry)
        (home / "repositories.yaml").write_text(
            yaml.safe_dump({"apiVersion": "v1", "repositories": entries})
        )
        (home / "registry.json").write_text(json.dumps({"auths": auths}))
        env = {k: v for k, v in os.environ.items() if not k.startswith("HELM_")}
        env |= {
            "HELM_CACHE_HOME": str(home / "cache"),
            "HELM_CONFIG_HOME": str(home / "config"),
            "HELM_DATA_HOME": str(home / "data"),
            "HELM_REPOSITORY_CONFIG": str(home / "repositories.yaml"),
            "HELM_REPOSITORY_CACHE": str(home / "cache" / "repository"),
            "HELM_REGISTRY_CONFIG": str(home / "registry.json"),
        }
        yield env


async def _build_dependencies(
    chart_dir: Path,
    *,
    helm: Sequence[str],
    registered: Sequence[HelmRepo],
    time_limit: float,
    what: str,
) -> None:
    secrets = [v for r in registered if r.creds for v in r.creds.secret_values()]
    # A registry registered with insecureOCIForceHttp: helm must use plain HTTP for OCI pulls.
    plain = ["--plain-http"] if any(r.creds and r.creds.oci_plain_http for r in registered) else []
    with _helm_home(registered) as env:
        proc = await asyncio.create_subprocess_exec(
            *helm,
            "dependency",
            "build",
            *plain,
            str(chart_dir),
            env=env,
            cwd=str(chart_dir),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            output, _ = await asyncio.wait_for(proc.communicate(), time_limit)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, 9)
            await proc.wait()
            raise errors.SourceError(
                f"{what}: helm dependency build took longer than {time_limit:.0f}s"
            ) from None
    if proc.returncode != 0:
        text = output.decode(errors="replace")[-4000:].replace(str(chart_dir), "<chart>")
        for value in secrets:
            text = text.replace(value, "<redacted>")
        raise errors.SourceError(
            f"{what}: helm dependency build failed (exit {proc.returncode}): {text.strip()}"
        )


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
