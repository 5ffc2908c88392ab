"""Shared options of commands that talk to the management cluster, as kubectl reads them.

One rule for every command: the management cluster is the one named by ``--kubeconfig`` /
``--context`` (else ``KUBECONFIG``, a path list merged as kubectl merges it, and its current
context); the control namespace is ``-n/--namespace``, else ``TIDEGATE_NAMESPACE``, else
``argocd``. No command names these ideas otherwise. Kept light: imported when the CLI starts.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

import typer

from tidegate.model import constants

if TYPE_CHECKING:
    from tidegate.kube import client as kube_client
    from tidegate.kube import config as kube_config

T = TypeVar("T")

KUBECONFIG_OPTION: Any = typer.Option(
    None,
    "--kubeconfig",
    envvar="KUBECONFIG",
    show_envvar=True,
    help="Kubeconfig file, or a path list merged as kubectl merges KUBECONFIG "
    "(default ~/.kube/config).",
)
CONTEXT_OPTION: Any = typer.Option(
    None, "--context", help="Kubeconfig context of the management cluster (default: current)."
)
NAMESPACE_OPTION: Any = typer.Option(
    constants.DEFAULT_CONTROL_NAMESPACE,
    "--namespace",
    "-n",
    envvar=constants.ENV_CONTROL_NAMESPACE,
    show_envvar=True,
    help="Control namespace holding Tidegate's objects and Secrets.",
)


def cluster_config(kubeconfig: str | None, context: str | None) -> kube_config.ClusterConfig:
    """Connection settings for ``context`` (or the current context) of the kubeconfig: a file or
    a ``KUBECONFIG``-style path list, merged as kubectl merges it."""
    from tidegate.kube import config as kube_config

    return kube_config.from_kubeconfig(kubeconfig, context)


@contextlib.asynccontextmanager
async def management(
    kubeconfig: str | None, context: str | None
) -> AsyncIterator[tuple[kube_config.ClusterConfig, kube_client.KubeClient]]:
    """The management cluster's settings and a client of it, closed on exit."""
    from tidegate.kube import client as kube_client

    config = cluster_config(kubeconfig, context)
    async with kube_client.client_for(config) as client:
        yield config, client


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a command's coroutine; a Tidegate error ends the command with exit code 1."""
    import asyncio

    from tidegate.cli import output
    from tidegate.model import errors

    try:
        return asyncio.run(coro)
    except errors.TidegateError as exc:
        raise output.fail(str(exc)) from None
