"""The ``tidegate`` command: one Typer app with a sub-app per noun, as the argocd CLI has.

Sub-commands are registered in a static table (``_TABLE`` below) and imported only when one
is invoked: ``tidegate --help`` lists the table's names and summaries without importing any
command module (docs/cli.md, "How commands are registered")."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import typer
import typer.core

from tidegate.cli import quick_coercion
from tidegate.cli.lazy_commands import CommandRef, LazyGroup, summary_of, table

quick_coercion.install()  # plain option values coerced without pydantic (issue 19)


class _ArgocdParityGroup(LazyGroup):
    """The root group: its sub-commands are imported on first use (:data:`COMMANDS`); it drops
    argocd's deliberately unsupported flags with a notice before parsing, and answers an
    unknown flag with the closest flag of the command, argocd's included
    (:mod:`tidegate.cli.parity`, imported only on those paths)."""

    def format_help(self, ctx: Any, formatter: Any) -> None:
        """Plain Click help (kubectl's and argocd's layout): Typer's rich renderer would import
        rich, markdown-it and pygments, ~0.1 s of CPU, more than half of issue 19's 0.15 s.
        The listing reads names and summaries only: no command module is imported."""
        with self.summaries_only(ctx):
            super(typer.core.TyperGroup, self).format_help(ctx, formatter)

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        # No arguments: the help and exit 2, as before. Typer's NoArgsIsHelpError path relies
        # on its rich renderer printing as a side effect, which the plain help does not do.
        if not args and self.no_args_is_help and not ctx.resilient_parsing:
            typer.echo(ctx.get_help())
            ctx.exit(2)
        return super().parse_args(ctx, args)

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        # Each whole summary, wrapped (Click's default cuts it at the terminal's width).
        rows = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, summary_of(command)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def main(self, args: Sequence[str] | None = None, *rest: Any, **kwargs: Any) -> Any:
        argv = list(sys.argv[1:] if args is None else args)
        if any(a.startswith("--") and a != "--help" for a in argv):
            from tidegate.cli import parity

            argv, notices = parity.strip_unsupported(argv)
            for notice in notices:
                typer.echo(f"tidegate: {notice}", err=True)
        return super().main(argv, *rest, **kwargs)

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except Exception as exc:
            option = getattr(exc, "option_name", None)
            sub = getattr(exc, "ctx", None)
            if option is None or sub is None or not hasattr(exc, "possibilities"):
                raise
            from tidegate.cli import parity

            command = " ".join(sub.command_path.split()[1:])
            own = _long_flags(sub.command)
            usage_error: Any = exc
            usage_error.message = parity.unknown_flag_message(command, option, own)
            usage_error.possibilities = None
            raise


def _long_flags(command: Any) -> frozenset[str]:
    return frozenset(
        opt
        for param in command.params
        for opt in (*param.opts, *getattr(param, "secondary_opts", ()))
        if opt.startswith("--")
    )


def command_tree() -> dict[str, frozenset[str]]:
    """Every command path under ``tidegate`` (``"app create"``) -> its long flags."""
    tree: dict[str, frozenset[str]] = {}

    def walk(command: Any, path: tuple[str, ...]) -> None:
        if path:
            tree[" ".join(path)] = _long_flags(command)
        for name, sub in (getattr(command, "commands", None) or {}).items():  # imports all
            walk(sub, (*path, name))

    walk(typer.main.get_command(app), ())
    return tree


app = typer.Typer(
    cls=_ArgocdParityGroup,
    name="tidegate",
    help="GitOps continuous delivery for fleets of Kubernetes clusters.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """The root group itself does nothing: every sub-command is lazy (:data:`COMMANDS`), and
    Typer builds a group only for an app with a callback or registered commands."""


# Every sub-command: name -> (module under tidegate.cli, attribute, the first paragraph of its
# help), in the order `tidegate --help` lists them. The attribute is a typer.Typer (a group)
# or a function (a command). Nothing here is imported until its command is invoked
# (cli/lazy_commands.py); tests/cli/test_cli_lazy.py checks the table against the modules.
_TABLE: dict[str, tuple[str, str, str]] = {
    "render": (
        "render_cmd",
        "render",
        "Render a source path (Directory, Kustomize or Helm) and print the manifests.",
    ),
    "health": (
        "health_cmd",
        "health",
        "Print the health of each object in FILE (built-in checks, plus argocd-cm's "
        "customizations with --argocd-cm-path, as 'argocd admin settings resource-overrides "
        "health' does).",
    ),
    "install": (
        "install_cmd",
        "install",
        "Install Tidegate's CRDs (Application, ApplicationSet, AppProject, Sealed Secrets' "
        "SealedSecret and Kargo's promotion kinds), the control namespace, the controller's "
        "RBAC and the 'default' AppProject; Argo Rollouts' CRDs (Rollout, AnalysisTemplate, "
        "...) are created where missing.",
    ),
    "controller": (
        "controller_cmd",
        "controller",
        "Reconcile every Application (and ApplicationSet) of the control namespace until Ctrl-C.",
    ),
    "server": (
        "server_cmd",
        "server",
        "Serve Argo CD's REST API (sessions, applications, streams) for the control namespace.",
    ),
    "login": (
        "login_cmd",
        "login",
        "Log in to a Tidegate (or Argo CD) API server and store the session as a context.",
    ),
    "logout": ("login_cmd", "logout", "Forget the session token of a context."),
    "context": ("login_cmd", "context", "List the contexts, or switch to (or --delete) one."),
    "version": (
        "version_cmd",
        "version",
        "Print the client's version, and the server's when a login context is current (with "
        "--core: the Kubernetes API server's that the kubeconfig flags name, as argocd --core).",
    ),
    "demo": (
        "demo_cmd",
        "demo",
        "Bring up mgmt, dev, staging and prod, a seeded git server, Tidegate's API server and "
        "its controllers. The server's URL and the admin login are printed first.",
    ),
    "seal": (
        "seal_cmd",
        "seal",
        "Seal a Secret read on stdin (or -f) for one cluster, as kubeseal does.",
    ),
    "sealed-secrets-controller": (
        "sealed_secrets_cmd",
        "sealed_secrets_controller",
        "Keep a sealing key in --controller-namespace and turn every SealedSecret of the "
        "cluster into its Secret, until Ctrl-C (Sealed Secrets' controller, standalone for one "
        "cluster).",
    ),
    "notifications-controller": (
        "notifications_cmd",
        "notifications_controller",
        "Send the notifications of the control namespace's Applications until Ctrl-C.",
    ),
    "promote": (
        "promotion_cmd",
        "promote",
        "Promote Freight (by name or alias; the newest available one if neither) to a Stage.",
    ),
    "approve": (
        "promotion_cmd",
        "approve",
        "Approve Freight for a Stage (it must be verified in one of the Stage's upstreams).",
    ),
    "rollouts-controller": (
        "rollouts_controller_cmd",
        "rollouts_controller",
        "Run the Rollouts controller (canary and blue-green) and the analysis controller of its"
        " AnalysisRuns for one cluster until Ctrl-C.",
    ),
    "testenv": (
        "testenv",
        "app",
        "Local Kubernetes control planes (etcd, kube-apiserver, controller-manager, scheduler, "
        "kwok nodes) and a git server, for tests and the demo. No Docker needed.",
    ),
    "app": (
        "app_group",
        "app",
        "Create, inspect, diff, sync and delete Applications (as 'argocd app' does).",
    ),
    "appset": (
        "appset_cmd",
        "app",
        "Create, inspect and delete ApplicationSets (generators of Applications).",
    ),
    "cluster": ("cluster_cmd", "app", "Register, list, label and remove destination clusters."),
    "repo": ("repo_cmd", "app", "Register, list and remove Git repositories."),
    "repocreds": ("repocreds_cmd", "app", "Manage repository credential templates."),
    "proj": (
        "proj_cmd",
        "app",
        "Create, inspect, edit and delete AppProjects (Tidegate's tenancy boundary).",
    ),
    "account": ("account_cmd", "app", "Manage accounts and API tokens."),
    "audit": ("audit_cmd", "app", "Query the audit log."),
    "admin": ("notifications_cmd", "admin", "Administration commands."),
    "freight": ("promotion_cmd", "freight_app", "Freight: artifact versions found by Warehouses."),
    "stage": ("promotion_cmd", "stage_app", "Stages of a promotion pipeline."),
    "warehouse": ("promotion_cmd", "warehouse_app", "Warehouses: artifact subscriptions."),
    "promotion": ("promotion_cmd", "promotion_app", "Promotions of Freight to Stages."),
    "rollout": (
        "rollout_cmd",
        "app",
        "Manage Argo Rollouts' Rollouts on a workload cluster (kubectl argo rollouts).",
    ),
}
COMMANDS: dict[str, CommandRef] = table(_TABLE)
_ArgocdParityGroup.refs = COMMANDS


def run() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    run()
