"""SSO end to end: a real OpenID provider (zitadel/oidc's example OP, built from the Go module
proxy), a real ``tidegate server``, Debian's Chromium filling the provider's login form, and the
real CLI's ``login --sso``. Covers the group -> role mapping, the audit of SSO logins, and the
refusal of forged, ``alg: none``, wrong-issuer and wrong-audience tokens, of a replayed state,
and of tokens signed by a key the provider rotated away."""

from __future__ import annotations

import base64
import json
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
import yaml
from cryptography.hazmat.primitives.asymmetric import rsa
from playwright.sync_api import BrowserContext, Request
from tests.api import access_helpers
from tests.web.waiting import until

from tidegate.testenv import handle, oidcprovider, procs, serverproc

pytestmark = pytest.mark.e2e
SECRET_KEY = "oidc.tidegate.clientSecret"
ALICE = oidcprovider.User("u-alice", "alice", "alice-pass-1", "alice@example.test", ("deployers",))
CLIENT_SECRET = secrets.token_urlsafe(16)
OTHER_SECRET = secrets.token_urlsafe(16)
OTHER_REDIRECT = "http://127.0.0.1:9/cb"  # nothing listens: the browser's request is enough
BOB = oidcprovider.User("u-bob", "bob", "bob-pass-1", "bob@example.test", ("viewers",))


@pytest.fixture(scope="module")
def server_extra(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    return [f"--audit-db=sqlite:///{tmp_path_factory.mktemp('sso-audit') / 'audit.db'}"]


@pytest.fixture(scope="module")
def sso_server(server: serverproc.ServerProcess) -> serverproc.ServerProcess:
    return server  # the module's server, with an audit log (server_extra)


@pytest.fixture(scope="module")
def provider(
    testbed_handle: handle.TestBed,
    control_namespace: str,
    sso_server: serverproc.ServerProcess,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[oidcprovider.OidcProvider]:
    op = oidcprovider.OidcProvider(
        tmp_path_factory.mktemp("oidcop"),
        users=[ALICE, BOB],
        clients=[
            oidcprovider.Client(
                "tidegate", (sso_server.url + "/auth/callback",), secret=CLIENT_SECRET
            ),
            oidcprovider.Client("tidegate-cli", ("http://localhost/auth/callback",)),
            oidcprovider.Client("other-app", (OTHER_REDIRECT,), secret=OTHER_SECRET),
        ],
    ).start()
    with testbed_handle.admin_client("mgmt") as client:
        patch = {"data": {SECRET_KEY: base64.b64encode(CLIENT_SECRET.encode()).decode()}}
        resp = client.patch(
            f"/api/v1/namespaces/{control_namespace}/secrets/argocd-secret",
            content=json.dumps(patch),
            headers={"Content-Type": "application/merge-patch+json"},
        )
        resp.raise_for_status()
    config = {
        "name": "Test IdP",
        "issuer": op.issuer,
        "clientID": "tidegate",
        "clientSecret": f"${SECRET_KEY}",
        "cliClientID": "tidegate-cli",
        "requestedScopes": ["openid", "profile", "email", "groups"],
    }
    access_helpers.patch_configmap(
        testbed_handle,
        control_namespace,
        "argocd-cm",
        {"url": sso_server.url, "oidc.config": yaml.safe_dump(config)},
    )
    access_helpers.patch_configmap(
        testbed_handle,
        control_namespace,
        "argocd-rbac-cm",
        {"policy.csv": "g, deployers, role:admin\n"},
    )
    try:
        yield op
    finally:
        op.stop()


def _browser_login(
    context: BrowserContext, server: serverproc.ServerProcess, user: oidcprovider.User
) -> str:
    """Log ``user`` in through the provider's form; the ``argocd.token`` cookie it leaves."""
    page = context.new_page()
    page.goto(server.url + "/auth/login?return_url=/applications")
    page.fill("#username", user.username)
    page.fill("#password", user.password)
    page.click("button[type=submit]")
    page.wait_for_url(server.url + "/applications")
    page.close()
    cookies = {c["name"]: c["value"] for c in context.cookies(server.url)}
    return cookies["argocd.token"]


def _can(server: serverproc.ServerProcess, token: str, what: str) -> str:
    with server.client(token=token) as client:
        resp = client.get(f"/api/v1/account/can-i/{what}")
        assert resp.status_code == 200, resp.text
        answer: str = resp.json()["value"]
        return answer


def test_browser_login_maps_groups_to_roles_and_is_audited(
    context: BrowserContext,
    sso_server: serverproc.ServerProcess,
    provider: oidcprovider.OidcProvider,
) -> None:
    alice = _browser_login(context, sso_server, ALICE)
    with sso_server.client(token=alice) as client:
        info = client.get("/api/v1/session/userinfo").json()
    assert info["username"] == ALICE.email and info["groups"] == ["deployers"]
    # deployers is mapped to role:admin by argocd-rbac-cm (re-read every 2 s)
    until(lambda: _can(sso_server, alice, "applications/sync/default/anything") == "yes", within=30)

    context.clear_cookies()
    bob = _browser_login(context, sso_server, BOB)
    assert _can(sso_server, bob, "applications/sync/default/anything") == "no"
    assert _can(sso_server, bob, "applications/get/default/anything") == "no"

    # what the group grants is done, what it does not is refused: both audited with the actor
    project = f"sso-{secrets.token_hex(3)}"
    body = json.dumps({"project": {"metadata": {"name": project}, "spec": {}}})
    headers = {"Content-Type": "application/json"}
    with sso_server.client(token=alice) as client:
        assert client.post("/api/v1/projects", content=body, headers=headers).status_code == 200
    with sso_server.client(token=bob) as client:
        refused = client.request("DELETE", f"/api/v1/projects/{project}", headers=headers)
        assert refused.status_code == 403

    with sso_server.client(token=sso_server.login()) as admin:
        entries = admin.get("/api/v1/audit", params={"action": "login"}).json()["items"]
        on_project = admin.get("/api/v1/audit", params={"name": project}).json()["items"]
    logins = {(e["actor"], e["result"]) for e in entries}
    assert (ALICE.email, "succeeded") in logins and (BOB.email, "succeeded") in logins
    alice_entry = next(e for e in entries if e["actor"] == ALICE.email)
    assert alice_entry["groups"] == ["deployers"] and alice_entry["object"]["kind"] == "Session"
    assert {(e["actor"], tuple(e["groups"]), e["action"], e["result"]) for e in on_project} == {
        (ALICE.email, ("deployers",), "create", "succeeded"),
        (BOB.email, ("viewers",), "delete", "denied"),
    }


def test_replayed_state_is_refused(
    context: BrowserContext,
    sso_server: serverproc.ServerProcess,
    provider: oidcprovider.OidcProvider,
) -> None:
    callbacks: list[str] = []

    def seen(request: Request) -> None:
        if request.url.startswith(sso_server.url + "/auth/callback"):
            callbacks.append(request.url)

    context.on("request", seen)
    _browser_login(context, sso_server, ALICE)
    assert len(callbacks) == 1
    state_cookie = callbacks[0].split("state=")[1].split("&")[0]
    with sso_server.client(cookies={"argocd.oauthstate": state_cookie}) as client:
        again = client.get(callbacks[0].removeprefix(sso_server.url))
    assert again.status_code == 401
    assert "unknown or already used login state" in again.json()["message"]
    assert "argocd.token" not in again.cookies
    with sso_server.client() as client:
        unknown = client.get("/auth/callback", params={"code": "x", "state": "never-issued"})
    assert unknown.status_code == 401


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_bad_id_tokens_are_refused(
    context: BrowserContext,
    sso_server: serverproc.ServerProcess,
    provider: oidcprovider.OidcProvider,
) -> None:
    good = _browser_login(context, sso_server, ALICE)
    claims = jwt.decode(good, options={"verify_signature": False})
    kid = jwt.get_unverified_header(good)["kid"]
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = int(time.time())
    bad = {
        "forged": jwt.encode(claims, other_key, algorithm="RS256", headers={"kid": kid}),
        "unknown-key": jwt.encode(claims, other_key, algorithm="RS256", headers={"kid": "nope"}),
        "alg-none": _b64({"alg": "none", "kid": kid}) + "." + _b64(claims) + ".",
        "hmac-with-public-data": jwt.encode(claims, b"k" * 32, algorithm="HS256"),
        "wrong-issuer": jwt.encode(
            {**claims, "iss": "http://127.0.0.1:1/"}, other_key, algorithm="RS256"
        ),
        "tampered": good.rsplit(".", 2)[0]
        + "."
        + _b64({**claims, "groups": ["admins"], "exp": now + 9999})
        + "."
        + good.rsplit(".", 1)[1],
    }
    with sso_server.client() as client:
        assert client.get(
            "/api/v1/session/userinfo", headers={"Authorization": f"Bearer {good}"}
        ).is_success
        for name, token in bad.items():
            resp = client.get(
                "/api/v1/session/userinfo", headers={"Authorization": f"Bearer {token}"}
            )
            assert resp.status_code == 401, name
            assert resp.json()["message"].startswith("invalid session"), name
            assert token not in resp.text and good not in resp.text


def test_cli_sso_login(
    context: BrowserContext,
    sso_server: serverproc.ServerProcess,
    provider: oidcprovider.OidcProvider,
    tmp_path: Path,
) -> None:
    config = tmp_path / "config"
    port = procs.free_port()
    address = sso_server.url.removeprefix("https://")
    cmd = [sys.executable, "-m", "tidegate", "login", address, "--sso", "--insecure"]
    cmd += [f"--sso-port={port}", "--sso-launch-browser=false", f"--config={config}"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        while "Performing authorization_code flow login: " not in line:
            assert line, "the CLI ended before printing the login URL"
            line = proc.stderr.readline()
        url = line.split("login: ", 1)[1].strip()
        assert "code_challenge_method=S256" in url and "client_id=tidegate-cli" in url
        page = context.new_page()
        page.goto(url)
        page.fill("#username", ALICE.username)
        page.fill("#password", ALICE.password)
        page.click("button[type=submit]")
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert f"'{ALICE.email}' logged in successfully" in out
    token = yaml.safe_load(config.read_text())["users"][0]["auth-token"]
    assert token not in out + err
    until(lambda: _can(sso_server, token, "applications/sync/default/x") == "yes", within=30)
    listed = subprocess.run(
        [sys.executable, "-m", "tidegate", "account", "get-user-info", f"--config={config}"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert listed.returncode == 0 and ALICE.email in listed.stdout, listed.stderr


def test_a_token_the_provider_issued_to_another_client_is_refused(
    context: BrowserContext,
    sso_server: serverproc.ServerProcess,
    provider: oidcprovider.OidcProvider,
) -> None:
    query = httpx.QueryParams(
        response_type="code",
        client_id="other-app",
        redirect_uri=OTHER_REDIRECT,
        scope="openid email groups",
        state="s",
        nonce="n",
    )
    page = context.new_page()
    page.goto(f"{provider.issuer}auth?{query}")
    page.fill("#username", ALICE.username)
    page.fill("#password", ALICE.password)
    with page.expect_request(lambda r: r.url.startswith(OTHER_REDIRECT)) as req:
        page.click("button[type=submit]")
    code = httpx.URL(req.value.url).params["code"]
    issued = httpx.post(
        provider.issuer + "oauth/token",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": OTHER_REDIRECT},
        auth=("other-app", OTHER_SECRET),
    )
    assert issued.status_code == 200, issued.text
    token = issued.json()["id_token"]
    assert jwt.decode(token, options={"verify_signature": False})["aud"] == ["other-app"]
    with sso_server.client() as client:
        resp = client.get("/api/v1/session/userinfo", headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 401
    assert "audience" in resp.json()["message"]


def test_rotated_key_is_fetched_and_the_old_one_refused(
    context: BrowserContext,
    sso_server: serverproc.ServerProcess,
    provider: oidcprovider.OidcProvider,
) -> None:
    before = _browser_login(context, sso_server, ALICE)
    old_kid = jwt.get_unverified_header(before)["kid"]
    provider.restart()  # a new signing key, the old one no longer published
    assert old_kid not in json.dumps(provider.keys())
    context.clear_cookies()
    after = _browser_login(context, sso_server, ALICE)
    assert jwt.get_unverified_header(after)["kid"] != old_kid
    with sso_server.client() as client:
        ok = client.get("/api/v1/session/userinfo", headers={"Authorization": f"Bearer {after}"})
        assert ok.status_code == 200 and ok.json()["username"] == ALICE.email
        old = client.get("/api/v1/session/userinfo", headers={"Authorization": f"Bearer {before}"})
        assert old.status_code == 401


def test_provider_errors_and_bad_config_are_named_and_the_secret_never_shown(
    sso_server: serverproc.ServerProcess,
    provider: oidcprovider.OidcProvider,
    testbed_handle: handle.TestBed,
    control_namespace: str,
) -> None:
    with sso_server.client() as client:
        refused = client.get(
            "/auth/callback",
            params={"error": "access_denied", "error_description": "user said no", "state": "s"},
        )
        assert refused.status_code == 401
        assert "the identity provider refused the login: user said no" in refused.text
        public = client.get("/api/v1/settings/oidc")
        assert public.json()["clientID"] == "tidegate" and CLIENT_SECRET not in public.text
    with sso_server.client(token=sso_server.login()) as admin:
        settings = admin.get("/api/v1/settings")
        assert settings.json()["oidcConfig"]["issuer"] == provider.issuer
        assert CLIENT_SECRET not in settings.text

    with testbed_handle.admin_client("mgmt") as mgmt:
        path = f"/api/v1/namespaces/{control_namespace}/configmaps/argocd-cm"
        good = mgmt.get(path).json()["data"]["oidc.config"]
    broken = good.replace(f"${SECRET_KEY}", "$oidc.absent")
    access_helpers.patch_configmap(
        testbed_handle, control_namespace, "argocd-cm", {"oidc.config": broken}
    )
    try:

        def misconfigured() -> httpx.Response | None:
            with sso_server.client() as client:
                resp = client.get("/auth/login")
            return resp if resp.status_code == 503 else None

        answer = until(misconfigured, within=30)
        assert "clientSecret refers to $oidc.absent, which argocd-secret lacks" in answer.text
    finally:
        access_helpers.patch_configmap(
            testbed_handle, control_namespace, "argocd-cm", {"oidc.config": good}
        )

        def repaired() -> httpx.Response | None:
            with sso_server.client() as client:
                resp = client.get("/auth/login")
            return resp if resp.status_code != 503 else None

        # The next tests share the server: they start once it has read the good config back.
        until(repaired, within=30)
    assert CLIENT_SECRET not in sso_server.log.read_text()
    assert "code=" not in sso_server.log.read_text()


def test_logout_clears_the_cookie_and_goes_to_the_providers_logout_url(
    sso_server: serverproc.ServerProcess,
    provider: oidcprovider.OidcProvider,
    testbed_handle: handle.TestBed,
    control_namespace: str,
) -> None:
    with sso_server.client(cookies={"argocd.token": "tok.en.x"}) as client:
        plain = client.get("/auth/logout")
    assert plain.status_code == 303 and plain.headers["location"] == "/login"
    assert 'argocd.token=""' in plain.headers["set-cookie"]

    with testbed_handle.admin_client("mgmt") as mgmt:
        path = f"/api/v1/namespaces/{control_namespace}/configmaps/argocd-cm"
        good = mgmt.get(path).json()["data"]["oidc.config"]
    query = "id_token_hint={{token}}&r={{logoutRedirectURL}}"
    template = f"{provider.issuer}end_session?{query}"
    with_logout = yaml.safe_dump({**yaml.safe_load(good), "logoutURL": template})
    access_helpers.patch_configmap(
        testbed_handle, control_namespace, "argocd-cm", {"oidc.config": with_logout}
    )
    try:

        def redirected() -> str | None:
            with sso_server.client(cookies={"argocd.token": "tok.en.x"}) as client:
                location = str(client.get("/auth/logout").headers.get("location") or "")
            return location if location.startswith(provider.issuer) else None

        location = until(redirected, within=30)
        back = httpx.QueryParams(httpx.URL(location).query)
        assert back["id_token_hint"] == "tok.en.x"
        assert back["r"] == sso_server.url + "/login"
    finally:
        access_helpers.patch_configmap(
            testbed_handle, control_namespace, "argocd-cm", {"oidc.config": good}
        )


def test_cli_sso_login_callback_names_the_redirect(
    sso_server: serverproc.ServerProcess, provider: oidcprovider.OidcProvider, tmp_path: Path
) -> None:
    """``login --sso --callback URL``: the identity provider is told to send the browser back
    to URL's scheme, host and port (here 127.0.0.1 instead of localhost), while the CLI listens
    on --sso-port; a callback reaching it with another state completes nothing (exit 1)."""
    port = procs.free_port()
    address = sso_server.url.removeprefix("https://")
    cmd = [sys.executable, "-m", "tidegate", "login", address, "--sso", "--insecure"]
    cmd += [f"--sso-port={port}", "--sso-launch-browser=false", f"--config={tmp_path / 'c'}"]
    cmd += [f"--callback=http://127.0.0.1:{port}"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        while "Performing authorization_code flow login: " not in line:
            assert line, "the CLI ended before printing the login URL"
            line = proc.stderr.readline()
        url = httpx.URL(line.split("login: ", 1)[1].strip())
        assert url.params["redirect_uri"] == f"http://127.0.0.1:{port}/auth/callback"
        answer = httpx.get(f"http://127.0.0.1:{port}/auth/callback?code=x&state=forged")
        assert answer.status_code < 500
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 1
    assert "SSO callback with a wrong state; the login was not completed" in err
    assert not (tmp_path / "c").exists()
