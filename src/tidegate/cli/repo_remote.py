"""``tidegate repo`` and ``tidegate repocreds`` through the API server of the login context.

The server's RepositoryService and RepoCredsService replies are Argo CD's Repository and
RepoCreds messages; the direct mode builds the same messages
(:func:`tidegate.controller.repo_states.repository_json`), and :func:`info` turns either into
the rows the commands print, so output and exit codes are the same in both modes. A
repository's connection state is the server's own ``git ls-remote`` (``forceRefresh=true``);
``add`` tests access through ``POST .../validate`` before it stores anything, and says
``added``, ``unchanged`` or ``updated`` as the direct mode does (a registration is compared by
a create without ``upsert``, which writes nothing when one exists).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from tidegate.cli import remote
from tidegate.model import errors

if TYPE_CHECKING:
    from tidegate.controller import repos

Obj = dict[str, Any]
REPOS = "/api/v1/repositories"
CREDS = "/api/v1/repocreds"
DIFFERENT = "spec is different"  # the server's 400 for a create that would change a registration


def info(message: Mapping[str, Any], *, creds: bool = False) -> Obj:
    """What ``repo list|get`` (or, ``creds``, ``repocreds list``) shows of a Repository (or
    RepoCreds) message, in either mode."""
    shown: Obj = {
        "url" if creds else "repo": message.get("url" if creds else "repo", ""),
        "type": message.get("type") or "git",
    }
    if not creds:
        shown["name"] = message.get("name") or ""
    shown |= {
        "project": message.get("project") or "",
        "username": message.get("username") or "",
        "credentials": list(message.get("credentials") or []),
        "insecure": bool(message.get("insecure")),
        "enableLfs": bool(message.get("enableLfs")),
        "forceHttpBasicAuth": bool(message.get("forceHttpBasicAuth")),
        "secretName": message.get("secretName") or "",
    }
    if not creds:
        state = message.get("connectionState") or {}
        shown["connectionState"] = {
            "status": state.get("status") or "Unknown",
            "message": state.get("message") or "",
        }
    return shown


async def repositories(server: remote.Remote, *, refresh: bool, only: str = "") -> list[Obj]:
    params: dict[str, Any] = {"forceRefresh": "true" if refresh else "false"}
    if only:
        params["repo"] = only
    return [info(i) for i in await server.items(REPOS, **params)]


async def templates(server: remote.Remote) -> list[Obj]:
    return [info(i, creds=True) for i in await server.items(CREDS)]


async def _compare(server: remote.Remote, path: str, body: Obj) -> bool:
    """Whether the stored registration equals ``body`` (a create without upsert: the server
    writes nothing when one exists, and refuses a different one)."""
    try:
        await server.call("POST", path, body=body)
    except errors.ConfigError as exc:
        if DIFFERENT in str(exc):
            return False
        raise
    return True


async def add(server: remote.Remote, spec: repos.RepoSpec, *, upsert: bool, skip_test: bool) -> str:
    from tidegate.controller import repo_states
    from tidegate.sources import urls

    shown = urls.display(spec.url)
    body = repo_states.spec_body(spec)
    existing = await server.get_or_none(f"{REPOS}/{remote.quote(spec.url)}")
    same = existing is not None and await _compare(server, REPOS, body)
    if existing is not None and not same and not upsert:
        raise errors.ConfigError(
            f"repository {shown} is already registered (Secret {existing.get('secretName')})"
            " with different settings; use --upsert to overwrite"
        )
    note = " (access not tested)" if skip_test else ""
    if not skip_test:
        test = {k: v for k, v in body.items() if k != "repo"}
        try:
            await server.call("POST", f"{REPOS}/{remote.quote(spec.url)}/validate", body=test)
        except errors.ConfigError as exc:  # the direct mode's message: the cause, unprefixed
            raise errors.ConfigError(
                str(exc).removeprefix(f"unable to connect to repository {shown}: ")
            ) from None
    if existing is None:
        await server.call("POST", REPOS, body=body)
        return f"repository {shown} added{note}"
    if same:
        return f"repository {shown} unchanged{note}"
    await server.call("POST", REPOS, body=body, params={"upsert": "true"})
    return f"repository {shown} updated{note}"


async def rm(server: remote.Remote, url: str, project: str) -> str:
    from tidegate.sources import urls

    path = f"{REPOS}/{remote.quote(url)}"
    existing = await server.get_or_none(path)
    if existing is None:
        raise errors.ConfigError(f"repository {urls.display(url)} is not registered")
    scoped = str(existing.get("project") or "")
    if project and scoped != project:
        where = f"project '{scoped}'" if scoped else "no project"
        raise errors.ConfigError(
            f"repository {urls.display(url)} is not registered in project '{project}' (it is"
            f" registered for {where})"
        )
    await server.call("DELETE", path)
    return f"repository {urls.display(url)} removed"


async def _template(server: remote.Remote, url: str) -> Obj | None:
    found = await server.items(CREDS, url=url)
    return found[0] if found else None


async def add_template(server: remote.Remote, spec: repos.RepoSpec, *, upsert: bool) -> str:
    from tidegate.controller import repo_states
    from tidegate.sources import urls

    shown = urls.display(spec.url)
    body = repo_states.spec_body(spec, url_field="url")
    existing = await _template(server, spec.url)
    if existing is None:
        await server.call("POST", CREDS, body=body)
        return f"repository credentials for {shown} added"
    if await _compare(server, CREDS, body):
        return f"repository credentials for {shown} unchanged"
    if not upsert:
        raise errors.ConfigError(
            f"repository credentials for {shown} already exist (Secret "
            f"{existing.get('secretName')}) with other settings; use --upsert to overwrite them"
        )
    await server.call("POST", CREDS, body=body, params={"upsert": "true"})
    return f"repository credentials for {shown} updated"


async def rm_template(server: remote.Remote, url: str) -> str:
    from tidegate.sources import urls

    if await _template(server, url) is None:
        raise errors.ConfigError(f"no repository credentials for {urls.display(url)}")
    await server.call("DELETE", f"{CREDS}/{remote.quote(url)}")
    return f"repository credentials for {urls.display(url)} removed"
