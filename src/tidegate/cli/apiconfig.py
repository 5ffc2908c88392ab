"""The CLI's API contexts (``tidegate login``), in argocd's config layout. Pure but for
:func:`load` and :func:`save`.

The file (``$TIDEGATE_CONFIG``, else ``<user config dir>/tidegate/config``) holds ``contexts``
(name -> server and user), ``servers`` (address, ``insecure``, ``plain-text``), ``users``
(name -> ``auth-token``) and ``current-context``, as ``~/.config/argocd/config`` does. It holds
session tokens, so it is written atomically with mode 0600.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import yaml

ENV_CONFIG = "TIDEGATE_CONFIG"
Config = dict[str, Any]


def default_path() -> Path:
    env = os.environ.get(ENV_CONFIG)
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_config_dir("tidegate")) / "config"


def load(path: Path) -> Config:
    if not path.exists():
        return {"contexts": [], "servers": [], "users": [], "current-context": ""}
    doc = yaml.safe_load(path.read_text()) or {}
    if not isinstance(doc, dict):
        raise ValueError(f"{path}: not a Tidegate config file")
    for key in ("contexts", "servers", "users"):
        doc.setdefault(key, [])
    doc.setdefault("current-context", "")
    return doc


def save(path: Path, config: Config) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".config-")
    try:
        with os.fdopen(fd, "w") as out:
            yaml.safe_dump(config, out, sort_keys=False)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _upsert(items: list[dict[str, Any]], key: str, entry: dict[str, Any]) -> None:
    for i, item in enumerate(items):
        if item.get(key) == entry[key]:
            items[i] = entry
            return
    items.append(entry)


def add_login(
    config: Config, *, name: str, server: str, token: str, insecure: bool, plaintext: bool
) -> None:
    """Record a session for ``server`` under context ``name`` and make it the current one."""
    _upsert(
        config["servers"],
        "server",
        {"server": server, "insecure": insecure, "plain-text": plaintext},
    )
    _upsert(config["users"], "name", {"name": name, "auth-token": token})
    _upsert(config["contexts"], "name", {"name": name, "server": server, "user": name})
    config["current-context"] = name


def context(config: Config, name: str) -> dict[str, Any] | None:
    return next((c for c in config["contexts"] if c.get("name") == name), None)


def logout(config: Config, name: str) -> bool:
    """Forget the token of context ``name``; False when there was none."""
    ctx = context(config, name)
    if ctx is None:
        return False
    for user in config["users"]:
        if user.get("name") == ctx.get("user") and user.get("auth-token"):
            user.pop("auth-token")
            return True
    return False


def rows(config: Config) -> list[tuple[str, str, str]]:
    current = config.get("current-context")
    return [
        ("*" if c.get("name") == current else "", str(c.get("name")), str(c.get("server")))
        for c in config["contexts"]
    ]
