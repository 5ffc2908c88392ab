"""``tidegate app patch NAME --patch JSON [--type json|merge]`` (argocd's; default ``json``, an
RFC 6902 list).

``patch`` applies the patch to the Application read from the cluster (the same appliers the
API server uses, ``tidegate.appset.patch``), validates the result like ``app create`` (exit 2
naming the field), refuses a change of ``metadata.name``/``namespace``, and writes it back with
the ``resourceVersion`` it read (a concurrent change fails instead of being overwritten).
Prints the patched Application as YAML, as argocd does. A patch that does not parse or apply
is exit 2; nothing is written.
"""

from __future__ import annotations

import enum
from typing import Annotated, Any

import typer

from tidegate.cli import app_common, kubeopts, output


class PatchType(enum.StrEnum):
    json = "json"
    merge = "merge"


def patch(
    name: str = app_common.NAME_ARGUMENT,
    patch_text: Annotated[
        str, typer.Option("--patch", help="The patch: a JSON patch list, or a merge patch object.")
    ] = "",
    patch_type: Annotated[
        PatchType, typer.Option("--type", help="json (RFC 6902, default) or merge (RFC 7386).")
    ] = PatchType.json,
    kubeconfig: str | None = kubeopts.KUBECONFIG_OPTION,
    context: str | None = kubeopts.CONTEXT_OPTION,
    namespace: str = kubeopts.NAMESPACE_OPTION,
) -> None:
    """Patch an Application's object (argocd app patch)."""
    import json

    from tidegate.cli import appspec

    try:
        parsed = json.loads(patch_text)
    except ValueError as exc:
        raise output.fail(f"--patch: not valid JSON: {exc}", 2) from None
    if patch_type is PatchType.json and not isinstance(parsed, list):
        raise output.fail("--patch: a JSON patch (--type json) is a list of operations", 2)
    if patch_type is PatchType.merge and not isinstance(parsed, dict):
        raise output.fail("--patch: a merge patch (--type merge) is a JSON object", 2)

    async def go() -> dict[str, Any]:
        from tidegate.appset import patch as patches
        from tidegate.cli import app_access
        from tidegate.model import errors

        ns, app_name = appspec.split_name(name, namespace)
        async with app_access.connect(kubeconfig, context, ns) as apps:
            current = await apps.get(app_name)
            try:
                if patch_type is PatchType.json:
                    patched = patches.json_patch(current, parsed)
                else:
                    patched = patches.merge_patch(current, parsed)
            except errors.SpecError as exc:
                raise appspec.FlagError("--patch", f"does not apply: {exc}") from None
            if not isinstance(patched, dict):
                raise appspec.FlagError("--patch", "does not leave an object")
            meta, before = patched.get("metadata") or {}, current["metadata"]
            for field in ("name", "namespace"):
                if meta.get(field) != before.get(field):
                    raise appspec.FlagError("--patch", f"may not change metadata.{field}")
            app_common.validate(patched)
            meta["resourceVersion"] = before.get("resourceVersion")
            return await apps.replace(patched)

    result = app_common.run(go())
    (result.get("metadata") or {}).pop("managedFields", None)
    output.dump(result, output.Format.yaml)
