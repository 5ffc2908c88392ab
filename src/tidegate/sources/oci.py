"""Pulling one artifact from an OCI registry (the distribution API over httpx).

Enough of the API for charts and manifest artifacts: list tags, read a manifest (following an
image index to its first manifest), download a blob into a file with a size limit and a digest
check. Authentication: basic credentials, or the bearer-token dance (a 401 with
``WWW-Authenticate: Bearer realm=...`` sends the credentials to the realm for a token), as
registries such as Docker Hub and GHCR require. Credentials go in headers only, never in URLs,
argv or messages.

Chosen over running ``helm pull oci://`` because the same code pulls plain-YAML artifacts (Argo
CD's OCI sources), sizes and digests are checked as bytes arrive, the media types are read
before anything is unpacked (so "not a chart" is a precise message), and no registry config
file with credentials has to be written for each pull.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import urllib.parse
from pathlib import Path
from typing import Any

import httpx

from tidegate.model import errors

MANIFEST_TYPES = (
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
)
HELM_CONFIG = "application/vnd.cncf.helm.config.v1+json"
HELM_LAYER = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
IMAGE_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
# Argo CD's default accepted layer types for an OCI source.
SOURCE_LAYERS = (IMAGE_LAYER, HELM_LAYER)
_MAX_MANIFEST = 4 * 1024 * 1024
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


@dataclasses.dataclass(frozen=True)
class Reference:
    """``registry/repository`` of an artifact (no tag)."""

    registry: str  # host[:port]
    repository: str
    plain_http: bool = False

    @property
    def base(self) -> str:
        return f"{'http' if self.plain_http else 'https'}://{self.registry}/v2/{self.repository}"

    def __str__(self) -> str:
        return f"oci://{self.registry}/{self.repository}"


def parse_reference(url: str, *, plain_http: bool = False) -> Reference:
    """``oci://host[:port]/path`` or ``host[:port]/path`` (a Helm repository with enableOCI)."""
    text = url.strip().removeprefix("oci://").rstrip("/")
    registry, _, repository = text.partition("/")
    if not registry or not repository or "://" in text or "@" in registry:
        raise errors.SpecError(f"OCI reference {url!r}: expected oci://REGISTRY/REPOSITORY")
    return Reference(registry, repository.lower(), plain_http)


@dataclasses.dataclass(frozen=True)
class Artifact:
    digest: str  # of the manifest
    config_type: str
    layers: tuple[dict[str, Any], ...]


def _challenge(header: str) -> dict[str, str]:
    return dict(re.findall(r'(\w+)="([^"]*)"', header))


class Client:
    """One registry session (tokens are kept per scope for its lifetime)."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        username: str = "",
        password: str = "",
    ) -> None:
        self._http = http
        self._basic = httpx.BasicAuth(username, password) if username or password else None
        self._tokens: dict[str, str] = {}

    async def _get(self, ref: Reference, url: str, *, accept: str = "") -> httpx.Response:
        headers = {"Accept": accept} if accept else {}
        token = self._tokens.get(ref.repository)
        if token:
            headers["Authorization"] = f"Bearer {token}"
        request = self._http.build_request("GET", url, headers=headers)
        response = await self._http.send(request, auth=None if token else self._basic, stream=True)
        if response.status_code == 401 and not token:
            challenge = response.headers.get("WWW-Authenticate", "")
            await response.aclose()
            if challenge.lower().startswith("bearer"):
                self._tokens[ref.repository] = await self._token(ref, _challenge(challenge))
                return await self._get(ref, url, accept=accept)
            raise errors.AuthenticationError(
                f"{ref}: the registry refused the credentials (HTTP 401)"
                if self._basic
                else f"{ref}: the registry needs credentials (HTTP 401): register it with "
                "`tidegate repo add`"
            )
        return response

    async def _token(self, ref: Reference, challenge: dict[str, str]) -> str:
        realm = challenge.get("realm", "")
        if not realm.startswith(("https://", "http://")):
            raise errors.SourceError(f"{ref}: the registry's token realm {realm!r} is not a URL")
        params = {"service": challenge.get("service", "")}
        params["scope"] = challenge.get("scope") or f"repository:{ref.repository}:pull"
        response = await self._http.get(
            realm, params=params, auth=self._basic or httpx.USE_CLIENT_DEFAULT
        )
        if response.status_code in (401, 403):
            raise errors.AuthenticationError(
                f"{ref}: the registry's token service refused the credentials "
                f"(HTTP {response.status_code})"
            )
        if response.status_code != 200:
            raise errors.SourceError(f"{ref}: token request failed (HTTP {response.status_code})")
        body = response.json()
        return str(body.get("token") or body.get("access_token") or "")

    async def _read(self, response: httpx.Response, limit: int, what: str) -> bytes:
        data = bytearray()
        async for block in response.aiter_bytes():
            data += block
            if len(data) > limit:
                await response.aclose()
                raise errors.SourceError(f"{what}: larger than {limit} bytes")
        return bytes(data)

    def _check(self, response: httpx.Response, ref: Reference, what: str) -> None:
        if response.status_code == 404:
            raise errors.RevisionNotFoundError(f"{ref}: {what} not found")
        if response.status_code == 403:
            raise errors.AuthenticationError(f"{ref}: access to {what} denied (HTTP 403)")
        if response.status_code != 200:
            raise errors.SourceError(f"{ref}: {what}: HTTP {response.status_code}")

    async def ping(self, ref: Reference) -> None:
        """``GET /v2/``: the registry speaks the API and accepts the credentials."""
        scheme = "http" if ref.plain_http else "https"
        response = await self._get(ref, f"{scheme}://{ref.registry}/v2/")
        await response.aclose()
        if response.status_code != 200:
            raise errors.SourceError(f"{ref}: GET /v2/ answered HTTP {response.status_code}")

    async def tags(self, ref: Reference) -> list[str]:
        url = f"{ref.base}/tags/list"
        found: list[str] = []
        for _page in range(100):
            response = await self._get(ref, url)
            try:
                self._check(response, ref, "repository")
                body = await self._read(response, _MAX_MANIFEST, f"{ref} tag list")
            finally:
                await response.aclose()
            found += [str(t) for t in (httpx.Response(200, content=body).json().get("tags") or [])]
            link = response.headers.get("Link", "")
            match = re.match(r"<([^>]+)>", link)
            if not match:
                break
            url = urllib.parse.urljoin(url, match.group(1))
        return found

    async def manifest(self, ref: Reference, reference: str) -> Artifact:
        """The manifest of tag or digest ``reference`` (an index: its first manifest)."""
        url = f"{ref.base}/manifests/{reference}"
        response = await self._get(ref, url, accept=", ".join(MANIFEST_TYPES))
        try:
            self._check(response, ref, f"tag or digest {reference!r}")
            body = await self._read(response, _MAX_MANIFEST, f"{ref} manifest")
        finally:
            await response.aclose()
        digest = "sha256:" + hashlib.sha256(body).hexdigest()
        try:
            raw = httpx.Response(200, content=body).json()
        except ValueError as exc:
            raise errors.SourceError(f"{ref}:{reference}: the manifest is not JSON") from exc
        if isinstance(raw.get("manifests"), list) and raw["manifests"]:
            first = raw["manifests"][0].get("digest", "")
            return await self.manifest(ref, str(first))
        config = raw.get("config") or {}
        layers = tuple(layer for layer in raw.get("layers") or [] if isinstance(layer, dict))
        return Artifact(digest, str(config.get("mediaType", "")), layers)

    async def blob(self, ref: Reference, layer: dict[str, Any], dest: Path, *, limit: int) -> None:
        """Download ``layer`` into ``dest``, checking its size and sha256 digest."""
        digest = str(layer.get("digest", ""))
        if not _DIGEST.match(digest):
            raise errors.SourceError(f"{ref}: layer digest {digest!r} is not a sha256 digest")
        if int(layer.get("size") or 0) > limit:
            raise errors.SourceError(f"{ref}: layer {digest} is larger than {limit} bytes")
        response = await self._get(ref, f"{ref.base}/blobs/{digest}")
        hasher = hashlib.sha256()
        written = 0
        try:
            self._check(response, ref, f"blob {digest}")
            with dest.open("wb") as sink:
                async for block in response.aiter_bytes():
                    written += len(block)
                    if written > limit:
                        raise errors.SourceError(
                            f"{ref}: layer {digest} is larger than {limit} bytes"
                        )
                    hasher.update(block)
                    sink.write(block)
        finally:
            await response.aclose()
        if "sha256:" + hasher.hexdigest() != digest:
            raise errors.SourceError(f"{ref}: layer {digest}: content does not match its digest")
