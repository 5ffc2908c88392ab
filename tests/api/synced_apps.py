"""A manual app of a few objects, synced onto the test bed's dev cluster by a module's real
controller through its real server: what the resource-action tests act on."""

from __future__ import annotations

import contextlib
import json
import secrets
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import yaml
from tests.api.access_helpers import JSON
from tests.api.polling import until

from tidegate.testenv import handle, scenario


@contextlib.contextmanager
def synced(
    api: httpx.Client, bed: handle.TestBed, objects: Sequence[dict[str, Any]], src: Path,
    prefix: str,
) -> Iterator[tuple[str, str]]:  # fmt: skip
    """(app name, destination namespace) of a new app of ``objects`` (its repository made from
    ``src``), once its sync succeeded; the app is deleted on exit."""
    assert bed.git is not None
    (src / "app").mkdir()
    (src / "app" / "all.yaml").write_text(yaml.safe_dump_all(objects))
    repo = bed.git.create_repo(from_dir=src).http_url
    name, dest = f"{prefix}-{secrets.token_hex(3)}", f"{prefix}-dest-{secrets.token_hex(3)}"
    dev = bed.clusters["dev"].server
    app = scenario.application(name, repo_url=repo, path="app", automated=False, server=dev,
                               namespace=dest)  # fmt: skip
    created = api.post("/api/v1/applications", content=json.dumps(app), headers=JSON)
    assert created.status_code == 200, created.text
    synced = api.post(f"/api/v1/applications/{name}/sync", content="{}", headers=JSON)
    assert synced.status_code == 200, synced.text

    def done() -> bool:
        status = api.get(f"/api/v1/applications/{name}").json().get("status") or {}
        phase = (status.get("operationState") or {}).get("phase")
        return phase == "Succeeded" and len(status.get("resources") or []) == len(objects)

    until(done, within=90)
    try:
        yield name, dest
    finally:
        api.request("DELETE", f"/api/v1/applications/{name}", headers=JSON)
