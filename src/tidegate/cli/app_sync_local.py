"""``tidegate app sync --local DIR [--local-repo-root ROOT]``: sync what a local directory
renders, as ``argocd app sync --local`` does. DIR is rendered with the app's source settings by
the render of ``app diff --local`` (:mod:`tidegate.cli.app_diff_local`), and the objects are
sent in the operation (``operation.sync.manifests``); the controller syncs them instead of
rendering Git (``controller/operate.py``), still under the AppProject's rules, and records the
operation's revision. The app is OutOfSync with Git afterwards, as in argocd.

Refused, nothing requested (exit 1, the message says why):
- automated sync on, unless ``--dry-run`` (argocd's rule: the controller would sync Git back);
- through the API server (logged in): it does not take local manifests; use ``--core``;
- a render holding a Secret: its values would be stored in the Application's ``operation``
  and ``status.operationState``, readable by anyone who may read the app (argocd stores them);
- multi-source apps and Helm-repository charts (as ``diff --local``).
"""

from __future__ import annotations

import json
from typing import Any

from tidegate.cli import app_remote, app_sync_preview, output


async def manifests(
    look: app_sync_preview.Look, raw: dict[str, Any], *, revision: str | None, dry_run: bool
) -> tuple[str, ...]:
    """The manifests to send for ``--local`` (none without it), or a refusal."""
    from tidegate.cli import app_state, appspec

    if look.local is None:
        return ()
    what = app_state.describe(raw)
    if isinstance(look.apps, app_remote.RemoteApps):
        raise output.fail(
            f"{what}: --local is not supported through the API server (it does not take local"
            " manifests): use --core with the management cluster's kubeconfig"
        )
    if appspec.automated_enabled(raw.get("spec") or {}) and not dry_run:
        raise output.fail(
            f"{what}: --local cannot sync while automated sync is on (the controller would sync"
            " Git back); turn it off (app set --sync-policy none) or use --dry-run"
        )
    objects = await look.manifests(revision)
    secrets = [str((o.get("metadata") or {}).get("name")) for o in objects
               if o.get("kind") == "Secret" and o.get("apiVersion") == "v1"]  # fmt: skip
    if secrets:
        raise output.fail(
            f"{what}: --local renders Secret {', '.join(sorted(secrets))}: its values would be"
            " stored in the Application's operation, readable by whoever can read the app;"
            " sync Secrets from Git"
        )
    if not objects:
        raise output.fail(f"{what}: --local {look.local[0]} renders no object")
    return tuple(json.dumps(o, sort_keys=True) for o in objects)
