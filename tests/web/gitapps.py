"""An automated app deployed from a Git repository of the test's own, until it is Healthy (the
browser tests' shared set-up; the controller of the module runs it)."""

from __future__ import annotations

import contextlib
import json
import secrets
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from tests.web.waiting import until

from tidegate.testenv import gitrepos, handle, scenario, serverproc

JSON = {"Content-Type": "application/json"}


def health(api: Any, name: str) -> str:
    app: dict[str, Any] = api.get(f"/api/v1/applications/{name}").json()
    return str(((app.get("status") or {}).get("health") or {}).get("status"))


@contextlib.contextmanager
def healthy_app(
    bed: handle.TestBed,
    workdir: Path,
    server: serverproc.ServerProcess,
    token: str,
    files: Mapping[str, str],
    *,
    prefix: str,
    spec: Mapping[str, Any] | None = None,
    within: float = 120,
) -> Iterator[tuple[str, str, gitrepos.WorkingCopy]]:
    """An app of ``files`` (under ``app/``) in a fresh destination namespace on dev, with
    ``spec`` merged into its spec: (name, destination namespace, the repo's working copy).
    Deleted afterwards."""
    assert bed.git is not None
    src = workdir / "src"
    (src / "app").mkdir(parents=True)
    for path, text in files.items():
        (src / "app" / path).write_text(text)
    repo = bed.git.create_repo(from_dir=src)
    work = bed.git.working_copy(repo, workdir / "work")
    name, dest = f"{prefix}-{secrets.token_hex(3)}", f"{prefix}-ns-{secrets.token_hex(3)}"
    app = scenario.application(
        name, repo_url=repo.http_url, path="app", server=bed.clusters["dev"].server, namespace=dest
    )
    app["spec"].update(spec or {})
    with server.client(token=token) as client:
        resp = client.post("/api/v1/applications", content=json.dumps(app), headers=JSON)
        assert resp.status_code == 200, resp.text
        until(lambda: health(client, name) == "Healthy", within=within)
        try:
            yield name, dest, work
        finally:
            client.request("DELETE", f"/api/v1/applications/{name}", headers=JSON)
