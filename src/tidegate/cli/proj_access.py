"""AppProjects on the management cluster, for ``tidegate proj``.

Projects live in the control namespace (``-n``), as Argo CD keeps them. Paths are fixed
(``argoproj.io/v1alpha1`` ``appprojects``), so no command pays an API discovery round trip.
Every edit is read-modify-write with the ``resourceVersion`` it read: a concurrent change makes
the PUT fail with 409, and the edit is computed again from the new state (a few times), so two
clients adding a destination each both get theirs.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Callable, Mapping
from typing import TYPE_CHECKING, Any

from tidegate.model import constants, errors

if TYPE_CHECKING:
    from tidegate.cli import projspec
    from tidegate.kube import client as kube_client
    from tidegate.kube import config as kube_config

Obj = dict[str, Any]
EDIT_ATTEMPTS = 5
PLURAL = "appprojects"
DEFAULT_PROJECT = "default"


class Projects:
    """The AppProjects of one control namespace."""

    def __init__(
        self, client: kube_client.KubeClient, *, namespace: str, config: kube_config.ClusterConfig
    ) -> None:
        self.client = client
        self.namespace = namespace
        self.config = config

    def _path(self, name: str = "") -> str:
        base = f"/apis/{constants.GROUP}/{constants.VERSION}/namespaces/{self.namespace}/{PLURAL}"
        return f"{base}/{name}" if name else base

    def _what(self, verb: str, name: str = "") -> str:
        target = f"project {self.namespace}/{name}" if name else f"projects in {self.namespace}"
        return f"{verb} {target} on the management cluster"

    async def get_or_none(self, name: str) -> Obj | None:
        try:
            response = await self.client.request(
                "GET", self._path(name), what=self._what("get", name)
            )
        except errors.KubeNotFoundError:
            return None
        return response.body

    async def get(self, name: str) -> Obj:
        """The project; ``ConfigError`` (exit 1) naming it when it does not exist."""
        found = await self.get_or_none(name)
        if found is None:
            raise errors.ConfigError(f"project '{name}' not found in namespace '{self.namespace}'")
        return found

    async def list_all(self) -> list[Obj]:
        body = (await self.client.request("GET", self._path(), what=self._what("list"))).body
        items = [dict(i) for i in body.get("items") or []]
        for item in items:  # list items carry no kind/apiVersion
            item.setdefault("apiVersion", f"{constants.GROUP}/{constants.VERSION}")
            item.setdefault("kind", "AppProject")
        return sorted(items, key=lambda p: str(p["metadata"]["name"]))

    async def _send(self, method: str, path: str, body: Mapping[str, Any], what: str) -> Obj:
        response = await self.client.request(
            method,
            path,
            what=what,
            params={"fieldManager": constants.FIELD_MANAGER},
            body=json.dumps(body).encode(),
        )
        return response.body

    async def create(self, project: Mapping[str, Any]) -> Obj:
        name = str(project["metadata"]["name"])
        return await self._send("POST", self._path(), project, self._what("create", name))

    async def replace(self, project: Mapping[str, Any]) -> Obj:
        """PUT with the resourceVersion read: 409 (KubeConflictError) if it changed since."""
        name = str(project["metadata"]["name"])
        return await self._send("PUT", self._path(name), project, self._what("update", name))

    async def delete(self, name: str) -> bool:
        try:
            await self.client.request("DELETE", self._path(name), what=self._what("delete", name))
        except errors.KubeNotFoundError:
            return False
        return True

    async def edit(self, name: str, change: Callable[[Obj], projspec.Edit]) -> projspec.Edit:
        """Read the project, apply ``change``, validate, write it back if anything changed.

        ``change`` runs again on a fresh read when another client wrote in between.
        """
        from tidegate.cli import projspec

        conflicts = 0
        while True:
            project = await self.get(name)
            result = change(project)
            if not result.changed:
                return result
            projspec.validate(project)
            try:
                await self.replace(project)
            except errors.KubeConflictError:
                conflicts += 1
                if conflicts >= EDIT_ATTEMPTS:
                    raise
                continue
            return result

    async def scoped(self, name: str) -> tuple[list[str], list[str]]:
        """Repositories and clusters registered for this project (their Secrets' ``project``)."""
        from tidegate.controller import clusters, repos

        kinds = ",".join((constants.SECRET_TYPE_REPOSITORY, constants.SECRET_TYPE_CLUSTER))
        path = f"/api/v1/namespaces/{self.namespace}/secrets"
        body = (
            await self.client.request(
                "GET",
                path,
                what=f"list Secrets in {self.namespace} on the management cluster",
                params={"labelSelector": f"{constants.LABEL_SECRET_TYPE} in ({kinds})"},
            )
        ).body
        secrets = list(body.get("items") or [])
        found_repos = repos.repositories(secrets, secret_type=constants.SECRET_TYPE_REPOSITORY)
        registry = clusters.ClusterRegistry(secrets, management=self.config)
        return (
            [r.url for r in found_repos if r.project == name],
            [c.server for c in registry.clusters() if c.project == name],
        )

    async def users(self, project: Mapping[str, Any]) -> list[str]:
        """Applications that use the project: in the control namespace, and in the namespaces
        its ``sourceNamespaces`` let use it (``NAMESPACE/NAME``)."""
        from tidegate.model import globs

        name = str(project["metadata"]["name"])
        app_path = f"/apis/{constants.GROUP}/{constants.VERSION}"
        source_namespaces = list((project.get("spec") or {}).get("sourceNamespaces") or [])
        path = (
            f"{app_path}/applications"
            if source_namespaces
            else (f"{app_path}/namespaces/{self.namespace}/applications")
        )
        body = (await self.client.request("GET", path, what="list applications")).body
        users = []
        for item in body.get("items") or []:
            meta = item.get("metadata") or {}
            ns = str(meta.get("namespace") or "")
            if (item.get("spec") or {}).get("project") != name:
                continue
            if ns == self.namespace or any(globs.matches(p, ns) for p in source_namespaces):
                users.append(f"{ns}/{meta.get('name')}")
        return sorted(users)

    async def delete_unused(self, name: str) -> None:
        """Delete the project unless it is 'default' or applications still use it."""
        if name == DEFAULT_PROJECT:
            raise errors.ConfigError(
                f"project '{name}' is the default project; it cannot be deleted"
            )
        project = await self.get(name)
        users = await self.users(project)
        if users:
            shown = ", ".join(users[:5]) + (f" and {len(users) - 5} more" if len(users) > 5 else "")
            raise errors.ConfigError(
                f"project '{name}' is used by {len(users)} application(s): {shown}; delete or move"
                " them first"
            )
        if not await self.delete(name):
            raise errors.ConfigError(f"project '{name}' not found in namespace '{self.namespace}'")


def run_edit(
    kubeconfig: str | None,
    context: str | None,
    namespace: str,
    name: str,
    change: Callable[[Obj], projspec.Edit],
    *,
    core: bool = False,
) -> None:
    """Apply one edit to project NAME, print what it did (the sync facade of the commands)."""
    import typer

    from tidegate.cli import app_common

    async def go() -> projspec.Edit:
        async with connect(kubeconfig, context, namespace, core=core) as projects:
            return await projects.edit(name, change)

    result = app_common.run(go())
    typer.echo(f"project '{name}': {result.message}")


@contextlib.asynccontextmanager
async def connect(
    kubeconfig: str | None, context: str | None, namespace: str, *, core: bool = False
) -> AsyncIterator[Projects]:
    """The projects of the API server of the current login context (``proj_remote``), else
    (``--core``, an explicit ``--kubeconfig``/``--context``, no login) of the management
    cluster named by ``--kubeconfig`` / ``--context``."""
    from tidegate.cli import kubeopts, proj_remote, remote

    async with remote.open_remote(core=core, kubeconfig=kubeconfig, context=context) as server:
        if server is not None:
            yield proj_remote.RemoteProjects(server, namespace=namespace)
            return
    async with kubeopts.management(kubeconfig, context) as (config, client):
        yield Projects(client, namespace=namespace, config=config)
