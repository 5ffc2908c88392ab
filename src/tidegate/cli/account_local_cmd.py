"""``tidegate account bcrypt`` and ``account session-token``: argocd's two account verbs that
need no server round trip.

``bcrypt --password P`` prints the hash ``argocd-secret`` stores for a local account
(``$2a$10$...``, ``auth.passwords``, so Argo CD and Tidegate accept each other's hashes).
``session-token`` prints the token ``tidegate login`` stored for the current context, for
scripts (``export ARGOCD_AUTH_TOKEN=$(tidegate account session-token)``); ``-o json`` adds its
claims (read, not verified: the server verifies). The token is printed only because it is the
command's whole point; no other command shows it.
"""

from __future__ import annotations

from typing import Any

import typer

from tidegate.cli.login_cmd import CONFIG_OPTION


def bcrypt(
    password: str = typer.Option(..., "--password", help="The password to hash."),
) -> None:
    """Print the bcrypt hash of a password, as argocd-secret stores local accounts' ones."""
    from tidegate.auth import passwords
    from tidegate.cli import output

    try:
        typer.echo(passwords.hash_password(password))
    except ValueError as exc:
        raise output.fail(str(exc), 2) from None


def session_token(
    fmt: str = typer.Option("", "--output", "-o", help="json: the token with its claims."),
    config: str | None = CONFIG_OPTION,
) -> None:
    """Print the current context's session token (for scripts)."""
    from tidegate.cli import apiclient, output

    if fmt not in ("", "text", "json"):
        raise output.fail(f"--output: {fmt!r} is not json", 2)
    _, token, _ = apiclient.session(config)
    if fmt != "json":
        typer.echo(token)
        return
    import jwt

    try:
        claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        claims = {}
    output.dump({"token": token, "claims": claims}, output.Format.json)
