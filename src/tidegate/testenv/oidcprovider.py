"""A real OpenID provider for the SSO tests: ``oidcop`` (zitadel/oidc's certified example OP,
see ``gosrc/oidcop``), built once from the Go module proxy into the binary cache.

Started on demand by a test fixture (tests/api/test_sso.py), on
127.0.0.1 and a free port, with the static users, groups and clients it is given. Its login
form is ``/login/username`` (fields ``username`` and ``password``). Its signing key is made at
start, so :meth:`OidcProvider.restart` rotates the key (same issuer, new ``kid``).
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Sequence
from pathlib import Path

import httpx

from tidegate.model import errors
from tidegate.testenv import binaries, procs

BINARY = "oidcop"


@dataclasses.dataclass(frozen=True)
class User:
    id: str
    username: str
    password: str = dataclasses.field(repr=False)
    email: str
    groups: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class Client:
    """A client of the provider: a web client with a secret, or (no secret) a native one that
    must use PKCE, whose loopback redirect URIs match on any port."""

    id: str
    redirect_uris: tuple[str, ...]
    secret: str = dataclasses.field(default="", repr=False)


class OidcProvider:
    def __init__(
        self,
        directory: Path,
        *,
        users: Sequence[User],
        clients: Sequence[Client],
        port: int = 0,
    ) -> None:
        self.directory = directory
        self.port = port or procs.free_port()
        self.issuer = f"http://127.0.0.1:{self.port}/"
        self.users = list(users)
        self.clients = list(clients)
        self.pid: int | None = None
        self.log = directory / "oidcop.log"

    def start(self, timeout: float = 30.0) -> OidcProvider:
        binary = binaries.ensure([BINARY])[BINARY]
        self.directory.mkdir(parents=True, exist_ok=True)
        config = self.directory / "oidcop.json"
        config.write_text(
            json.dumps(
                {
                    "users": [
                        {
                            "id": u.id,
                            "username": u.username,
                            "password": u.password,
                            "email": u.email,
                            "groups": list(u.groups),
                        }
                        for u in self.users
                    ],
                    "clients": [
                        {"id": c.id, "secret": c.secret, "redirectURIs": list(c.redirect_uris)}
                        for c in self.clients
                    ],
                }
            )
        )
        config.chmod(0o600)
        cmd = [str(binary), "-config", str(config), "-port", str(self.port)]
        self.pid = procs.spawn(cmd, log=self.log)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not procs.alive(self.pid):
                raise errors.TestEnvError(f"oidcop exited:\n{procs.tail(self.log, 20)}")
            try:
                resp = httpx.get(self.issuer + ".well-known/openid-configuration", timeout=2)
                if resp.status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise errors.TestEnvError(f"oidcop did not start:\n{procs.tail(self.log, 20)}")

    def stop(self) -> None:
        if self.pid is not None:
            procs.stop([self.pid], marker=BINARY, timeout=5)
            self.pid = None

    def restart(self) -> None:
        """Stop and start again on the same port: a new signing key (a key rotation)."""
        self.stop()
        self.start()

    def keys(self) -> dict[str, object]:
        found: dict[str, object] = httpx.get(self.issuer + "keys", timeout=10).json()
        return found
