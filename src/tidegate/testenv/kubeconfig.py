"""Kubeconfig files for the test bed: one per cluster and a merged one with a context each."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


@dataclass(frozen=True)
class Credentials:
    """Where a cluster is and how its admin authenticates (client certificate, CA pinned)."""

    name: str
    server: str
    ca_cert: Path
    client_cert: Path
    client_key: Path


def _b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


def document(entries: Sequence[Credentials], *, current: str | None = None) -> dict[str, Any]:
    """A kubeconfig with one cluster, user and context per entry (names are the cluster names)."""
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {},
        "clusters": [
            {
                "name": e.name,
                "cluster": {"server": e.server, "certificate-authority-data": _b64(e.ca_cert)},
            }
            for e in entries
        ],
        "users": [
            {
                "name": f"{e.name}-admin",
                "user": {
                    "client-certificate-data": _b64(e.client_cert),
                    "client-key-data": _b64(e.client_key),
                },
            }
            for e in entries
        ],
        "contexts": [
            {"name": e.name, "context": {"cluster": e.name, "user": f"{e.name}-admin"}}
            for e in entries
        ],
        "current-context": current or (entries[0].name if entries else ""),
    }


def write(path: Path, entries: Sequence[Credentials], *, current: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.touch(mode=0o600)
    tmp.write_text(yaml.safe_dump(document(entries, current=current), sort_keys=False))
    tmp.replace(path)
    return path
