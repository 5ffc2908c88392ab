"""Shared options of commands that talk to the management cluster, as kubectl reads them.

The management cluster is the one named by ``--kubeconfig``/``--context`` (or ``KUBECONFIG``
and its current context); the control namespace is ``--namespace``, else ``TIDEGATE_NAMESPACE``,
else ``argocd``. Kept light: imported when the CLI starts.
"""

from __future__ import annotations

import os
from collections.abc import Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import typer

from tidegate.model import constants

if TYPE_CHECKING:
    from tidegate.kube import config as kube_config

T = TypeVar("T")

KUBECONFIG_OPTION: Any = typer.Option(
    None,
    "--kubeconfig",
    envvar="KUBECONFIG",
    show_envvar=True,
    help="Kubeconfig file of the management cluster (default ~/.kube/config).",
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


def kubeconfig_path(value: str | None) -> Path:
    """The kubeconfig file: ``value`` (a path list like ``KUBECONFIG``: the first existing file
    is used) or ``~/.kube/config``."""
    from tidegate.model import errors

    if not value:
        return Path("~/.kube/config").expanduser()
    candidates = [Path(p).expanduser() for p in value.split(os.pathsep) if p]
    for path in candidates:
        if path.exists():
            return path
    raise errors.ConfigError(f"kubeconfig {value}: no such file")


def cluster_config(kubeconfig: str | None, context: str | None) -> kube_config.ClusterConfig:
    """Connection settings for ``context`` (or the current context) of the kubeconfig."""
    from tidegate.kube import config as kube_config

    return kube_config.from_kubeconfig(kubeconfig_path(kubeconfig), context)


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a command's coroutine; a Tidegate error ends the command with exit code 1."""
    import asyncio

    from tidegate.cli import output
    from tidegate.model import errors

    try:
        return asyncio.run(coro)
    except errors.TidegateError as exc:
        raise output.fail(str(exc)) from None
