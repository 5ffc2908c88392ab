"""What a no-op refresh would compute again, remembered per app: each resource's diff and health.

A refresh in which neither Git nor the cluster changed used to deep-copy and normalise both
sides of every resource again (issue 18: most of a no-op pass). :class:`ResourceMemo` keeps,
for each resource of one app, the last :class:`~tidegate.diff.compare.DiffResult` (with the
no-op fact it yielded, controller/recall.py) and health, together with everything they were
computed from:

- the diff: the desired object's manifest hash (None: nothing desired), the live object's
  ``uid`` and ``resourceVersion`` (None: not live), the identity of the dry-run prediction it
  was compared with, the app's ignore rules (its ``ignoreDifferences`` and argocd-cm's
  system-level rules and knownTypeFields) and whether Secret values are masked;
- the health (built-in checks only: a custom argocd-cm check, Lua or rules, runs every pass):
  the live object's ``uid`` and ``resourceVersion`` and the identity of the health checks
  (an argocd-cm change replaces the object, and a kind that gains a custom check stops being
  memoised).

A memo entry holds references to the objects whose identities it names (the prediction, the
health checks), so no other object can take their ``id()`` while the entry lives. A live object
without a ``uid`` or ``resourceVersion`` is never memoised (there is no telling whether it
changed). Each pass replaces the app's entries by those of the resources it compared (see
:meth:`ResourceMemo.begin`), so the memo holds at most one entry per resource of the app, and
it lives in the app's record (controller/appstate.py): a deleted app's entries go with it.

Results are shared between passes: callers treat a ``DiffResult`` and a ``HealthStatus`` as
read-only (they are frozen; their ``normalized_*`` dicts are only read, for display).

Pure: no I/O.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

from tidegate.diff import compare as diff_compare
from tidegate.diff import ignore as diff_ignore
from tidegate.health import status as health_status
from tidegate.model.keys import ResourceKey

Obj = Mapping[str, Any]
# What a result was computed from: compared with ``==`` on the next lookup.
Inputs = tuple[Hashable, ...]


@dataclasses.dataclass(frozen=True)
class _Entry:
    inputs: Inputs
    held: tuple[object, ...]  # the objects whose id() ``inputs`` names: kept alive
    value: Any


def live_identity(live: Obj | None) -> tuple[str, str] | None:
    """``(uid, resourceVersion)`` of a live object; None when it lacks either."""
    if live is None:
        return None
    meta = live.get("metadata")
    if not isinstance(meta, Mapping):
        return None
    uid, version = meta.get("uid"), meta.get("resourceVersion")
    if not uid or not version:
        return None
    return str(uid), str(version)


def diff_inputs(
    desired_hash: str | None,
    live: Obj | None,
    predicted: Obj | None,
    rules: Sequence[diff_ignore.IgnoreRule],
    *,
    mask_secrets: bool = True,
) -> tuple[Inputs, tuple[object, ...]] | None:
    """What a resource's diff depends on, and the objects to hold; None: not memoisable."""
    identity = live_identity(live)
    if live is not None and identity is None:
        return None
    inputs: Inputs = (
        desired_hash,
        identity,
        id(predicted) if predicted is not None else None,
        tuple(rules),
        mask_secrets,
    )
    return inputs, (predicted,) if predicted is not None else ()


def health_inputs(live: Obj, checks: object) -> tuple[Inputs, tuple[object, ...]] | None:
    """What a live object's health depends on, and the objects to hold; None: not memoisable."""
    identity = live_identity(live)
    if identity is None:
        return None
    return (identity, id(checks)), (checks,)


class ResourceMemo:
    """One app's memo: by resource, the last diff and health and what they came from.

    A pass calls :meth:`begin`, then :meth:`diff` / :meth:`health` (a hit, or None) and
    :meth:`keep_diff` / :meth:`keep_health` for each resource, then :meth:`end`: entries of
    resources the pass did not look at are dropped.
    """

    def __init__(self) -> None:
        self._diffs: dict[ResourceKey, _Entry] = {}
        self._health: dict[ResourceKey, _Entry] = {}
        self._next_diffs: dict[ResourceKey, _Entry] = {}
        self._next_health: dict[ResourceKey, _Entry] = {}
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._diffs) + len(self._health)

    def begin(self) -> None:
        self._next_diffs, self._next_health = {}, {}

    def end(self) -> None:
        self._diffs, self._health = self._next_diffs, self._next_health
        self._next_diffs, self._next_health = {}, {}

    def diff(
        self, key: ResourceKey, found: tuple[Inputs, tuple[object, ...]] | None
    ) -> tuple[diff_compare.DiffResult, str] | None:
        """The remembered diff and no-op fact (controller/recall.py; "" none) on a hit."""
        hit, value = self._lookup(self._diffs, self._next_diffs, key, found)
        return value if hit and isinstance(value, tuple) else None

    def keep_diff(
        self,
        key: ResourceKey,
        found: tuple[Inputs, tuple[object, ...]] | None,
        result: diff_compare.DiffResult,
        fact: str,
    ) -> None:
        if found is not None:
            self._next_diffs[key] = _Entry(found[0], found[1], (result, fact))

    def health(
        self, key: ResourceKey, found: tuple[Inputs, tuple[object, ...]] | None
    ) -> tuple[bool, health_status.HealthStatus | None]:
        """``(True, health)`` on a hit (the health may be None: no check applies)."""
        hit, value = self._lookup(self._health, self._next_health, key, found)
        return hit, value if isinstance(value, health_status.HealthStatus) else None

    def keep_health(
        self,
        key: ResourceKey,
        found: tuple[Inputs, tuple[object, ...]] | None,
        health: health_status.HealthStatus | None,
    ) -> None:
        if found is not None:
            self._next_health[key] = _Entry(found[0], found[1], health)

    def _lookup(
        self,
        current: dict[ResourceKey, _Entry],
        following: dict[ResourceKey, _Entry],
        key: ResourceKey,
        found: tuple[Inputs, tuple[object, ...]] | None,
    ) -> tuple[bool, Any]:
        entry = current.get(key) if found is not None else None
        if entry is None or found is None or entry.inputs != found[0]:
            self.misses += 1
            return False, None
        self.hits += 1
        following[key] = entry
        return True, entry.value
