"""kubectl's connection flags (``--kubeconfig --context --cluster --user --namespace --token
--username --password --insecure-skip-tls-verify --request-timeout``), as argocd's commands take
them with ``--core``: one kubeconfig context, with its cluster or user entry swapped for another
of the same kubeconfig, and its credentials or TLS check overridden, as kubectl does.

Bad values are usage errors (exit 2) naming the flag; an unknown cluster or user names the
entries the kubeconfig has.
"""

from __future__ import annotations

import dataclasses
import re
from typing import TYPE_CHECKING, Any

from tidegate.cli import output

if TYPE_CHECKING:
    from tidegate.kube import config as kube_config

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h)?$")
_UNIT = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}
NO_LIMIT_SECONDS = 24 * 3600.0


def timeout_seconds(value: str) -> float:
    """kubectl's ``--request-timeout`` (``0``: no limit; ``30s``, ``1m``, ``2h``, bare seconds)
    in seconds. Pure."""
    found = _DURATION.match(value.strip())
    if found is None:
        raise output.fail(f"--request-timeout: {value!r} is not a duration (0, 30, 30s, 1m, 2h)", 2)
    seconds = float(found.group(1)) * _UNIT[found.group(2)]
    return seconds if seconds > 0 else NO_LIMIT_SECONDS


def _entry(merged: dict[str, Any], kind: str, name: str, flag: str) -> None:
    names = [str(e.get("name")) for e in merged.get(kind) or []]
    if name not in names:
        known = ", ".join(names) or "none"
        raise output.fail(f"{flag}: no {kind[:-1]} {name!r} in the kubeconfig ({known})", 2)


def cluster_config(
    *,
    kubeconfig: str | None,
    context: str | None,
    cluster: str | None = None,
    user: str | None = None,
    namespace: str | None = None,
    token: str | None = None,
    username: str | None = None,
    password: str | None = None,
    insecure: bool = False,
    request_timeout: str = "0",
) -> kube_config.ClusterConfig:
    """The connection the flags describe."""
    import json
    import os
    import tempfile

    from tidegate.kube import config as kube_config
    from tidegate.model import errors

    timeout = timeout_seconds(request_timeout)
    try:
        if cluster or user:
            merged = kube_config.load_kubeconfig(kubeconfig)
            wanted = context or merged.get("current-context") or ""
            base = next(
                (c.get("context") or {} for c in merged.get("contexts") or []
                 if c.get("name") == wanted),
                None,
            )  # fmt: skip
            if base is None and not (cluster and user):
                raise output.fail(f"--context: no context {wanted!r} in the kubeconfig", 2)
            if cluster:
                _entry(merged, "clusters", cluster, "--cluster")
            if user:
                _entry(merged, "users", user, "--user")
            chosen = {
                **(base or {}),
                **({"cluster": cluster} if cluster else {}),
                **({"user": user} if user else {}),
            }
            merged["contexts"] = [
                *(merged.get("contexts") or []),
                {"name": "tidegate-flags", "context": chosen},
            ]
            # File references are absolute already (load_kubeconfig): a private copy reads alike.
            fd, path = tempfile.mkstemp(prefix="tidegate-kubeconfig-", suffix=".json")
            try:
                with os.fdopen(fd, "w") as handle:
                    json.dump(merged, handle)
                config = kube_config.from_kubeconfig(path, "tidegate-flags")
            finally:
                os.unlink(path)
        else:
            config = kube_config.from_kubeconfig(kubeconfig, context)
    except errors.ConfigError as exc:
        raise output.fail(str(exc)) from None
    changes: dict[str, Any] = {"timeout": timeout}
    if namespace:
        changes["namespace"] = namespace
    if insecure:
        changes.update(insecure=True, ca_data=None)
    if token:
        changes.update(bearer_token=token, token_file=None, exec_provider=None)
    if username or password:
        if token:
            raise output.fail("--token and --username/--password: give one of them", 2)
        changes.update(username=username, password=password, bearer_token=None, token_file=None)
    return dataclasses.replace(config, **changes)
