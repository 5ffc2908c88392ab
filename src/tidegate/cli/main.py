"""The ``tidegate`` command: one Typer app with a sub-app per noun, as the argocd CLI has."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from typing import Any

import typer
import typer.core


class _ArgocdParityGroup(typer.core.TyperGroup):
    """The root group: drops argocd's deliberately unsupported flags with a notice before
    parsing, and answers an unknown flag with the closest flag of the command, argocd's
    included (:mod:`tidegate.cli.parity`, imported only on those paths)."""

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
        for name, sub in (getattr(command, "commands", None) or {}).items():
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

# (module under tidegate.cli, attribute): sub-apps are Typer groups, commands are functions.
_GROUPS: tuple[tuple[str, str], ...] = (
    ("testenv", "app"),
    ("app_cmd", "app"),
    ("appset_cmd", "app"),
    ("cluster_cmd", "app"),
    ("repo_cmd", "app"),
    ("repocreds_cmd", "app"),
    ("proj_cmd", "app"),
    ("account_cmd", "app"),
    ("audit_cmd", "app"),
    ("notifications_cmd", "admin"),
    ("promotion_cmd", "freight_app"),
    ("promotion_cmd", "stage_app"),
    ("promotion_cmd", "warehouse_app"),
    ("promotion_cmd", "promotion_app"),
    ("rollout_cmd", "app"),
)
_COMMANDS: tuple[tuple[str, str], ...] = (
    ("render_cmd", "render"),
    ("health_cmd", "health"),
    ("install_cmd", "install"),
    ("controller_cmd", "controller"),
    ("server_cmd", "server"),
    ("login_cmd", "login"),
    ("login_cmd", "logout"),
    ("login_cmd", "context"),
    ("version_cmd", "version"),
    ("demo_cmd", "demo"),
    ("seal_cmd", "seal"),
    ("sealed_secrets_cmd", "sealed_secrets_controller"),
    ("notifications_cmd", "notifications_controller"),
    ("promotion_cmd", "promote"),
    ("promotion_cmd", "approve"),
    ("rollouts_controller_cmd", "rollouts_controller"),
)


def _register() -> None:
    for module_name, attr in _GROUPS:
        try:
            module = importlib.import_module(f"tidegate.cli.{module_name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"tidegate.cli.{module_name}":
                raise
            continue
        sub: typer.Typer = getattr(module, attr)
        app.add_typer(sub, name=sub.info.name)
    for module_name, attr in _COMMANDS:
        try:
            module = importlib.import_module(f"tidegate.cli.{module_name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"tidegate.cli.{module_name}":
                raise
            continue
        app.command(name=attr.replace("_", "-"))(getattr(module, attr))


_register()


def run() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    run()
