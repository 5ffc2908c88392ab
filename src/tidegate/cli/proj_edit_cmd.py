"""The edit commands of ``tidegate proj``: destinations, sources, source namespaces, signature
keys, orphaned-resource ignores and the resource allow/deny lists.

Each applies one ``projedit`` function through ``proj_access.run_edit`` (read, edit, validate,
write on the resourceVersion read); their meanings are argocd's (docs/cli.md).
:func:`register` adds them to the ``proj`` group.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import typer

from tidegate.cli import kubeopts, proj_access, remote

NAME: Any = typer.Argument(..., help="Project name.")
GROUP: Any = typer.Argument(..., help="API group ('' for the core group).")
KIND: Any = typer.Argument(..., help="Kind.")
Opt = typer.Option
Command = Callable[..., None]

# (command, projedit function, metavar of the value, help)
_ONE_VALUE = (
    ("add-source", "add_source", "URL", "Permit a source repository (a no-op if already allowed)."),
    ("remove-source", "remove_source", "URL", "Remove a source repository (a no-op if absent)."),
    (
        "add-source-namespace",
        "add_source_namespace",
        "NAMESPACE",
        "Let Applications in NAMESPACE use the project (a no-op if already allowed).",
    ),
    (
        "remove-source-namespace",
        "remove_source_namespace",
        "NAMESPACE",
        "Stop Applications in NAMESPACE from using the project ('*' is never removed).",
    ),
    (
        "add-signature-key",
        "add_signature_key",
        "KEY-ID",
        "Require commits signed with this GnuPG key (16 hex digits); one already listed: exit 1.",
    ),
    (
        "remove-signature-key",
        "remove_signature_key",
        "KEY-ID",
        "Stop requiring a GnuPG key; one not listed: exit 1.",
    ),
)
# (command, allow, namespaced, help): argocd's list semantics, see projedit.modify_resources.
_RESOURCE_LISTS = (
    (
        "allow-cluster-resource",
        True,
        False,
        "Add a cluster-scoped GROUP KIND to the allow list (--list deny: remove it from the deny"
        " list).",
    ),
    (
        "deny-cluster-resource",
        False,
        False,
        "Remove a cluster-scoped GROUP KIND from the allow list (--list deny: add it to the deny"
        " list).",
    ),
    (
        "allow-namespace-resource",
        True,
        True,
        "Remove a namespaced GROUP KIND from the deny list (--list allow: add it to the allow"
        " list).",
    ),
    (
        "deny-namespace-resource",
        False,
        True,
        "Add a namespaced GROUP KIND to the deny list (--list allow: remove it from the allow"
        " list).",
    ),
)
_ORPHANED = (
    (
        "add-orphaned-ignore",
        "add_orphaned_ignore",
        "Ignore GROUP KIND (--name: a name pattern) when looking for orphaned resources.",
    ),
    (
        "remove-orphaned-ignore",
        "remove_orphaned_ignore",
        "Remove an entry of the orphaned-resources ignore list; one not there: exit 1.",
    ),
)


def add_destination(
    name: str = NAME,
    server: str = typer.Argument(..., help="Destination server URL (or cluster name, --name)."),
    dest_namespace: str = typer.Argument(..., metavar="NAMESPACE", help="Namespace glob."),
    by_name: bool = Opt(False, "--name", help="SERVER is a cluster name, not a server URL."),
    kubeconfig: str | None = kubeopts.KUBECONFIG_OPTION,
    context: str | None = kubeopts.CONTEXT_OPTION,
    namespace: str = kubeopts.NAMESPACE_OPTION,
    core: bool = remote.CORE_OPTION,
) -> None:
    """Permit a destination; one already defined is refused (exit 1)."""
    from tidegate.cli import projedit

    proj_access.run_edit(
        kubeconfig,
        context,
        namespace,
        name,
        lambda p: projedit.add_destination(p, server, dest_namespace, by_name=by_name),
        core=core,
    )


def remove_destination(
    name: str = NAME,
    server: str = typer.Argument(..., help="Destination server URL (or cluster name)."),
    dest_namespace: str = typer.Argument(..., metavar="NAMESPACE", help="Namespace glob."),
    kubeconfig: str | None = kubeopts.KUBECONFIG_OPTION,
    context: str | None = kubeopts.CONTEXT_OPTION,
    namespace: str = kubeopts.NAMESPACE_OPTION,
    core: bool = remote.CORE_OPTION,
) -> None:
    """Remove a destination; one that does not exist is refused (exit 1)."""
    from tidegate.cli import projedit

    proj_access.run_edit(
        kubeconfig,
        context,
        namespace,
        name,
        lambda p: projedit.remove_destination(p, server, dest_namespace),
        core=core,
    )


def add_destination_service_account(
    name: str = NAME,
    server: str = typer.Argument(..., help="Destination server URL (glob)."),
    dest_namespace: str = typer.Argument(..., metavar="NAMESPACE", help="Namespace glob."),
    account: str = typer.Argument(..., metavar="SERVICE_ACCOUNT", help="Service account."),
    account_namespace: str = Opt(
        "", "--service-account-namespace", help="Namespace the service account lives in."
    ),
    kubeconfig: str | None = kubeopts.KUBECONFIG_OPTION,
    context: str | None = kubeopts.CONTEXT_OPTION,
    namespace: str = kubeopts.NAMESPACE_OPTION,
    core: bool = remote.CORE_OPTION,
) -> None:
    """Set the service account syncs to a destination run as; the same one again: exit 1."""
    from tidegate.cli import projedit

    proj_access.run_edit(
        kubeconfig,
        context,
        namespace,
        name,
        lambda p: projedit.add_destination_service_account(
            p, server, dest_namespace, account, account_namespace=account_namespace
        ),
        core=core,
    )


def remove_destination_service_account(
    name: str = NAME,
    server: str = typer.Argument(..., help="Destination server URL (glob)."),
    dest_namespace: str = typer.Argument(..., metavar="NAMESPACE", help="Namespace glob."),
    account: str = typer.Argument(..., metavar="SERVICE_ACCOUNT", help="As stored (NS:NAME)."),
    kubeconfig: str | None = kubeopts.KUBECONFIG_OPTION,
    context: str | None = kubeopts.CONTEXT_OPTION,
    namespace: str = kubeopts.NAMESPACE_OPTION,
    core: bool = remote.CORE_OPTION,
) -> None:
    """Remove a destination's service account; one not there: exit 1."""
    from tidegate.cli import projedit

    proj_access.run_edit(
        kubeconfig,
        context,
        namespace,
        name,
        lambda p: projedit.remove_destination_service_account(p, server, dest_namespace, account),
        core=core,
    )


def _one_value(edit: str, metavar: str) -> Command:
    """``COMMAND PROJECT VALUE`` applying ``projedit.<edit>(project, value)``."""

    def run(
        name: str = NAME,
        value: str = typer.Argument(..., metavar=metavar),
        kubeconfig: str | None = kubeopts.KUBECONFIG_OPTION,
        context: str | None = kubeopts.CONTEXT_OPTION,
        namespace: str = kubeopts.NAMESPACE_OPTION,
        core: bool = remote.CORE_OPTION,
    ) -> None:
        from tidegate.cli import projedit

        change = getattr(projedit, edit)
        proj_access.run_edit(
            kubeconfig, context, namespace, name, lambda p: change(p, value), core=core
        )

    return run


def _resource_list(*, allow: bool, namespaced: bool) -> Command:
    """``COMMAND PROJECT GROUP KIND [--list allow|deny]`` (argocd's default list per scope)."""

    def run(
        name: str = NAME,
        group: str = GROUP,
        kind: str = KIND,
        which: str = Opt(
            "deny" if namespaced else "allow",
            "--list",
            "-l",
            help="The list to change: allow or deny.",
        ),
        kubeconfig: str | None = kubeopts.KUBECONFIG_OPTION,
        context: str | None = kubeopts.CONTEXT_OPTION,
        namespace: str = kubeopts.NAMESPACE_OPTION,
        core: bool = remote.CORE_OPTION,
    ) -> None:
        from tidegate.cli import projedit

        proj_access.run_edit(
            kubeconfig,
            context,
            namespace,
            name,
            lambda p: projedit.modify_resources(
                p, group, kind, allow=allow, namespaced=namespaced, which=which
            ),
            core=core,
        )

    return run


def _orphaned(edit: str) -> Command:
    """``COMMAND PROJECT GROUP KIND [--name PATTERN]``."""

    def run(
        name: str = NAME,
        group: str = GROUP,
        kind: str = KIND,
        resource_name: str = Opt("", "--name", help="Resource name pattern."),
        kubeconfig: str | None = kubeopts.KUBECONFIG_OPTION,
        context: str | None = kubeopts.CONTEXT_OPTION,
        namespace: str = kubeopts.NAMESPACE_OPTION,
        core: bool = remote.CORE_OPTION,
    ) -> None:
        from tidegate.cli import projedit

        change = getattr(projedit, edit)
        proj_access.run_edit(
            kubeconfig,
            context,
            namespace,
            name,
            lambda p: change(p, group, kind, name=resource_name),
            core=core,
        )

    return run


def register(app: typer.Typer) -> None:
    """Add the edit commands to the ``proj`` group, in the order ``--help`` lists them."""
    app.command("add-destination")(add_destination)
    app.command("remove-destination")(remove_destination)
    app.command("add-destination-service-account")(add_destination_service_account)
    app.command("remove-destination-service-account")(remove_destination_service_account)
    for command, edit, metavar, doc in _ONE_VALUE:
        app.command(command, help=doc)(_one_value(edit, metavar))
    for command, edit, doc in _ORPHANED:
        app.command(command, help=doc)(_orphaned(edit))
    for command, allow, namespaced, doc in _RESOURCE_LISTS:
        app.command(command, help=doc)(_resource_list(allow=allow, namespaced=namespaced))
