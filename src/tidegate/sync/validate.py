"""Validating dry run before a sync's first apply: which objects to check, what a failure means.

Pure (no I/O). Argo CD dry-runs every task of an operation before it applies anything, so that
an unknown kind, a schema error, an admission denial or a missing namespace is reported for all
objects at once and nothing is half-applied. The dry runs themselves go through the executor's
verbs (:func:`tidegate.sync.execute.validate_operation`); this module decides:

- which tasks are checked (:func:`checked`): every create/apply of the operation, hooks included
  (a hook is dry-run created), SyncFail hooks excluded (they only run after a failure), prunes
  excluded (a delete has nothing to validate);
- which failures do not count (:func:`excuse`), because the object depends on something the same
  sync creates first and the server cannot know about yet:
  - an unknown kind whose API group has a CustomResourceDefinition among the operation's
    objects (a recorded CRD result only tells its name, ``<plural>.<group>``, so the group is
    what a dry-run sync can match too), any unknown kind with
    ``SkipDryRunOnMissingResource=true``, or a hook of an unknown kind (Argo CD skips the dry
    run of those three);
  - "not found" for an object whose namespace the sync creates (a Namespace among the objects,
    or the destination namespace with ``CreateNamespace=true``). Argo CD creates that
    namespace before its dry run; Tidegate applies nothing before validation and excuses the
    object instead (its fields are still checked: server-side apply validates the schema
    before it looks the namespace up);
  - with ``Force=true``, an immutable-field or conflict answer for an existing object (the
    sync deletes and recreates it).
- how the failures read (:func:`failure_message`): one line per object, naming it, with the
  server's message.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from tidegate.model import errors, keys
from tidegate.model.enums import SyncPhase
from tidegate.sync import record, tasks

Obj = Mapping[str, Any]
FAILED = "one or more objects failed to apply (dry run)"


@dataclasses.dataclass(frozen=True)
class Planned:
    """What the operation itself creates, which the API server cannot know about yet."""

    crd_groups: frozenset[str] = frozenset()  # API groups of CRDs among the objects
    namespaces: frozenset[str] = frozenset()  # Namespaces among the objects or CreateNamespace's

    @classmethod
    def of(cls, objs: Iterable[Obj], *, created_namespace: str = "") -> Planned:
        """From the objects of an operation (and the namespace ``CreateNamespace`` makes)."""
        groups: set[str] = set()
        namespaces = {created_namespace} if created_namespace else set()
        for obj in objs:
            key = keys.ResourceKey.of(obj)
            if key.kind == "Namespace" and not key.group:
                namespaces.add(key.name)
            elif key.kind == "CustomResourceDefinition":
                group = (obj.get("spec") or {}).get("group")
                if group:
                    groups.add(str(group))
        return cls(frozenset(groups), frozenset(namespaces))

    @classmethod
    def of_tasks(cls, all_tasks: Iterable[tasks.SyncTask], params: tasks.SyncParams) -> Planned:
        creates = params.app_options.enabled("create_namespace")
        targets = [t.target for t in all_tasks if t.target is not None and not t.is_prune]
        return cls.of(targets, created_namespace=params.destination_namespace if creates else "")

    @classmethod
    def of_results(cls, results: Iterable[record.ResourceResult]) -> Planned:
        """From what a (dry) sync has recorded as created so far: CRDs are named
        ``<plural>.<group>``."""
        created = [r for r in results if r.status is record.ResultCode.SYNCED]
        return cls(
            frozenset(
                r.name.partition(".")[2] for r in created if r.kind == "CustomResourceDefinition"
            ),
            frozenset(r.name for r in created if r.kind == "Namespace" and not r.group),
        )


def checked(all_tasks: Iterable[tasks.SyncTask]) -> list[tasks.SyncTask]:
    """The tasks the validating dry run sends: creates and applies, not SyncFail hooks, not
    prunes, not tasks that already failed their preparation (they are reported as they are)."""
    return [
        t
        for t in all_tasks
        if t.target is not None
        and not t.is_prune
        and not t.error
        and t.phase is not SyncPhase.SYNC_FAIL
    ]


def excuse(
    key: keys.ResourceKey,
    exc: errors.KubeError,
    planned: Planned,
    *,
    skip_missing_kind: bool = False,
    hook: bool = False,
    recreated: bool = False,
) -> str:
    """Why a failed dry run of ``key`` does not count ("" when it does).

    ``recreated``: the sync would delete and recreate the object (``Force=true`` on an existing
    object), so an immutable-field or conflict answer is expected.
    """
    if isinstance(exc, errors.UnknownKindError):
        if skip_missing_kind:
            return "dry run skipped: the kind is not served yet (SkipDryRunOnMissingResource)"
        if key.group in planned.crd_groups:
            return "dry run skipped: its CustomResourceDefinition is created by this sync"
        if hook:
            return "dry run skipped: the hook's kind is not served yet"
    if isinstance(exc, errors.KubeNotFoundError) and key.namespace in planned.namespaces:
        return f"dry run skipped: namespace {key.namespace} is created by this sync"
    if recreated and isinstance(exc, errors.KubeApiError) and exc.code in (409, 422):
        return "dry run: the object would be recreated (Force=true)"
    return ""


def is_verdict(exc: errors.KubeError) -> bool:
    """Whether a failed dry run says something about the object, rather than about the
    server's availability (unreachable, throttled, 502-504): only verdicts are reported."""
    if isinstance(exc, errors.ClusterUnreachableError):
        return False
    if isinstance(exc, errors.KubeServerError):
        return exc.code == 500  # e.g. server-side apply's "field not declared in schema"
    return True


def _detail(key: keys.ResourceKey, message: str) -> str:
    """``message`` without the "dry-run apply <key> on cluster <c>: " prefix the key repeats."""
    prefix = re.compile(r"^dry-run \w+ " + re.escape(str(key)) + r" on cluster \S+: ")
    return prefix.sub("", message, count=1)


def problem_lines(problems: Iterable[tuple[keys.ResourceKey, str]]) -> list[str]:
    """One ``<Kind.group> <namespace>/<name>: <message>`` line per object, sorted by object."""
    return [f"{key}: {_detail(key, message)}" for key, message in sorted(problems)]


def failure_message(problems: Sequence[tuple[keys.ResourceKey, str]]) -> str:
    """The operation message after a failed validation: every object on its own line."""
    lines = problem_lines(problems)
    return f"{FAILED}, nothing was applied:\n" + "\n".join(f"- {line}" for line in lines)
