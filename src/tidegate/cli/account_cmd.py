"""``tidegate account``: accounts and API tokens through the API server, as ``argocd account``.

Every subcommand uses the current context stored by ``tidegate login``.
"""

from __future__ import annotations

import datetime
import re
import urllib.parse
from typing import Any

import typer

from tidegate.cli import apiclient, output
from tidegate.cli.login_cmd import CONFIG_OPTION

app = typer.Typer(name="account", help="Manage accounts and API tokens.", no_args_is_help=True)
_DURATION = re.compile(r"(\d+)([smhd])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> int:
    """``24h``, ``1h30m``, ``90s``, ``7d`` or plain seconds → seconds (0: never expires)."""
    text = text.strip()
    if text.isdigit():
        return int(text)
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise output.fail(f"invalid duration {text!r} (examples: 24h, 30m, 7d)")
    return sum(int(n) * _UNITS[u] for n, u in parts)


def _q(name: str) -> str:
    return urllib.parse.quote(name, safe="")


def _when(epoch: Any) -> str:
    if not epoch:
        return "never"
    return datetime.datetime.fromtimestamp(int(epoch), datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _me(config: str | None) -> str:
    return str(apiclient.call(config, "GET", "/api/v1/session/userinfo").get("username") or "")


@app.command("list")
def list_accounts(
    out: output.Format = output.OUTPUT_OPTION, config: str | None = CONFIG_OPTION
) -> None:
    """List accounts."""
    items = apiclient.call(config, "GET", "/api/v1/account").get("items") or []
    if out in (output.Format.json, output.Format.yaml):
        output.dump(items, out)
        return
    rows = [
        (a["name"], str(a.get("enabled", False)).lower(), ", ".join(a.get("capabilities") or []))
        for a in items
    ]
    output.table(("name", "enabled", "capabilities"), rows)


@app.command("get")
def get_account(
    account: str = typer.Option("", "--account", "-a", help="Account (default: yourself)."),
    out: output.Format = output.OUTPUT_OPTION,
    config: str | None = CONFIG_OPTION,
) -> None:
    """Show an account and its API tokens."""
    name = account or _me(config)
    found = apiclient.call(config, "GET", f"/api/v1/account/{_q(name)}")
    if out in (output.Format.json, output.Format.yaml):
        output.dump(found, out)
        return
    typer.echo(f"Name:               {found['name']}")
    typer.echo(f"Enabled:            {str(found.get('enabled', False)).lower()}")
    typer.echo(f"Capabilities:       {', '.join(found.get('capabilities') or [])}")
    typer.echo("\nTokens:")
    tokens = found.get("tokens") or []
    if not tokens:
        typer.echo("NONE")
        return
    output.table(
        ("id", "issued at", "expiring at"),
        [(t["id"], _when(t.get("issuedAt")), _when(t.get("expiresAt"))) for t in tokens],
    )


@app.command("get-user-info")
def get_user_info(
    out: output.Format = output.OUTPUT_OPTION, config: str | None = CONFIG_OPTION
) -> None:
    """Show who the current session is."""
    info = apiclient.call(config, "GET", "/api/v1/session/userinfo")
    if out in (output.Format.json, output.Format.yaml):
        output.dump(info, out)
        return
    typer.echo(f"Logged In: {str(info.get('loggedIn', False)).lower()}")
    typer.echo(f"Username: {info.get('username', '')}")
    typer.echo(f"Issuer: {info.get('iss', '')}")
    typer.echo(f"Groups: {','.join(info.get('groups') or [])}")


@app.command("update-password")
def update_password(
    account: str = typer.Option("", "--account", help="Account (default: yourself)."),
    current: str = typer.Option(
        ...,
        "--current-password",
        prompt="*** Enter password of currently logged in user",
        hide_input=True,
    ),
    new: str = typer.Option(
        ...,
        "--new-password",
        prompt="*** Enter new password",
        hide_input=True,
        confirmation_prompt=True,
    ),
    config: str | None = CONFIG_OPTION,
) -> None:
    """Change an account's password (the current password is the logged-in user's)."""
    name = account or _me(config)
    body = {"name": name, "currentPassword": current, "newPassword": new}
    apiclient.call(config, "PUT", "/api/v1/account/password", body=body)
    typer.echo("Password updated")


@app.command("generate-token")
def generate_token(
    account: str = typer.Option("", "--account", "-a", help="Account (default: yourself)."),
    expires_in: str = typer.Option("0s", "--expires-in", "-e", help="Lifetime (0s: none)."),
    token_id: str = typer.Option("", "--id", "-i", help="Token id (default: a uuid)."),
    config: str | None = CONFIG_OPTION,
) -> None:
    """Generate an API token; it is printed once and not stored anywhere."""
    name = account or _me(config)
    body: dict[str, Any] = {"expiresIn": parse_duration(expires_in)}
    if token_id:
        body["id"] = token_id
    reply = apiclient.call(config, "POST", f"/api/v1/account/{_q(name)}/token", body=body)
    typer.echo(reply["token"])


@app.command("delete-token")
def delete_token(
    token_id: str = typer.Argument(..., help="The token's id."),
    account: str = typer.Option("", "--account", "-a", help="Account (default: yourself)."),
    config: str | None = CONFIG_OPTION,
) -> None:
    """Delete (revoke) an API token; requests with it are refused at once."""
    name = account or _me(config)
    apiclient.call(config, "DELETE", f"/api/v1/account/{_q(name)}/token/{_q(token_id)}")


@app.command("can-i")
def can_i(
    action: str = typer.Argument(..., help="get, create, update, delete, sync, ..."),
    resource: str = typer.Argument(..., help="applications, projects, clusters, ..."),
    subresource: str = typer.Argument("*", help="The object, e.g. 'proj/app'."),
    config: str | None = CONFIG_OPTION,
) -> None:
    """Print yes or no: may the current user do ACTION on RESOURCE SUBRESOURCE?"""
    path = f"/api/v1/account/can-i/{_q(resource)}/{_q(action)}/{subresource}"
    typer.echo(apiclient.call(config, "GET", path)["value"])


def _register_local() -> None:
    from tidegate.cli import account_local_cmd

    app.command("bcrypt")(account_local_cmd.bcrypt)
    app.command("session-token")(account_local_cmd.session_token)


_register_local()
