"""The ``tidegate`` command: one Typer app with a sub-app per noun, as the argocd CLI has."""

from __future__ import annotations

import importlib

import typer

app = typer.Typer(
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
    ("proj_cmd", "app"),
    ("account_cmd", "app"),
    ("audit_cmd", "app"),
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
    ("demo_cmd", "demo"),
    ("seal_cmd", "seal"),
    ("sealed_secrets_cmd", "sealed_secrets_controller"),
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
