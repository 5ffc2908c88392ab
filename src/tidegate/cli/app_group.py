"""The ``tidegate app`` group: where each of its verbs lives, imported only when it runs.

``_TABLE`` is to ``app`` what ``cli/main.py``'s table is to the root (one mechanism:
:mod:`tidegate.cli.lazy_commands`): name -> (module under ``tidegate.cli``, attribute, the
first paragraph of its help), in the order ``tidegate app --help`` lists them. So ``tidegate
app list`` imports the list verb's module alone, and ``tidegate app --help`` lists every verb
from the table without importing any. ``tests/cli/test_cli_lazy.py`` checks the table against
the real commands.

Two options are added to verbs here rather than spelled by each (:func:`_adapt`): argocd's
``-N/--app-namespace`` on every verb that names an application (``cli/app_namespace.py``) and
the ``--project`` guard on the resource verbs, around ``-N`` (``cli/app_project_flag.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import typer

from tidegate.cli import lazy_commands

_TABLE: dict[str, tuple[str, str, str]] = {
    "create": (
        "app_edit",
        "create",
        "Create an Application from flags or from -f FILE (verbatim Argo CD manifests).",
    ),
    "events": (
        "app_events_cmd",
        "events",
        "List the events of an application (oldest first), as kubectl get events shows them.",
    ),
    "logs": (
        "app_logs_cmd",
        "logs",
        "Print the logs of the application's pods (argocd app logs); through the API server "
        "when logged in (GET /api/v1/applications/{name}/logs), else directly (--core).",
    ),
    "set": (
        "app_edit",
        "set_",
        "Change an Application's spec (a JSON merge patch of the fields the flags name).",
    ),
    "sync": (
        "app_ops",
        "sync",
        "Sync an application to its target state and follow the operation until it ends.",
    ),
    "rollback": (
        "app_ops",
        "rollback",
        "Sync back to the revision and source of a history entry, and follow it like sync.",
    ),
    "wait": (
        "app_ops",
        "wait",
        "Wait until the conditions hold (none given: synced, healthy and no operation running).",
    ),
    "terminate-op": (
        "app_ops",
        "terminate_op",
        "Stop the running operation (the controller ends it as Failed: terminated).",
    ),
    "patch": ("app_patch", "patch", "Patch an Application's object (argocd app patch)."),
    "resources": (
        "app_resources_list",
        "resources",
        "List an Application's resources, managed and orphaned (argocd app resources); "
        "through the API server when logged in (the resource tree's orphanedNodes), else "
        "directly.",
    ),
    "unset": (
        "app_unset",
        "unset",
        "Remove source fields of an Application (argocd app unset).",
    ),
    "remove-source": (
        "app_unset",
        "remove_source",
        "Remove a source from a multi-source Application (argocd app remove-source).",
    ),
    "add-source": (
        "app_add_source",
        "add_source",
        "Append a source (the source flags of 'set', plus --source-name and --ref) to an app; "
        "a single-source app becomes multi-source.",
    ),
    "edit": (
        "edit_cmd",
        "app_edit",
        "Edit an application's spec in $EDITOR (validated, then written if it changed).",
    ),
    "get-resource": (
        "app_resource_cmd",
        "get_resource",
        "Print an app's live resource(s) (argocd app get-resource); ``--filter-fields`` keeps "
        "only the listed paths (``-path`` drops one), as the API's ``fields`` selection does. "
        "Logged in, read through the API server.",
    ),
    "patch-resource": (
        "app_resource_cmd",
        "patch_resource",
        "Patch an app's live resource (argocd app patch-resource); logged in, through the API "
        "server (as the merge patch the change amounts to).",
    ),
    "delete-resource": (
        "app_resource_cmd",
        "delete_resource",
        "Delete an app's live resource (argocd app delete-resource); logged in, through the "
        "API server.",
    ),
    "get": (
        "app_cmd",
        "get",
        "Show an application: summary, conditions and resources (or -o yaml|json).",
    ),
    "list": (
        "app_list_cmd",
        "list_",
        "List applications of the control namespace (-N: of another one, -A: of all; "
        "argocd's filters -l, -p, -r, -c, --path).",
    ),
    "history": (
        "app_cmd",
        "history",
        "Show the deployment history: ID DATE REVISION (and SOURCE with -o wide).",
    ),
    "refresh": (
        "app_cmd",
        "refresh_",
        "Ask the controller to refresh the app (the argocd.argoproj.io/refresh annotation).",
    ),
    "delete": (
        "app_cmd",
        "delete",
        "Delete applications (names, or -l SELECTOR in the control namespace); with --cascade "
        "(default) the controller deletes their resources first (the resources finalizer), "
        "with --no-cascade they stay on the cluster.",
    ),
    "diff": (
        "app_cmd",
        "diff",
        "Diff the target state (rendered from Git, or --local DIR) with the live state, "
        "locally; through the API server when logged in (cli/app_diff_remote.py).",
    ),
    "manifests": (
        "app_cmd",
        "manifests",
        "Print the app's manifests as multi-document YAML (Secret values masked); --local DIR "
        "renders a local directory with the app's source settings, as 'diff --local' does. "
        "Logged in, the API server renders them (--local and the multi-source pins stay "
        "direct).",
    ),
    "confirm-deletion": (
        "app_cmd",
        "confirm_deletion",
        "Approve the pruning (Prune=confirm) or deletion (Delete=confirm) the app waits for.",
    ),
    "actions": (
        "app_actions",
        "actions",
        "List and run resource actions (as 'argocd app actions').",
    ),
}
COMMANDS = lazy_commands.table(_TABLE)

# argocd's -N/--app-namespace on every verb that names an application (``list`` has its own
# -N, a filter; ``add-source`` spells it), and the --project guard of the resource verbs.
_NAMESPACED = frozenset(
    (
        "get", "history", "delete", "diff", "manifests", "confirm-deletion", "create", "set",
        "sync", "rollback", "wait", "terminate-op", "patch", "resources", "unset",
        "remove-source", "edit", "get-resource", "patch-resource", "delete-resource", "logs",
    )
)  # fmt: skip
_PROJECT_GUARDED = frozenset(("resources", "get-resource", "patch-resource", "delete-resource"))


def _adapt(name: str, callback: Callable[..., Any]) -> Callable[..., Any]:
    if name not in _NAMESPACED and name not in _PROJECT_GUARDED:
        return callback  # app list: nothing to import
    from tidegate.cli import app_namespace, app_project_flag

    if name in _NAMESPACED:
        callback = app_namespace.with_app_namespace(callback)
    if name in _PROJECT_GUARDED:  # around -N: it reads the app -N names
        callback = app_project_flag.with_project(callback)
    return callback


app = typer.Typer(
    name="app",
    cls=lazy_commands.lazy_group(COMMANDS, adapt=_adapt),
    help="Create, inspect, diff, sync and delete Applications (as 'argocd app' does).",
    no_args_is_help=True,
)
