"""What every ``tidegate app`` command shares: options, the runner and its exit codes.

Exit codes: 0 ok; 1 failure, out of sync, or a timeout; 2 usage error (bad flags, invalid
Application). Only typer is imported at start-up; the rest is imported when a command runs.
"""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any, TypeVar

import typer

T = TypeVar("T")

NAME_ARGUMENT: Any = typer.Argument(..., help="Application name (or NAMESPACE/NAME).")
TIMEOUT_OPTION: Any = typer.Option(
    0, "--timeout", min=0, help="Give up after this many seconds (0: wait forever)."
)
NO_COLOR_OPTION: Any = typer.Option(
    False, "--no-color", help="No colours (none either when NO_COLOR is set or not a terminal)."
)


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a command's coroutine: FlagError exits 2, any other Tidegate error exits 1."""
    import asyncio

    from tidegate.cli import output
    from tidegate.model import errors

    try:
        return asyncio.run(coro)
    except errors.TidegateError as exc:
        raise output.fail(str(exc)) from None
    except ValueError as exc:
        from tidegate.sync.request import FlagError  # appspec's; only imported when needed

        if not isinstance(exc, FlagError):
            raise
        raise output.fail(str(exc), 2) from None


def parse_bool(value: str, flag: str) -> bool:
    """argocd's boolean flag values (``--validate=false``, ``--exit-code=false``)."""
    lowered = value.strip().lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    from tidegate.cli import appspec

    raise appspec.FlagError(flag, f"expected true or false, not {value!r}")


def validate(obj: dict[str, Any]) -> None:
    """``tidegate.model.parse_application``; an invalid object is a usage error (exit 2)."""
    from tidegate.cli import appspec
    from tidegate.model import application, errors

    try:
        application.parse_application(obj)
    except errors.SpecError as exc:
        raise appspec.FlagError("", str(exc)) from None


def username() -> str:
    """Who initiates an operation (``operation.initiatedBy.username``)."""
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "tidegate-cli"


def echo(message: str) -> None:
    typer.echo(message)
