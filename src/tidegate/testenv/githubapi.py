"""GitHub's installation-token endpoint alone, on a loopback port, for GitHub App tests (GitHub
itself is not reachable from the test machines; git is served by the test bed's git server).

``TokenEndpoint(public_key_pem, tokens={installation_id: token})`` answers
``POST /app/installations/{id}/access_tokens`` as GitHub documents: it checks the bearer JWT
(RS256 signed by the app's key, ``iss`` the app id, ``iat`` not in the future, ``exp`` at most
ten minutes after ``iat``) and replies 201 with ``token`` and ``expires_at``
(``token_lifetime`` seconds ahead); an installation it does not know gets GitHub's 404, a bad
JWT GitHub's 401. Use ``url`` as ``githubAppEnterpriseBaseUrl``. ``exchanges`` lists the
installation ids of the tokens handed out; ``close()`` stops it. :func:`app_key_pair` makes an
app's RSA key pair.
"""

from __future__ import annotations

import datetime
import http.server
import json
import re
import threading
import time
from collections.abc import Mapping
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

_PATH = re.compile(r"^/app/installations/(?P<id>[^/]+)/access_tokens$")
_MAX_SPAN = 600


def app_key_pair() -> tuple[str, str]:
    """A new GitHub App key: the private key (PEM, PKCS#8) and its public key (PEM)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, public.decode()


class TokenEndpoint:
    def __init__(
        self,
        public_key_pem: str,
        *,
        app_id: str,
        tokens: Mapping[str, str],
        token_lifetime: float = 3600.0,
    ) -> None:
        self.exchanges: list[str] = []
        self.refusals: list[tuple[int, str]] = []
        endpoint = self

        def answer(installation: str, authorization: str) -> tuple[int, dict[str, Any]]:
            scheme, _, bearer = authorization.partition(" ")
            if scheme != "Bearer" or not bearer:
                return 401, {"message": "Requires authentication"}
            try:
                claims = jwt.decode(
                    bearer,
                    public_key_pem,
                    algorithms=["RS256"],
                    issuer=app_id,
                    options={"require": ["iat", "exp", "iss"]},
                )
            except jwt.PyJWTError as exc:
                return 401, {"message": f"A JSON web token could not be decoded ({exc})"}
            if claims["iat"] > time.time() + 5 or claims["exp"] - claims["iat"] > _MAX_SPAN:
                return 401, {"message": "'Expiration time' claim ('exp') is too far in the future"}
            token = tokens.get(installation)
            if token is None:
                return 404, {"message": "Not Found"}
            expires = datetime.datetime.fromtimestamp(time.time() + token_lifetime, datetime.UTC)
            return 201, {"token": token, "expires_at": expires.strftime("%Y-%m-%dT%H:%M:%SZ")}

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                found = _PATH.match(self.path)
                if found is None:
                    status, body = 404, {"message": "Not Found"}
                else:
                    status, body = answer(found["id"], self.headers.get("Authorization", ""))
                if status == 201:
                    endpoint.exchanges.append(found["id"] if found else "")
                else:
                    endpoint.refusals.append((status, self.path))
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
