"""The chart cache against real HTTP servers on loopback: basic auth, passCredentials, index
caching and refresh, digests (no test bed needed)."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import http.server
import io
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tidegate.model import errors
from tidegate.sources import charts
from tidegate.sources import credentials as creds_mod

USER, PASSWORD = "chartuser", "s3cret-password"


def _archive(name: str, version: str) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as tar:
        data = f"apiVersion: v2\nname: {name}\nversion: {version}\n".encode()
        info = tarfile.TarInfo(f"{name}/Chart.yaml")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return raw.getvalue()


class _Server:
    """Serves ``files``; records each request's path and Authorization header."""

    def __init__(self, *, need_auth: bool) -> None:
        self.files: dict[str, bytes] = {}
        self.seen: list[tuple[str, str]] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                auth = self.headers.get("Authorization", "")
                outer.seen.append((self.path, auth))
                token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
                if need_auth and auth != f"Basic {token}":
                    self.send_response(401)
                    self.send_header("WWW-Authenticate", 'Basic realm="charts"')
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = outer.files.get(self.path)
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Length", str(len(body or b"")))
                self.end_headers()
                self.wfile.write(body or b"")

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])


@contextlib.contextmanager
def _servers() -> Iterator[tuple[_Server, _Server]]:
    repo, cdn = _Server(need_auth=True), _Server(need_auth=False)
    try:
        yield repo, cdn
    finally:
        for server in (repo, cdn):
            server.httpd.shutdown()
            server.httpd.server_close()


def _index(entries: list[tuple[str, str, str, bytes]]) -> bytes:
    out: dict[str, Any] = {"apiVersion": "v1", "entries": {}}
    for name, version, url, data in entries:
        out["entries"].setdefault(name, []).append(
            {
                "name": name,
                "version": version,
                "urls": [url],
                "digest": hashlib.sha256(data).hexdigest(),
            }
        )
    return yaml.safe_dump(out).encode()


def _matching(root: Path, pattern: str) -> list[Path]:
    return list(root.rglob(pattern))


CREDS = creds_mod.RepoCredentials(username=USER, password=PASSWORD)


async def test_credentials_reach_other_hosts_only_with_pass_credentials(tmp_path: Path) -> None:
    with _servers() as (repo, cdn):
        data = _archive("web", "1.0.0")
        # "localhost" is another host than "127.0.0.1" for this purpose, as for Helm.
        cdn.files["/web-1.0.0.tgz"] = data
        url = f"http://localhost:{cdn.port}/web-1.0.0.tgz"
        repo.files["/index.yaml"] = _index([("web", "1.0.0", url, data)])
        base = f"http://127.0.0.1:{repo.port}"

        cache = charts.ChartCache(tmp_path / "a")
        got = await cache.fetch(charts.ChartRequest(base, "web", "1.0.0", CREDS))
        assert (got.root / got.path / "Chart.yaml").is_file()
        assert [auth for path, auth in cdn.seen] == [""]  # no credentials to the other host
        assert all(auth.startswith("Basic ") for _, auth in repo.seen)

        other = charts.ChartCache(tmp_path / "b")
        await other.fetch(charts.ChartRequest(base, "web", "1.0.0", CREDS, pass_credentials=True))
        assert cdn.seen[-1][1].startswith("Basic ")


async def test_index_is_cached_refreshed_and_errors_say_why(tmp_path: Path) -> None:
    with _servers() as (repo, _cdn):
        one = _archive("web", "1.0.0")
        repo.files["/web-1.0.0.tgz"] = one
        repo.files["/index.yaml"] = _index([("web", "1.0.0", "web-1.0.0.tgz", one)])
        base = f"http://127.0.0.1:{repo.port}/"
        cache = charts.ChartCache(tmp_path, max_age=3600)
        request = charts.ChartRequest(base, "web", "^1.0", CREDS)
        assert (await cache.fetch(request)).version == "1.0.0"
        two = _archive("web", "1.1.0")
        repo.files["/web-1.1.0.tgz"] = two
        repo.files["/index.yaml"] = _index(
            [("web", "1.0.0", "web-1.0.0.tgz", one), ("web", "1.1.0", "web-1.1.0.tgz", two)]
        )
        assert (await cache.fetch(request)).version == "1.0.0"  # cached index
        assert cache.index_fetches == 1
        assert (await cache.fetch(request, max_age=0.0)).version == "1.1.0"  # a hard refresh
        downloads = cache.downloads
        assert (await cache.fetch(request)).version == "1.1.0"
        assert cache.downloads == downloads  # unpacked once per version

        with pytest.raises(errors.AuthenticationError, match="needs credentials") as caught:
            await cache.fetch(charts.ChartRequest(base, "web", "1.0.0", None))
        wrong = creds_mod.RepoCredentials(username=USER, password="wrong-password-x")
        with pytest.raises(errors.AuthenticationError, match="refused") as caught:
            await cache.fetch(charts.ChartRequest(base, "web", "1.0.0", wrong))
        assert "wrong-password-x" not in str(caught.value)

        # The archive does not match the index's digest: refused, nothing left on disk.
        repo.files["/index.yaml"] = _index([("web", "2.0.0", "web-1.0.0.tgz", b"other")])
        with pytest.raises(errors.SourceError, match="differs from the index's"):
            await cache.fetch(charts.ChartRequest(base, "web", "2.0.0", CREDS), max_age=0.0)
        assert not _matching(tmp_path, "web-2.0.0*")


def test_credentials_for_helm_sources_use_helm_and_oci_secrets() -> None:
    def secret(kind: str, fields: dict[str, str], name: str) -> dict[str, Any]:
        labels = {"argocd.argoproj.io/secret-type": kind}
        return {
            "metadata": {"name": name, "namespace": "argocd", "labels": labels},
            "stringData": fields,
        }

    secrets = [
        secret("repository", {"type": "git", "url": "https://h/charts", "username": "git"}, "g"),
        secret(
            "repository",
            {"type": "helm", "url": "https://h/charts", "username": "h", "password": "p"},
            "h",
        ),
        secret(
            "repo-creds",
            {
                "type": "oci",
                "url": "oci://reg.example.com/",
                "username": "o",
                "password": "p",
                "insecureOCIForceHttp": "true",
            },
            "o",
        ),
        secret(
            "repository", {"type": "helm", "url": "reg.example.com/team", "enableOCI": "true"}, "e"
        ),
    ]
    helm = creds_mod.credentials_for("https://h/charts", secrets, repo_type="helm")
    assert helm is not None and helm.username == "h"
    git = creds_mod.credentials_for("https://h/charts", secrets)
    assert git is not None and git.username == "git"
    oci = creds_mod.credentials_for("oci://reg.example.com/x/y", secrets, repo_type="helm")
    assert oci is not None and (oci.username, oci.enable_oci, oci.oci_plain_http) == (
        "o",
        True,
        True,
    )
    # A repository without credentials of its own borrows the template's, keeps enableOCI.
    team = creds_mod.credentials_for("reg.example.com/team", secrets, repo_type="helm")
    assert team is not None and team.enable_oci and team.username == "o"


async def test_tls_client_certificate_from_the_repository_secret(tmp_path: Path) -> None:
    import ssl

    from tidegate.testenv import pki

    ca = pki.make_ca(tmp_path / "pki", "ca")
    server_pair = pki.make_cert(
        ca, tmp_path / "pki", "server", common_name="charts", sans=["127.0.0.1"], server=True
    )
    client_pair = pki.make_cert(ca, tmp_path / "pki", "client", common_name="c", client=True)
    repo = _Server(need_auth=False)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(ca.pair.cert))
    context.load_cert_chain(server_pair.cert, server_pair.key)
    context.verify_mode = ssl.CERT_REQUIRED
    repo.httpd.socket = context.wrap_socket(repo.httpd.socket, server_side=True)
    data = _archive("web", "1.0.0")
    repo.files["/web-1.0.0.tgz"] = data
    repo.files["/index.yaml"] = _index([("web", "1.0.0", "web-1.0.0.tgz", data)])
    base = f"https://127.0.0.1:{repo.port}"
    ca_pem = ca.pair.cert.read_text()
    try:
        with_cert = creds_mod.RepoCredentials(
            tls_client_cert=client_pair.cert.read_text(),
            tls_client_key=client_pair.key.read_text(),
            ca_data=ca_pem,
        )
        cache = charts.ChartCache(tmp_path / "charts")
        fetched = await cache.fetch(charts.ChartRequest(base, "web", "1.0.0", with_cert))
        assert fetched.version == "1.0.0"
        without = creds_mod.RepoCredentials(ca_data=ca_pem)
        with pytest.raises(errors.RepoUnreachableError):
            await cache.index(base, without, max_age=0.0)
    finally:
        repo.httpd.shutdown()
        repo.httpd.server_close()


def _chart_archive(name: str, version: str, deps: list[dict[str, str]]) -> bytes:
    raw = io.BytesIO()
    files = {
        f"{name}/Chart.yaml": yaml.safe_dump(
            {"apiVersion": "v2", "name": name, "version": version, "dependencies": deps}
        ).encode(),
        f"{name}/templates/cm.yaml": b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
    }
    with tarfile.open(fileobj=raw, mode="w:gz") as tar:
        for path, data in files.items():
            info = tarfile.TarInfo(path)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return raw.getvalue()


async def test_dependencies_are_built_with_the_registered_repository(tmp_path: Path) -> None:
    from tidegate import render

    helm = render.discover().require_helm()
    with _servers() as (repo, _cdn):
        base = f"http://127.0.0.1:{repo.port}"
        sub = _archive("sub", "1.4.0")
        parent = _chart_archive("parent", "0.1.0", [{"name": "sub", "version": "^1.0.0",
                                                      "repository": base}])  # fmt: skip
        repo.files["/sub-1.4.0.tgz"] = sub
        repo.files["/parent-0.1.0.tgz"] = parent
        repo.files["/index.yaml"] = _index(
            [
                ("sub", "1.4.0", "sub-1.4.0.tgz", sub),
                ("parent", "0.1.0", "parent-0.1.0.tgz", parent),
            ]
        )
        cache = charts.ChartCache(tmp_path / "charts")
        request = charts.ChartRequest(base, "parent", "0.1.0", CREDS)
        # Without the repository registered, helm cannot log in: the error says so, no secret.
        with pytest.raises(errors.SourceError, match="helm dependency build failed") as caught:
            await cache.fetch(request, helm=helm, registered=())
        assert PASSWORD not in str(caught.value)
        registered = [charts.HelmRepo(base, CREDS)]
        fetched = await cache.fetch(request, helm=helm, registered=registered)
        vendored = _matching(fetched.root / "parent" / "charts", "*.tgz")
        assert [p.name for p in vendored] == ["sub-1.4.0.tgz"]
