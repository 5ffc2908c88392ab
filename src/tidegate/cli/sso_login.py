"""``tidegate login SERVER --sso``: the browser login through the server's identity provider,
as ``argocd login --sso`` does it.

The server's public OIDC settings (``/api/v1/settings/oidc``) name the issuer and the client
(``cliClientID``, else ``clientID``). The CLI listens on ``http://localhost:<--sso-port>``
(8085 by default), sends the browser to the provider's authorisation endpoint (code flow with
PKCE, a random state and nonce), takes the redirect to ``/auth/callback`` (the state must match,
once), redeems the code with the code verifier and keeps the ID token as the context's token;
the server verifies it on every call (signature, issuer, audience, expiry).
"""

from __future__ import annotations

import http.server
import queue
import threading
import time
import urllib.parse
import webbrowser
from typing import Any

import httpx
import jwt
import typer

from tidegate.auth import oidc
from tidegate.cli import output

DEFAULT_PORT = 8085  # login_cmd.SSO_PORT repeats it so that the CLI starts without httpx
WAIT_SECONDS = 300.0
_DONE_PAGE = (
    b"<!doctype html><title>Tidegate</title><p>Authentication successful. "
    b"You may close this window and return to the terminal.</p>"
)


def _oidc_settings(client: httpx.Client) -> dict[str, Any]:
    resp = client.get("/api/v1/settings/oidc")
    if resp.status_code == 404:
        raise output.fail("the server has no SSO configured (argocd-cm oidc.config)")
    if resp.status_code != 200:
        raise output.fail(f"cannot read the server's SSO settings (HTTP {resp.status_code})")
    found: dict[str, Any] = resp.json()
    return found


def _serve_callback(port: int) -> tuple[http.server.HTTPServer, queue.Queue[dict[str, str]]]:
    """A one-shot HTTP server on localhost:``port`` receiving ``/auth/callback``."""
    answers: queue.Queue[dict[str, str]] = queue.Queue()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parsed = urllib.parse.urlsplit(self.path)
            if parsed.path != "/auth/callback":
                self.send_error(404)
                return
            params = {k: v[0] for k, v in urllib.parse.parse_qs(parsed.query).items()}
            answers.put(params)
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(_DONE_PAGE)

        def log_message(self, format: str, *args: Any) -> None:
            del format, args  # the URL carries the code: never print it

    try:
        server = http.server.HTTPServer(("127.0.0.1", port), Handler)
    except OSError as exc:
        message = f"cannot listen on localhost:{port} for the SSO callback: {exc}"
        raise output.fail(message) from None
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, answers


def sso_token(client: httpx.Client, *, port: int, launch_browser: bool, callback: str = "") -> str:
    """The ID token of a browser login through the server's identity provider."""
    settings = _oidc_settings(client)
    issuer = str(settings.get("issuer") or "")
    client_id = str(settings.get("cliClientID") or settings.get("clientID") or "")
    scopes = [str(s) for s in settings.get("scopes") or oidc.DEFAULT_SCOPES]
    try:
        with httpx.Client(timeout=30.0) as idp:
            meta = idp.get(issuer.rstrip("/") + "/.well-known/openid-configuration").json()
    except (httpx.HTTPError, ValueError) as exc:
        raise output.fail(f"cannot reach the identity provider {issuer}: {exc}") from None
    server, answers = _serve_callback(port)
    try:
        started = oidc.new_login(
            redirect_uri=f"{callback or f'http://localhost:{port}'}/auth/callback",
            return_url="",
            now=time.monotonic(),
        )
        url = oidc.authorize_url(
            str(meta.get("authorization_endpoint") or ""),
            client_id=client_id,
            scopes=scopes,
            login=started,
            claims=settings.get("idTokenClaims") or {},
        )
        typer.echo(f"Performing authorization_code flow login: {url}", err=True)
        if launch_browser:
            typer.echo("Opening system default browser for authentication", err=True)
            webbrowser.open(url)
        try:
            answer = answers.get(timeout=WAIT_SECONDS)
        except queue.Empty:
            raise output.fail("no SSO callback within 5 minutes; log in again") from None
    finally:
        server.shutdown()
        server.server_close()
    if answer.get("error"):
        detail = answer.get("error_description") or answer["error"]
        raise output.fail(f"the identity provider refused the login: {detail[:200]}")
    if answer.get("state") != started.state:
        raise output.fail("SSO callback with a wrong state; the login was not completed")
    form = {
        "grant_type": "authorization_code",
        "code": answer.get("code", ""),
        "redirect_uri": started.redirect_uri,
        "code_verifier": started.verifier,
        "client_id": client_id,
    }
    with httpx.Client(timeout=30.0) as idp:
        resp = idp.post(str(meta.get("token_endpoint") or ""), data=form)
    try:
        body = resp.json()
    except ValueError:
        body = {}
    token = body.get("id_token") if isinstance(body, dict) else None
    if resp.status_code != 200 or not isinstance(token, str):
        status = resp.status_code
        raise output.fail(f"the identity provider did not issue an ID token (HTTP {status})")
    try:
        nonce = jwt.decode(token, options={"verify_signature": False}).get("nonce")
    except jwt.PyJWTError:
        raise output.fail("the identity provider returned a malformed ID token") from None
    if nonce != started.nonce:
        raise output.fail("the ID token's nonce does not match this login; refused")
    return token
