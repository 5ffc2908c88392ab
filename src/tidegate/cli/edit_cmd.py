"""``tidegate app edit`` and ``tidegate proj edit``: the object's ``spec`` opened in an editor,
as ``argocd app edit`` / ``argocd proj edit`` do.

The editor is ``$EDITOR`` (a command line, e.g. ``code --wait``), else ``vi``. The spec is
written as YAML to a private temporary file; when the editor exits 0 the file is read back
(the alias-bomb guard of every YAML read), validated as the command that writes the object
validates it, and written with the ``resourceVersion`` read, so a change made meanwhile by
someone else fails (exit 1) instead of being overwritten. Unchanged → nothing is written. An
editor that fails, a file that is not a YAML mapping, or an invalid spec → nothing is written
(exit 1 for the editor, 2 for the content, naming the cause). ``-N/--app-namespace`` works as
on every app verb.
"""

from __future__ import annotations

from typing import Any

import typer

from tidegate.cli import app_common, kubeopts

HEADER = (
    "# Edit the spec of {what} below; lines starting with '#' are ignored.\n"
    "# Save and quit to apply; leave it unchanged (or empty) to cancel.\n"
)


def edit_spec(spec: dict[str, Any], *, what: str) -> dict[str, Any] | None:
    """``spec`` as edited by the user (None: unchanged or emptied)."""
    import os
    import shlex
    import subprocess
    import tempfile
    from pathlib import Path

    import yaml

    from tidegate.cli.appspec import FlagError
    from tidegate.model import errors
    from tidegate.render import manifests

    editor = shlex.split(os.environ.get("EDITOR") or "vi")
    text = HEADER.format(what=what) + yaml.safe_dump(spec, sort_keys=False)
    with tempfile.TemporaryDirectory(prefix="tidegate-edit-") as scratch:
        path = Path(scratch) / "spec.yaml"
        path.write_text(text)
        path.chmod(0o600)
        try:
            done = subprocess.run([*editor, str(path)], check=False)
        except OSError as exc:
            raise errors.ConfigError(f"cannot run the editor {editor[0]!r}: {exc}") from None
        if done.returncode != 0:
            raise errors.ConfigError(
                f"the editor {editor[0]!r} exited {done.returncode}; {what} is unchanged"
            )
        edited = path.read_text()
    if edited == text:
        return None
    try:
        docs = manifests.load_yaml_documents(edited, where="the edited spec",
                                             max_alias_expansion=10_000)  # fmt: skip
    except errors.ManifestError as exc:
        raise FlagError("", f"{exc}; {what} is unchanged") from None
    found = [d for d in docs if d is not None]
    if not found:
        return None
    if len(found) > 1 or not isinstance(found[0], dict):
        raise FlagError("", f"the edited spec must be one YAML mapping; {what} is unchanged")
    return dict(found[0])


def app_edit(
    name: str = app_common.NAME_ARGUMENT,
    kubeconfig: str | None = kubeopts.KUBECONFIG_OPTION,
    context: str | None = kubeopts.CONTEXT_OPTION,
    namespace: str = kubeopts.NAMESPACE_OPTION,
) -> None:
    """Edit an application's spec in $EDITOR (validated, then written if it changed)."""
    from tidegate.cli import app_access, appspec

    async def go() -> str:
        ns, app_name = appspec.split_name(name, namespace)
        async with app_access.connect(kubeconfig, context, ns) as apps:
            current = await apps.get(app_name)
            spec = dict(current.get("spec") or {})
            edited = edit_spec(spec, what=f"application '{ns}/{app_name}'")
            if edited is None or edited == spec:
                return f"application '{app_name}' unchanged"
            app_common.validate({**current, "spec": edited})
            version = str((current.get("metadata") or {}).get("resourceVersion") or "")
            patch = appspec.merge_patch(spec, edited)
            await apps.patch(app_name, {"spec": patch}, resource_version=version)
            return f"application '{app_name}' updated"

    app_common.echo(app_common.run(go()))


def proj_edit(
    name: str = typer.Argument(..., help="Project name."),
    kubeconfig: str | None = kubeopts.KUBECONFIG_OPTION,
    context: str | None = kubeopts.CONTEXT_OPTION,
    namespace: str = kubeopts.NAMESPACE_OPTION,
) -> None:
    """Edit a project's spec in $EDITOR (checked as 'proj create' checks it, then written)."""
    from tidegate.cli import proj_access, projspec

    async def go() -> str:
        async with proj_access.connect(kubeconfig, context, namespace) as projects:
            current = await projects.get(name)
            spec = dict(current.get("spec") or {})
            edited = edit_spec(spec, what=f"project '{name}'")
            if edited is None or edited == spec:
                return f"project '{name}' unchanged"
            updated = {**current, "spec": edited}
            projspec.check_model(updated)
            projspec.validate(updated)
            await projects.replace(updated)
            return f"project '{name}' updated"

    typer.echo(app_common.run(go()))
