"""Smart HTTP for the test bed's git server: ``git http-backend`` behind basic auth.

A stdlib ``ThreadingHTTPServer`` on loopback runs the backend as a CGI per request. Request
bodies (chunked or not, gzip or not) are streamed into the backend's stdin by a feeder thread
while its output is streamed back, so a large pack is never held in memory. TLS is optional;
the handshake happens in the request's own thread so a stalled client cannot block ``accept``.
"""

from __future__ import annotations

import base64
import binascii
import collections
import contextlib
import hmac
import http.server
import io
import os
import socket
import ssl
import subprocess
import threading
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, cast

_CHUNK = 64 * 1024
_REALM = "tidegate-testenv"
CHARTS_PREFIX = "/charts/"

# Server-side git settings for every repository served, over HTTP and SSH alike: pushes are
# allowed, and partial (blob:none) fetches and fetches by object id work with protocol v2.
SERVER_GIT_CONFIG: Mapping[str, str] = {
    "http.receivepack": "true",
    "uploadpack.allowFilter": "true",
    "uploadpack.allowAnySHA1InWant": "true",
    "receive.denyCurrentBranch": "ignore",
}


def git_config_env(config: Mapping[str, str]) -> dict[str, str]:
    """``GIT_CONFIG_COUNT``/``KEY_n``/``VALUE_n`` variables carrying ``config`` to git."""
    env = {"GIT_CONFIG_COUNT": str(len(config))}
    for index, (key, value) in enumerate(config.items()):
        env[f"GIT_CONFIG_KEY_{index}"] = key
        env[f"GIT_CONFIG_VALUE_{index}"] = value
    return env


def http_backend_path() -> Path:
    """Where the git installation keeps ``git-http-backend``."""
    exec_path = subprocess.run(
        ["git", "--exec-path"], check=True, capture_output=True, text=True, timeout=30
    ).stdout.strip()
    return Path(exec_path) / "git-http-backend"


@dataclass(frozen=True)
class HttpSettings:
    """What every request handler needs; shared read-only between threads."""

    project_root: Path
    username: str
    password: str
    backend: Path
    log_path: Path
    # A Helm chart repository served read-only under /charts/ (index.yaml and archives).
    charts_root: Path | None = None


class _GitHTTPServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self, address: tuple[str, int], settings: HttpSettings, tls: ssl.SSLContext | None
    ) -> None:
        self.settings = settings
        self.tls = tls
        self.requests: collections.Counter[str] = collections.Counter()
        self.requests_lock = threading.Lock()
        super().__init__(address, _Handler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        if self.tls is None:
            super().finish_request(request, client_address)
            return
        try:
            wrapped = self.tls.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return  # the client gave up or rejected our certificate
        try:
            super().finish_request(wrapped, client_address)
            wrapped.unwrap()  # close_notify: a clean end of stream for the client
        except (ssl.SSLError, OSError):
            pass
        finally:
            wrapped.close()


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _GitHTTPServer
    # HTTP/1.1 keeps connections alive; bodies of unknown length go out chunked.
    protocol_version = "HTTP/1.1"
    server_version = "tidegate-git"

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: Any) -> None:
        return  # request lines would only add noise to the test output

    def _authorised(self) -> bool:
        header = self.headers.get("Authorization", "")
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        settings = self.server.settings
        user_ok = hmac.compare_digest(user.encode(), settings.username.encode())
        password_ok = hmac.compare_digest(password.encode(), settings.password.encode())
        return user_ok and password_ok

    def _deny(self) -> None:
        body = b"authentication required\n"
        self.send_response(401)
        self.send_header("WWW-Authenticate", f'Basic realm="{_REALM}"')
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _cgi_env(self) -> dict[str, str]:
        settings = self.server.settings
        path, _, query = self.path.partition("?")
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": os.environ.get("HOME", "/"),
            "GIT_PROJECT_ROOT": str(settings.project_root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "GATEWAY_INTERFACE": "CGI/1.1",
            "SERVER_PROTOCOL": self.request_version,
            "REQUEST_METHOD": self.command,
            "PATH_INFO": urllib.parse.unquote(path),
            "QUERY_STRING": query,
            "REMOTE_USER": settings.username,
            "REMOTE_ADDR": self.client_address[0],
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            **git_config_env(SERVER_GIT_CONFIG),
        }
        if "chunked" not in self.headers.get("Transfer-Encoding", "").lower():
            env["CONTENT_LENGTH"] = self.headers.get("Content-Length", "0")
        # With no CONTENT_LENGTH the backend reads the (de-chunked) body up to EOF.
        for header, variable in (
            ("Content-Encoding", "HTTP_CONTENT_ENCODING"),
            ("Git-Protocol", "HTTP_GIT_PROTOCOL"),
        ):
            value = self.headers.get(header)
            if value:
                env[variable] = value
        return env

    def _feed_body(self, sink: IO[bytes]) -> None:
        complete = False
        try:
            if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                _copy_chunked(self.rfile, sink)
            else:
                remaining = int(self.headers.get("Content-Length", "0") or "0")
                while remaining > 0:
                    block = self.rfile.read(min(_CHUNK, remaining))
                    if not block:
                        break
                    sink.write(block)
                    remaining -= len(block)
            complete = True
        except (OSError, ValueError):
            pass  # the backend exited early or the client went away: the response says why
        finally:
            if not complete:
                self.close_connection = True  # unread body bytes: the stream is out of step
            with contextlib.suppress(OSError):
                sink.close()

    def _serve(self) -> None:
        if not self._authorised():
            self._deny()
            return
        with self.server.requests_lock:
            self.server.requests[f"{self.command} {self.path}"] += 1
        settings = self.server.settings
        if self.path.startswith(CHARTS_PREFIX) and settings.charts_root is not None:
            self._serve_file(settings.charts_root, self.path.removeprefix(CHARTS_PREFIX))
            return
        with settings.log_path.open("ab") as log:
            backend = subprocess.Popen(
                [str(settings.backend)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                env=self._cgi_env(),
            )
            assert backend.stdin is not None and backend.stdout is not None
            feeder = threading.Thread(target=self._feed_body, args=(backend.stdin,), daemon=True)
            feeder.start()
            try:
                self._relay(cast(io.BufferedReader, backend.stdout))
            finally:
                backend.stdout.close()
                feeder.join(timeout=60)
                try:
                    backend.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    backend.kill()
                    backend.wait()

    def _serve_file(self, root: Path, relative: str) -> None:
        """A file of the chart repository (one path segment: no directories, no ``..``)."""
        name = urllib.parse.unquote(relative.partition("?")[0])
        path = root / name
        if "/" in name or name.startswith(".") or not path.is_file():
            body = b"not found\n"
            self.send_response(404)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        size = path.stat().st_size
        kind = "application/x-yaml" if name.endswith(".yaml") else "application/gzip"
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(size))
        self.end_headers()
        if self.command == "HEAD":
            return
        with path.open("rb") as source:
            while block := source.read(_CHUNK):
                self.wfile.write(block)

    def _relay(self, cgi_out: io.BufferedReader) -> None:
        status = 200
        reason = "OK"
        headers: list[tuple[str, str]] = []
        while True:
            line = cgi_out.readline()
            if not line or line in (b"\r\n", b"\n"):
                break
            name, _, value = line.decode("latin-1").partition(":")
            value = value.strip()
            if name.lower() == "status":
                code, _, reason = value.partition(" ")
                status = int(code)
            else:
                headers.append((name, value))
        self.send_response(status, reason or None)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        while block := cgi_out.read1(_CHUNK):
            self.wfile.write(b"%x\r\n%s\r\n" % (len(block), block))
        self.wfile.write(b"0\r\n\r\n")


def _copy_chunked(source: io.BufferedIOBase, sink: IO[bytes]) -> None:
    """Decode an HTTP/1.1 chunked body from ``source`` into ``sink``."""
    while True:
        size_line = source.readline()
        size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
        if size == 0:
            while source.readline() not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return
        remaining = size
        while remaining > 0:
            block = source.read(min(_CHUNK, remaining))
            if not block:
                return
            sink.write(block)
            remaining -= len(block)
        source.readline()  # the CRLF closing the chunk


class HttpFrontend:
    """The running HTTP(S) server; ``stop`` shuts it down and waits for its thread."""

    def __init__(self, server: _GitHTTPServer) -> None:
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True
        )
        self._thread.start()

    def requests(self) -> collections.Counter[str]:
        """Authorised requests so far, by ``METHOD /path?query`` (e.g. to count fetches)."""
        with self._server.requests_lock:
            return collections.Counter(self._server.requests)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


def serve_http(
    settings: HttpSettings, *, cert: Path | None = None, key: Path | None = None, port: int = 0
) -> HttpFrontend:
    """Start serving on 127.0.0.1:``port`` (0: a free one; TLS when ``cert`` and ``key`` are
    given)."""
    if not os.access(settings.backend, os.X_OK):
        raise FileNotFoundError(f"git-http-backend not found at {settings.backend}")
    tls: ssl.SSLContext | None = None
    if cert is not None and key is not None:
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(cert, key)
    server = _GitHTTPServer(("127.0.0.1", port), settings, tls)
    server.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return HttpFrontend(server)
