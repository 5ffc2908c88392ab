"""The notified-state annotation that stops re-sends across restarts (pure).

``notified.notifications.argoproj.io`` holds JSON ``{key: unix seconds}``; a key is
``[<oncePer value>:]<trigger>:<condition key>:<service>:<recipient>``. At most
:data:`MAX_ENTRIES` are kept (the oldest dropped).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

ANNOTATION = "notified.notifications.argoproj.io"
MAX_ENTRIES = 100


def read(obj: Mapping[str, Any]) -> dict[str, int]:
    text = ((obj.get("metadata") or {}).get("annotations") or {}).get(ANNOTATION)
    if not text:
        return {}
    try:
        data = json.loads(text)
    except ValueError:
        return {}  # a damaged annotation is replaced, not trusted
    if not isinstance(data, dict):
        return {}
    return {str(k): int(v) for k, v in data.items() if isinstance(v, int | float)}


def key(once_per: str, trigger: str, condition: str, service: str, recipient: str) -> str:
    prefix = f"{once_per}:" if once_per else ""
    return f"{prefix}{trigger}:{condition}:{service}:{recipient}"


def trimmed(state: Mapping[str, int]) -> dict[str, int]:
    """The newest :data:`MAX_ENTRIES` entries."""
    newest = sorted(state.items(), key=lambda kv: kv[1])[-MAX_ENTRIES:]
    return dict(newest)


def encode(state: Mapping[str, int]) -> str:
    return json.dumps(trimmed(state), sort_keys=True, separators=(",", ":"))
