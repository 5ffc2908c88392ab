"""Stable hashes of manifests and the key of the server-side dry-run cache."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any


def manifest_hash(obj: Mapping[str, Any]) -> str:
    """A stable hex digest of ``obj``: independent of key order, 128 bits of BLAKE2b."""
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def dry_run_cache_key(desired_hash: str, live_resource_version: str | None) -> str:
    """Cache key of a dry-run result: it stays valid while neither desired nor live changes."""
    return f"{desired_hash}@{live_resource_version or '-'}"
