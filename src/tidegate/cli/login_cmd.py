"""``tidegate login``, ``tidegate logout`` and ``tidegate context``, as argocd has them.

``login SERVER`` posts the username and password to ``SERVER``'s ``/api/v1/session`` (HTTPS,
certificate verified unless ``--insecure``; plain HTTP with ``--plaintext``) and stores the
session token as a context in the user's config directory (see :mod:`tidegate.cli.apiconfig`).
``login SERVER --sso`` logs in through the server's identity provider instead
(:mod:`tidegate.cli.sso_login`) and stores the provider's ID token.
The commands of the other nouns keep working directly on the management cluster.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from tidegate.cli import apiconfig, output

SSO_PORT = 8085  # argocd's default --sso-port (sso_login.DEFAULT_PORT)

CONFIG_OPTION: Any = typer.Option(
    None,
    "--config",
    envvar=apiconfig.ENV_CONFIG,
    show_envvar=True,
    help="Config file (default: the user's config dir, tidegate/config).",
)


def _path(config: str | None) -> Path:
    return Path(config).expanduser() if config else apiconfig.default_path()


def _address(server: str) -> str:
    for scheme in ("https://", "http://"):
        if server.startswith(scheme):
            server = server[len(scheme) :]
    return server.rstrip("/")


def login(
    server: str = typer.Argument(..., help="Server address, HOST:PORT."),
    username: str | None = typer.Option(None, "--username", help="Account name."),
    password: str | None = typer.Option(None, "--password", help="The account's password."),
    sso: bool = typer.Option(
        False, "--sso", help="Log in through the server's identity provider (browser)."
    ),
    sso_port: int = typer.Option(SSO_PORT, "--sso-port", help="Local port of the SSO callback."),
    sso_launch_browser: str = typer.Option(
        "true",
        "--sso-launch-browser",
        metavar="true|false",
        help="Open the browser (=false: only print the URL to open).",
    ),
    insecure: bool = typer.Option(
        False, "--insecure", help="Skip verification of the server's TLS certificate."
    ),
    plaintext: bool = typer.Option(False, "--plaintext", help="Use plain HTTP, not TLS."),
    skip_test_tls: bool = typer.Option(
        False,
        "--skip-test-tls",
        help="Do not test first whether the server speaks TLS and its certificate verifies.",
    ),
    callback: str | None = typer.Option(
        None,
        "--callback",
        help="SSO: scheme, host and port the identity provider sends the browser back to "
        "(default http://localhost:<--sso-port>).",
    ),
    name: str | None = typer.Option(None, "--name", help="Context name (default: the server)."),
    config: str | None = CONFIG_OPTION,
) -> None:
    """Log in to a Tidegate (or Argo CD) API server and store the session as a context.

    Unless --plaintext, --insecure or --skip-test-tls is given, the server is tested first, as
    argocd does: no TLS, or a certificate that does not verify, asks whether to go on (y/n)."""
    import httpx

    from tidegate.cli import app_common, appspec, login_tls

    address = _address(server)
    if callback and not sso:
        raise output.fail("--callback is the SSO login's redirect: give --sso too", 2)
    callback_base = login_tls.callback_base(callback, sso_port)
    if not (plaintext or insecure or skip_test_tls):
        plaintext, insecure = login_tls.settle(address, plaintext=plaintext, insecure=insecure)
    url = f"{'http' if plaintext else 'https'}://{address}"
    try:
        launch = app_common.parse_bool(sso_launch_browser, "--sso-launch-browser")
    except appspec.FlagError as exc:  # a usage error
        raise output.fail(str(exc), 2) from None
    if not sso:
        username = username if username is not None else typer.prompt("Username")
        if password is None:
            password = typer.prompt("Password", hide_input=True)
    body = json.dumps({"username": username, "password": password})
    try:
        with httpx.Client(base_url=url, verify=not insecure, timeout=30.0) as client:
            if sso:
                from tidegate.cli import sso_login  # httpx, jwt: only when logging in by SSO

                token = sso_login.sso_token(
                    client, port=sso_port, launch_browser=launch, callback=callback_base
                )
                resp = client.get(
                    "/api/v1/session/userinfo", headers={"Authorization": f"Bearer {token}"}
                )
            else:
                resp = client.post(
                    "/api/v1/session", content=body, headers={"Content-Type": "application/json"}
                )
    except httpx.ConnectError as exc:
        hint = "" if insecure else " (a self-signed certificate needs --insecure)"
        raise output.fail(f"cannot reach {url}: {exc}{hint}") from None
    except httpx.HTTPError as exc:
        raise output.fail(f"cannot reach {url}: {exc}") from None
    if resp.status_code != 200:
        try:
            message = str(resp.json().get("message") or resp.text)
        except ValueError:
            message = resp.text[:200]
        raise output.fail(f"login to {address} failed: {message} (HTTP {resp.status_code})")
    if sso:
        username = str(resp.json().get("username") or "")
    else:
        token = str(resp.json().get("token") or "")
    path = _path(config)
    conf = apiconfig.load(path)
    context_name = name or address
    apiconfig.add_login(
        conf, name=context_name, server=address, token=token, insecure=insecure, plaintext=plaintext
    )
    apiconfig.save(path, conf)
    who = username if sso else f"{username}:login"
    typer.echo(f"'{who}' logged in successfully")
    typer.echo(f"Context '{context_name}' updated")


def logout(
    context: str | None = typer.Argument(None, help="Context (default: the current one)."),
    config: str | None = CONFIG_OPTION,
) -> None:
    """Forget the session token of a context."""
    path = _path(config)
    conf = apiconfig.load(path)
    name = context or str(conf.get("current-context") or "")
    if not name or apiconfig.context(conf, name) is None:
        raise output.fail(f"no such context {name!r}" if name else "no current context")
    apiconfig.logout(conf, name)
    apiconfig.save(path, conf)
    typer.echo(f"Logged out from '{name}'")


def context(
    name: str | None = typer.Argument(None, help="Switch to this context."),
    delete: bool = typer.Option(False, "--delete", help="Delete the named context."),
    config: str | None = CONFIG_OPTION,
) -> None:
    """List the contexts, or switch to (or --delete) one."""
    path = _path(config)
    conf = apiconfig.load(path)
    if name is None:
        output.table(("current", "name", "server"), apiconfig.rows(conf))
        return
    if apiconfig.context(conf, name) is None:
        raise output.fail(f"no such context {name!r}")
    if delete:
        conf["contexts"] = [c for c in conf["contexts"] if c.get("name") != name]
        conf["users"] = [u for u in conf["users"] if u.get("name") != name]
        if conf.get("current-context") == name:
            conf["current-context"] = ""
        apiconfig.save(path, conf)
        typer.echo(f"Context '{name}' deleted")
        return
    conf["current-context"] = name
    apiconfig.save(path, conf)
    typer.echo(f"Switched to context '{name}'")
