"""argocd's further ``appset`` flags, for :mod:`tidegate.cli.appset_cmd`:
``--appset-namespace/-N`` (create, delete, get, list, generate), ``create --dry-run``,
``create --wait``, ``delete --wait``, ``get --show-params``.

- ``--appset-namespace NS``: the namespace of the ApplicationSets. Tidegate's ApplicationSet
  controller serves the control namespace only (argocd's ``applicationset.namespaces``, sets in
  any namespace, is not supported yet), so another namespace is refused (exit 1) before anything
  is read or written, in both modes alike; the control namespace itself is accepted.
- ``create --dry-run``: what ``create`` would do (created / unchanged / updated, or refused
  without ``--upsert``) and the Applications the set would generate (``appset generate``'s
  preview), nothing written. ``-o json|yaml`` prints each set with ``status.resources`` listing
  them, as argocd's server answers a dry run (``.status.resources[].name``).
- ``--wait``: create waits until each set's ``ResourcesUpToDate`` condition is True (as argocd,
  with no time limit: a set in error keeps it waiting); delete waits until each set is gone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

import typer

from tidegate.cli import output
from tidegate.model import constants

Obj = dict[str, Any]
POLL_SECONDS = 1.0

APPSET_NAMESPACE: Any = typer.Option(
    None,
    "--appset-namespace",
    "-N",
    help="Namespace of the ApplicationSets (only the control namespace is served).",
)
DRY_RUN: Any = typer.Option(
    False,
    "--dry-run",
    help="Preview: what create would do and the Applications the set would generate.",
)
CREATE_WAIT: Any = typer.Option(
    False, "--wait", help="Wait until each set's resources are up to date (no time limit)."
)
DELETE_WAIT: Any = typer.Option(False, "--wait", help="Wait until each set is gone.")
SHOW_PARAMS: Any = typer.Option(
    False, "--show-params", help="Show the template source's parameter overrides."
)


def namespace(control: str, appset_namespace: str | None) -> str:
    """The namespace the command works in: the control namespace (``-n``); exit 1 when
    ``--appset-namespace`` names another one."""
    if appset_namespace and appset_namespace != control:
        raise output.fail(
            f"--appset-namespace {appset_namespace!r}: ApplicationSets are served in the control"
            f" namespace {control!r} only (argocd's applicationset.namespaces is not supported"
            " yet); nothing was read or written"
        )
    return control


def action(current: Mapping[str, Any] | None, doc: Mapping[str, Any], *, upsert: bool) -> str:
    """What create does with ``doc``: created, unchanged or updated; a TidegateError when the
    set exists with another spec and ``upsert`` is off. Pure."""
    from tidegate.model import errors

    name = str(doc["metadata"].get("name"))
    if current is None:
        return "created"
    if current.get("spec") == doc.get("spec") and _same_meta(current, doc):
        return "unchanged"
    if not upsert:
        raise errors.TidegateError(
            f"ApplicationSet {name!r} already exists with a different spec; "
            "use --upsert to update it"
        )
    return "updated"


def _same_meta(current: Mapping[str, Any], doc: Mapping[str, Any]) -> bool:
    old, new = current.get("metadata") or {}, doc.get("metadata") or {}
    return all(
        (old.get(k) or {}).items() >= (new.get(k) or {}).items() for k in ("labels", "annotations")
    )


def with_preview(doc: Mapping[str, Any], apps: Sequence[Mapping[str, Any]]) -> Obj:
    """``doc`` as a dry run answers it: ``status.resources`` lists the generated apps. Pure."""
    resources = [
        {
            "group": constants.GROUP,
            "version": constants.VERSION,
            "kind": constants.KIND_APPLICATION,
            "namespace": str((a.get("metadata") or {}).get("namespace") or ""),
            "name": str((a.get("metadata") or {}).get("name") or ""),
        }
        for a in apps
    ]
    return {**doc, "status": {"resources": resources}}


def up_to_date(appset: Mapping[str, Any] | None) -> bool:
    conditions = (appset or {}).get("status", {}).get("conditions") or []
    return any(
        c.get("type") == "ResourcesUpToDate" and c.get("status") == "True" for c in conditions
    )


async def wait_up_to_date(sets: Any, names: Sequence[str]) -> list[Obj]:
    """Each set once its resources are up to date (argocd's ``create --wait``)."""
    out = []
    for name in names:
        while True:
            found = await sets.get_or_none(name)
            if found is not None and up_to_date(found):
                out.append(found)
                break
            await asyncio.sleep(POLL_SECONDS)
    return out


async def wait_gone(sets: Any, names: Sequence[str]) -> None:
    """Return once none of the sets exists any more (argocd's ``delete --wait``)."""
    for name in names:
        while True:
            if await sets.get_or_none(name) is None:
                break
            await asyncio.sleep(POLL_SECONDS)


def template_project(appset: Mapping[str, Any]) -> str:
    template = ((appset.get("spec") or {}).get("template") or {}).get("spec") or {}
    return str(template.get("project") or "")


def print_params(appset: Mapping[str, Any]) -> None:
    """``get --show-params``: the template's (first) source's parameter overrides."""
    from tidegate.cli import app_show

    spec = ((appset.get("spec") or {}).get("template") or {}).get("spec") or {}
    sources = list(spec.get("sources") or [])
    source = sources[0] if sources else (spec.get("source") or {})
    headers, rows = app_show.param_rows(source)
    typer.echo("")
    output.table(headers, rows)
