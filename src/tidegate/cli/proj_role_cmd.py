"""``tidegate proj role``: a project's roles (``spec.roles``) and their tokens.

``create-token``/``delete-token`` go through the server (it signs tokens); the other verbs edit
the AppProject on the management cluster (``proj_access.run_edit``: read, edit with
``cli.projroles``, validate, write on the resourceVersion read), as ``proj windows`` does.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable
from typing import Annotated, Any

import typer

from tidegate.cli import apiclient, kubeopts, remote
from tidegate.cli.account_cmd import parse_duration
from tidegate.cli.login_cmd import CONFIG_OPTION

app = typer.Typer(
    name="role", help="Manage a project's roles and their tokens.", no_args_is_help=True
)


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


# -- the roles themselves: edited on the management cluster, as `proj windows` edits windows --

PROJECT: Any = typer.Argument(..., help="Project name.")
ROLE: Any = typer.Argument(..., help="Role name.")
Opt = typer.Option
Action = Annotated[
    str, Opt("--action", "-a", help="Action to grant or deny (get, create, update, sync, ...).")
]
Object = Annotated[
    str, Opt("--object", "-o", help="Object within the project ('*' for all): PROJECT/OBJECT.")
]
Permission = Annotated[str, Opt("--permission", "-p", help="allow or deny.")]
Resource = Annotated[
    str, Opt("--resource", "-r", help="Resource (applications, applicationsets, ...).")
]


# (--kubeconfig, --context, -n, --core) of a command.
Where = tuple[str | None, str | None, str, bool]


def _edit(where: Where, project: str, change: Callable[[dict[str, Any]], Any]) -> None:
    from tidegate.cli import proj_access

    kubeconfig, context, namespace, core = where
    proj_access.run_edit(kubeconfig, context, namespace, project, change, core=core)


def _read(where: Where, project: str, view: Callable[[dict[str, Any]], Any] = lambda p: p) -> Any:
    """``view`` of the project read (its ConfigError, e.g. no such role, exits 1)."""
    from tidegate.cli import app_common, proj_access

    kubeconfig, context, namespace, core = where

    async def go() -> Any:
        async with proj_access.connect(kubeconfig, context, namespace, core=core) as projects:
            return view(await projects.get(project))

    return app_common.run(go())


@app.command("create")
def create(
    project: str = PROJECT,
    role: str = ROLE,
    description: Annotated[str, Opt("--description", help="Role description.")] = "",
    kubeconfig: str | None = kubeopts.KUBECONFIG_OPTION,
    context: str | None = kubeopts.CONTEXT_OPTION,
    namespace: str = kubeopts.NAMESPACE_OPTION,
    core: bool = remote.CORE_OPTION,
) -> None:
    """Create a project role (one that exists already: nothing changes, exit 0)."""
    from tidegate.cli import projroles

    _edit((kubeconfig, context, namespace, core), project,
          lambda p: projroles.create(p, role, description=description))  # fmt: skip


@app.command("delete")
def delete(
    project: str = PROJECT,
    role: str = ROLE,
    kubeconfig: str | None = kubeopts.KUBECONFIG_OPTION,
    context: str | None = kubeopts.CONTEXT_OPTION,
    namespace: str = kubeopts.NAMESPACE_OPTION,
    core: bool = remote.CORE_OPTION,
) -> None:
    """Delete a project role and its tokens (one that does not exist: nothing changes)."""
    from tidegate.cli import projroles

    _edit((kubeconfig, context, namespace, core), project, lambda p: projroles.delete(p, role))


def _policy_command(command: str, *, add: bool) -> None:
    def run(
        project: str = PROJECT,
        role: str = ROLE,
        action: Action = "",
        obj: Object = "",
        permission: Permission = "allow",
        resource: Resource = "applications",
        kubeconfig: str | None = kubeopts.KUBECONFIG_OPTION,
        context: str | None = kubeopts.CONTEXT_OPTION,
        namespace: str = kubeopts.NAMESPACE_OPTION,
        core: bool = remote.CORE_OPTION,
    ) -> None:
        from tidegate.cli import projroles

        def change(p: dict[str, Any]) -> Any:
            line = projroles.policy_line(p, role, action=action, obj=obj,
                                         permission=permission, resource=resource)  # fmt: skip
            edit = projroles.add_policy if add else projroles.remove_policy
            return edit(p, role, line)

        _edit((kubeconfig, context, namespace, core), project, change)

    run.__doc__ = (
        "Add a policy to a project role: 'p, proj:PROJECT:ROLE, RESOURCE, ACTION,"
        " PROJECT/OBJECT, PERMISSION'."
        if add
        else "Remove a policy (the same flags as add-policy) from a project role."
    )
    app.command(command)(run)


_policy_command("add-policy", add=True)
_policy_command("remove-policy", add=False)


def _group_command(command: str, *, add: bool) -> None:
    def run(
        project: str = PROJECT,
        role: str = ROLE,
        group: str = typer.Argument(..., metavar="GROUP-CLAIM", help="An OIDC group claim."),
        kubeconfig: str | None = kubeopts.KUBECONFIG_OPTION,
        context: str | None = kubeopts.CONTEXT_OPTION,
        namespace: str = kubeopts.NAMESPACE_OPTION,
        core: bool = remote.CORE_OPTION,
    ) -> None:
        from tidegate.cli import projroles

        edit = projroles.add_group if add else projroles.remove_group
        _edit((kubeconfig, context, namespace, core), project, lambda p: edit(p, role, group))

    run.__doc__ = (
        "Bind an OIDC group claim to a project role."
        if add
        else "Remove an OIDC group claim from a project role."
    )
    app.command(command)(run)


_group_command("add-group", add=True)
_group_command("remove-group", add=False)


@app.command("list")
def list_(
    project: str = PROJECT,
    fmt: str = Opt("table", "--output", "-o", help="table, name, json or yaml."),
    kubeconfig: str | None = kubeopts.KUBECONFIG_OPTION,
    context: str | None = kubeopts.CONTEXT_OPTION,
    namespace: str = kubeopts.NAMESPACE_OPTION,
    core: bool = remote.CORE_OPTION,
) -> None:
    """List a project's roles: ROLE-NAME DESCRIPTION."""
    from tidegate.cli import output, projroles

    if fmt not in ("table", "wide", "name", "json", "yaml"):
        raise output.fail(f"--output: unknown format {fmt!r} (table, name, json, yaml)", 2)
    found = _read((kubeconfig, context, namespace, core), project)
    if fmt in ("json", "yaml"):
        output.dump(list((found.get("spec") or {}).get("roles") or []), output.Format(fmt))
    elif fmt == "name":
        for name, _ in projroles.role_rows(found):
            typer.echo(name)
    else:
        output.table(projroles.ROLE_HEADERS, projroles.role_rows(found))


@app.command("get")
def get(
    project: str = PROJECT,
    role: str = ROLE,
    kubeconfig: str | None = kubeopts.KUBECONFIG_OPTION,
    context: str | None = kubeopts.CONTEXT_OPTION,
    namespace: str = kubeopts.NAMESPACE_OPTION,
    core: bool = remote.CORE_OPTION,
) -> None:
    """Show a project role: description, policies, groups and tokens."""
    from tidegate.cli import output, projroles

    def view(p: dict[str, Any]) -> Any:
        return projroles.describe(p, role), projroles.token_rows(p, role)

    lines, rows = _read((kubeconfig, context, namespace, core), project, view)
    for line in lines:
        typer.echo(line)
    output.table(projroles.TOKEN_HEADERS, rows)


@app.command("list-tokens")
def list_tokens(
    project: str = PROJECT,
    role: str = ROLE,
    unixtime: Annotated[
        bool, Opt("--unixtime", "-u", help="Print times as Unix timestamps.")
    ] = False,
    kubeconfig: str | None = kubeopts.KUBECONFIG_OPTION,
    context: str | None = kubeopts.CONTEXT_OPTION,
    namespace: str = kubeopts.NAMESPACE_OPTION,
    core: bool = remote.CORE_OPTION,
) -> None:
    """List a project role's tokens: ID ISSUED AT EXPIRES AT."""
    from tidegate.cli import output, projroles

    rows = _read((kubeconfig, context, namespace, core), project,
                 lambda p: projroles.token_rows(p, role, unix=unixtime))  # fmt: skip
    if not rows:
        typer.echo(f"No tokens for role '{role}' of project '{project}'.")
        return
    output.table(projroles.TOKEN_HEADERS, rows)
