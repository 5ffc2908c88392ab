"""A no-op refresh, remembered per app: the comparison and the status it produced, reused whole
while nothing they were computed from has changed (issue 18).

Most refreshes of a fleet find nothing new, and even with every cache answering (renders,
dry runs, each resource's diff and health: memo.py) a refresh still resolved credentials,
built a render request and its cache key, settled the targets, looked up every resource and
built the status again: about half a millisecond of CPU per app and pass. :class:`PassMemo`
keeps, in the app's record (controller/appstate.py), the last :class:`~tidegate.controller.
compare.Comparison` with the status fields computed from it (``appstatus.comparison_status``
and the record of no-op predictions, recall.py), together with everything they depend on
(:func:`inputs`):

- the Application as stored, except what changes with every write and decides nothing:
  ``resourceVersion``, ``generation``, ``managedFields`` and the ``reconciledAt`` /
  ``observedAt`` stamps. So a new spec (``ignoreDifferences`` included), annotation
  (the refresh annotation), ``operation``, operation state, condition or recorded prediction
  is a miss; a status write of our own that changed only the stamps is not;
- the commit each source's revision resolves to now, asked of the repository cache as a
  refresh asks (``resolve_or_last``, which fetches when the last fetch is older than the
  resync period): a new commit is a miss. A repository that does not answer (a stale
  commit), a revision that does not resolve, a Helm repository or OCI chart source, or a
  project with ``signatureKeys`` (its keyring may change) is never reused: the pass runs;
- the live objects the app tracks (after the project's rules): each one's ``uid`` and
  ``resourceVersion``, in order, so an object changed, added or deleted is a miss;
- the destination: the cluster (its registry entry, renewed when any cluster or repository
  Secret changes), its runtime, its version and served API versions;
- the system settings: argocd-cm's ignore rules and knownTypeFields (by value), its health
  checks (by identity: a change of argocd-cm builds new ones), the tracking method, the
  installation id, the control namespace, server-side diff, the registered config
  management plugins (by value), the prediction ledger;
- the AppProject (by identity: the controller stores a new object on every change).

Objects compared by identity are held by the entry, so their ``id()`` cannot be reused while
it lives. A comparison is not remembered when redoing it could give another answer for the
same inputs: server-side dry runs that failed or rejected objects (they are tried again each
pass), a stale repository, remote repositories read by the render (their refs are checked
each pass), and resources judged by a custom health check (argocd-cm Lua or rules, run every
pass). A hard refresh, or one someone asked for, never reads the memo and replaces it.

What a pass decides from the moment (``reconciledAt``/``observedAt``, the automated sync and
its sync windows and self-heal backoff, orphaned resources, objects left alone, a stale
repository's condition) is not remembered: the refresh does it again after a hit.

Reused results are shared: callers treat the comparison and the status as read-only (the
refresh copies the status dict before it adds to it).

Pure except :func:`inputs`, which asks the repository cache for each source's commit.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

from tidegate.controller import charts as app_charts
from tidegate.controller import compare as cmp
from tidegate.controller import memo as resource_memo
from tidegate.diff import ignore as diff_ignore
from tidegate.model import application as model_app
from tidegate.model import errors
from tidegate.model import project as model_project

# Application fields that change with every write and decide nothing about a comparison.
_VOLATILE_META = frozenset({"resourceVersion", "generation", "managedFields"})
_STAMPS = ("reconciledAt", "observedAt")


@dataclasses.dataclass(frozen=True)
class Inputs:
    """What one pass's comparison and status were computed from (equal: reuse them)."""

    app: tuple[Any, ...]  # app_identity(): parts of the stored Application, by value
    values: tuple[Hashable, ...]  # the rest, compared with ``==``
    held: tuple[object, ...] = dataclasses.field(compare=False)  # whose id() is in ``values``

    def private(self) -> Inputs:
        """A copy whose Application parts nobody else holds: a dict edited in place later
        cannot make the remembered inputs equal to the new ones."""
        return dataclasses.replace(self, app=copy.deepcopy(self.app))


@dataclasses.dataclass(frozen=True)
class Remembered:
    inputs: Inputs
    comparison: cmp.Comparison
    status: Mapping[str, Any]  # comparison_status + recorded predictions, at the pass's time

    def status_at(self, at: str) -> dict[str, Any]:
        """The remembered status stamped ``at`` (a new dict: the caller adds to it)."""
        out = dict(self.status)
        for stamp in _STAMPS:
            if stamp in out:
                out[stamp] = at
        return out


class PassMemo:
    """One app's last reusable comparison and status (see the module docstring)."""

    def __init__(self) -> None:
        self._entry: Remembered | None = None
        self.hits = 0
        self.misses = 0

    def get(self, inputs: Inputs | None) -> Remembered | None:
        entry = self._entry
        if inputs is None or entry is None or entry.inputs != inputs:
            self.misses += 1
            return None
        self.hits += 1
        return entry

    def keep(
        self,
        inputs: Inputs | None,
        comparison: cmp.Comparison,
        status: Mapping[str, Any],
        *,
        deps: cmp.CompareDeps,
    ) -> None:
        """Remember this pass (a copy of ``status``), or forget the last one when this pass
        cannot be reused (``inputs`` None, or :func:`reusable` says no)."""
        if inputs is None or not reusable(comparison, deps=deps):
            self._entry = None
            return
        self._entry = Remembered(inputs.private(), comparison, dict(status))

    def forget(self) -> None:
        self._entry = None


def reusable(comparison: cmp.Comparison, *, deps: cmp.CompareDeps) -> bool:
    """Whether the same inputs are sure to give this comparison again (module docstring)."""
    if comparison.problems or comparison.stale or comparison.remote_pins:
        return False
    checks = deps.health_checks
    for resource in comparison.resources:
        if resource.message:  # its dry run failed: tried again next pass
            return False
        if resource.live is not None and checks.custom_check(resource.key.group, resource.key.kind):
            return False
    return True


def app_identity(raw: Mapping[str, Any]) -> tuple[Any, ...]:
    """The stored Application without what changes with every write (module docstring)."""
    meta = raw.get("metadata") or {}
    status = raw.get("status") or {}
    return (
        {k: v for k, v in meta.items() if k not in _VOLATILE_META},
        raw.get("spec"),
        raw.get("operation"),
        {k: v for k, v in status.items() if k not in _STAMPS},
    )


async def inputs(
    app: model_app.Application,
    raw: Mapping[str, Any],
    *,
    deps: cmp.CompareDeps,
    live: Sequence[Mapping[str, Any]],
    destination: Sequence[object],
    capabilities: tuple[str | None, tuple[str, ...]],
    project: model_project.AppProject | None,
    system_ignore: Sequence[diff_ignore.IgnoreRule],
    max_age: float | None,
) -> Inputs | None:
    """What a refresh of ``app`` would compute from now; None: not reusable (module
    docstring). ``destination``: the objects that stand for the app's cluster (its registry
    entry, its runtime), compared by identity. Resolves each source's revision as a refresh
    does (``resolve_or_last`` with ``max_age``)."""
    if project is not None and project.spec.signature_keys:
        return None
    lives: list[tuple[str, str]] = []
    for obj in live:
        identity = resource_memo.live_identity(obj)
        if identity is None:
            return None
        lives.append(identity)
    secrets = deps.repo_secrets()
    commits: list[str] = []
    for src in app.spec.all_sources():
        if app_charts.is_chart_source(src):
            return None
        creds = deps.credentials(src.repo_url, secrets)
        try:
            found = await deps.repos.resolve_or_last(
                src.repo_url, src.revision, creds=creds, max_age=max_age
            )
        except errors.TidegateError:
            return None  # the pass reports it
        if found.stale:
            return None
        commits.append(found.commit)
    held: tuple[object, ...] = (
        *destination,
        project,
        deps.health_checks,
        deps.ledger,
    )
    values = (
        tuple(commits),
        tuple(lives),
        capabilities,
        tuple(system_ignore),
        deps.plugins(),
        deps.tracking,
        deps.installation_id,
        deps.control_namespace,
        deps.server_side_diff,
        tuple(id(obj) for obj in held),
    )
    return Inputs(app_identity(raw), values, held)
