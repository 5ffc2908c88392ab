"""The Applications ApplicationSets would generate, without writing anything (``tidegate appset
generate`` and the API's ``POST /api/v1/applicationsets/generate``).

Generators see the control namespace's cluster Secrets (plus the in-cluster entry) and read Git
through the reader the ApplicationSet controller uses, with the namespace's repository
credentials, into the caller's repository cache.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tidegate.appset import applications, clusterlist, gitreader
from tidegate.sources import RepoCache, credentials_for

Obj = dict[str, Any]


async def generate(
    docs: Sequence[Mapping[str, Any]], *, secrets: Sequence[Mapping[str, Any]], cache_dir: Path
) -> list[Obj]:
    """The Applications of each set in ``docs`` (validated sets), in order."""
    repo_secrets = [s for s in secrets if not clusterlist.is_cluster_secret(s)]

    async def credentials(url: str) -> Any:
        return credentials_for(url, repo_secrets)

    reader = gitreader.CacheGitReader(
        loop=asyncio.get_running_loop(),
        cache=RepoCache(cache_dir),
        credentials=credentials,
        generation=0,
    )
    clusters = clusterlist.cluster_list(list(secrets))
    out: list[Obj] = []
    for doc in docs:
        out += await asyncio.to_thread(
            applications.generate_applications, doc, clusters=clusters, git=reader
        )
    return out
