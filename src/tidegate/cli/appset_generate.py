"""``tidegate appset generate FILE``: print the Applications an ApplicationSet manifest would
generate, without applying anything (argocd's ``appset generate``).

The manifest is validated as ``appset create`` validates it; generators see the control
namespace's cluster Secrets (plus the in-cluster entry) and read Git through the same reader
the ApplicationSet controller uses, with the namespace's repository credentials (cache:
``--cache-dir``, default the user cache). Output: ``-o wide`` (default: the ``app list`` table),
``json`` or ``yaml`` (the generated Application objects). A generator or template error is
exit 1 naming the set; nothing is written to the cluster.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from tidegate.cli import kubeopts, output


async def _generate(docs: list[dict[str, Any]], *, kubeconfig: str | None, context: str | None,
                    namespace: str, cache_dir: Path | None) -> list[dict[str, Any]]:  # fmt: skip
    import asyncio

    from tidegate.appset import applications, clusterlist, gitreader
    from tidegate.cli import app_compare
    from tidegate.kube import client as kube_client
    from tidegate.sources import RepoCache, credentials_for

    async with kube_client.client_for(kubeopts.cluster_config(kubeconfig, context)) as client:
        res = await client.resource("", "Secret", "v1")
        secrets = (await client.list(res, namespace=namespace)).items
    repo_secrets = [s for s in secrets if not clusterlist.is_cluster_secret(s)]

    async def credentials(url: str) -> Any:
        return credentials_for(url, repo_secrets)

    reader = gitreader.CacheGitReader(
        loop=asyncio.get_running_loop(),
        cache=RepoCache(cache_dir or app_compare.default_cache_dir()),
        credentials=credentials,
        generation=0,
    )
    clusters = clusterlist.cluster_list(secrets)
    out: list[dict[str, Any]] = []
    for doc in docs:
        out += await asyncio.to_thread(
            applications.generate_applications, doc, clusters=clusters, git=reader
        )
    return out


def generate(
    file: Annotated[Path, typer.Argument(help="ApplicationSet manifest ('-' for stdin).")],
    fmt: Annotated[
        output.Format, typer.Option("--output", "-o", help="wide (default), json or yaml.")
    ] = output.Format.wide,
    cache_dir: Annotated[
        Path | None, typer.Option("--cache-dir", help="Git cache (default: the user cache).")
    ] = None,
    kubeconfig: str | None = kubeopts.KUBECONFIG_OPTION,
    context: str | None = kubeopts.CONTEXT_OPTION,
    namespace: str = kubeopts.NAMESPACE_OPTION,
) -> None:
    """Print the Applications an ApplicationSet would generate (nothing is applied)."""
    from tidegate.cli import appset_cmd

    docs = appset_cmd._load(file, namespace)
    found = kubeopts.run(_generate(docs, kubeconfig=kubeconfig, context=context,
                                   namespace=namespace, cache_dir=cache_dir))  # fmt: skip
    if fmt in (output.Format.json, output.Format.yaml):
        output.dump(found, fmt)
        return
    from tidegate.cli import app_show

    app_show.print_list(found, wide=False)
