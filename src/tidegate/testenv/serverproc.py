"""``tidegate server`` as a child process, for end-to-end tests, benchmarks and the demo.

It listens on 127.0.0.1, on a free port by default (``--port 0``; the port is read from its
log line).
:meth:`ServerProcess.client` pins the server's own certificate, read from ``argocd-secret``,
so tests talk TLS with verification on, as a careful user would.
"""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import ssl
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

from tidegate.model import errors
from tidegate.testenv import handle, procs

_LISTENING = re.compile(r"tidegate server listening on (https?)://[^:]+:(\d+)")


class ServerProcess:
    def __init__(
        self,
        bed: handle.TestBed,
        namespace: str,
        *,
        log: Path,
        insecure: bool = False,
        port: int = 0,
        extra: Sequence[str] = (),
    ) -> None:
        self.bed = bed
        self.namespace = namespace
        self.log = log
        self.insecure = insecure
        self.port = port
        self.extra = list(extra)
        self.pid: int | None = None
        self.url = ""

    def start(self, timeout: float = 60.0) -> ServerProcess:
        cmd = [
            sys.executable,
            "-m",
            "tidegate",
            "server",
            f"--kubeconfig={self.bed.clusters['mgmt'].kubeconfig}",
            f"--namespace={self.namespace}",
            "--address=127.0.0.1",
            f"--port={self.port}",
            "--loglevel=info",
            *(["--insecure"] if self.insecure else []),
            *self.extra,
        ]
        offset = self.log.stat().st_size if self.log.exists() else 0
        self.pid = procs.spawn(cmd, log=self.log, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.log.read_bytes()[offset:].decode(errors="replace")
            found = _LISTENING.search(text)
            if found:
                self.url = f"{found.group(1)}://127.0.0.1:{found.group(2)}"
                return self
            if not procs.alive(self.pid):
                raise errors.TestEnvError(f"server exited:\n{procs.tail(self.log, 30)}")
            time.sleep(0.1)
        raise errors.TestEnvError(f"server did not start:\n{procs.tail(self.log, 30)}")

    def stop(self) -> None:
        if self.pid is not None:
            procs.stop([self.pid], marker=None, timeout=10)
            self.pid = None

    def kill(self) -> None:
        if self.pid is not None:
            procs.stop([self.pid], marker=None, timeout=0)
            self.pid = None

    def _secret(self, name: str) -> dict[str, str]:
        with self.bed.admin_client("mgmt") as client:
            resp = client.get(f"/api/v1/namespaces/{self.namespace}/secrets/{name}")
            resp.raise_for_status()
            data: dict[str, str] = resp.json().get("data") or {}
        return {k: base64.b64decode(v).decode(errors="replace") for k, v in data.items()}

    def admin_password(self) -> str:
        return self._secret("argocd-initial-admin-secret")["password"]

    def client(self, *, token: str | None = None, **kwargs: Any) -> httpx.Client:
        """An HTTP client of the server (its certificate pinned), with ``token`` as Bearer."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        verify: ssl.SSLContext | bool = False
        if self.url.startswith("https"):
            verify = ssl.create_default_context(cadata=self._secret("argocd-secret")["tls.crt"])
        return httpx.Client(
            base_url=self.url, verify=verify, headers=headers, timeout=30.0, **kwargs
        )

    def login(self) -> str:
        """A session token of ``admin``."""
        with self.client() as client:
            body = json.dumps({"username": "admin", "password": self.admin_password()})
            resp = client.post(
                "/api/v1/session", content=body, headers={"Content-Type": "application/json"}
            )
            resp.raise_for_status()
            token: str = resp.json()["token"]
            return token

    def alive(self) -> bool:
        return self.pid is not None and procs.alive(self.pid)

    def signal(self, sig: int = signal.SIGTERM) -> None:
        if self.pid is not None:
            os.kill(self.pid, sig)
