"""``tidegate proj role create-token|delete-token``: project role tokens, through the server."""

from __future__ import annotations

import urllib.parse

import typer

from tidegate.cli import apiclient
from tidegate.cli.account_cmd import parse_duration
from tidegate.cli.login_cmd import CONFIG_OPTION

app = typer.Typer(name="role", help="Manage a project's role tokens.", no_args_is_help=True)


def _path(project: str, role: str) -> str:
    q = urllib.parse.quote
    return f"/api/v1/projects/{q(project, safe='')}/roles/{q(role, safe='')}/token"


@app.command("create-token")
def create_token(
    project: str = typer.Argument(..., help="The AppProject."),
    role: str = typer.Argument(..., help="A role of its spec.roles."),
    expires_in: str = typer.Option("0s", "--expires-in", "-e", help="Lifetime (0s: none)."),
    token_id: str = typer.Option("", "--id", "-i", help="Token id (default: a uuid)."),
    token_only: bool = typer.Option(
        False, "--token-only", "-t", help="Print only the token (for scripts), as argocd."
    ),
    config: str | None = CONFIG_OPTION,
) -> None:
    """Create a token for a project role; it is printed once and listed in the project's
    status (jwtTokensByRole)."""
    import datetime as dt

    import jwt

    body: dict[str, object] = {"expiresIn": parse_duration(expires_in)}
    if token_id:
        body["id"] = token_id
    token = str(apiclient.call(config, "POST", _path(project, role), body=body)["token"])
    if token_only:
        typer.echo(token)
        return
    claims = jwt.decode(token, options={"verify_signature": False})

    def when(key: str) -> str:
        stamp = claims.get(key)
        if not isinstance(stamp, int | float):
            return "Never"
        return dt.datetime.fromtimestamp(stamp, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    typer.echo(f"Create token succeeded for {claims.get('sub', f'proj:{project}:{role}')}.")
    typer.echo(f"  ID: {claims.get('jti', '')}")
    typer.echo(f"  Issued At: {when('iat')}")
    typer.echo(f"  Expires At: {when('exp')}")
    typer.echo(f"  Token: {token}")


@app.command("delete-token")
def delete_token(
    project: str = typer.Argument(..., help="The AppProject."),
    role: str = typer.Argument(..., help="The role."),
    issued_at: int = typer.Argument(..., help="The token's iat (see the project's status)."),
    token_id: str = typer.Option("", "--id", "-i", help="Only the token with this id."),
    config: str | None = CONFIG_OPTION,
) -> None:
    """Revoke a project role token."""
    params = {"id": token_id} if token_id else None
    apiclient.call(config, "DELETE", f"{_path(project, role)}/{issued_at}", params=params)
