"""AppProjects through the API server: :class:`RemoteProjects` is ``proj_access.Projects`` with
its reads and writes sent to ``/api/v1/projects`` (and the repository, cluster and application
lists the project listing and deletion look at), so every ``tidegate proj`` command, edits
included, runs the same code in either mode."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tidegate.cli import proj_access, remote
from tidegate.model import constants

Obj = dict[str, Any]
PATH = "/api/v1/projects"


class RemoteProjects(proj_access.Projects):
    """The projects the server's control namespace holds."""

    def __init__(self, server: remote.Remote, *, namespace: str) -> None:
        self.server = server
        self.namespace = namespace  # the CLI's -n, used in messages (the server has its own)

    def _one(self, name: str) -> str:
        return f"{PATH}/{remote.quote(name)}"

    async def get_or_none(self, name: str) -> Obj | None:
        return await self.server.get_or_none(self._one(name))

    async def list_all(self) -> list[Obj]:
        items = await self.server.items(PATH)
        for item in items:
            item.setdefault("apiVersion", f"{constants.GROUP}/{constants.VERSION}")
            item.setdefault("kind", "AppProject")
        return sorted(items, key=lambda p: str(p["metadata"]["name"]))

    async def create(self, project: Mapping[str, Any]) -> Obj:
        created: Obj = await self.server.call("POST", PATH, body={"project": dict(project)})
        return created

    async def replace(self, project: Mapping[str, Any]) -> Obj:
        name = str(project["metadata"]["name"])
        body = {"project": dict(project)}
        replaced: Obj = await self.server.call("PUT", self._one(name), body=body)
        return replaced

    async def delete(self, name: str) -> bool:
        return await self.server.delete(self._one(name))

    async def scoped(self, name: str) -> tuple[list[str], list[str]]:
        found_repos = await self.server.items("/api/v1/repositories")
        found_clusters = await self.server.items("/api/v1/clusters")
        return (
            [str(r.get("repo")) for r in found_repos if r.get("project") == name],
            [str(c.get("server")) for c in found_clusters if c.get("project") == name],
        )

    async def users(self, project: Mapping[str, Any]) -> list[str]:
        name = str(project["metadata"]["name"])
        apps = await self.server.items("/api/v1/applications", projects=name)
        return sorted(
            f"{(a.get('metadata') or {}).get('namespace')}/{(a.get('metadata') or {}).get('name')}"
            for a in apps
            if (a.get("spec") or {}).get("project") == name
        )
