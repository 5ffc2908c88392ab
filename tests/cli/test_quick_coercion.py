"""The quick coercion of plain option values (cli/quick_coercion.py) agrees with Typer's own
pydantic adapter, and leaves every other case to it."""

from __future__ import annotations

import enum
import subprocess
import sys
from typing import Annotated, Any

import pytest
import typer
from typer import _coercion
from typer.testing import CliRunner

from tidegate.cli import quick_coercion


class Color(enum.StrEnum):
    red = "red"
    green = "green"


def _command() -> Any:
    app = typer.Typer()

    @app.command()
    def show(
        name: Annotated[str, typer.Option("--name")] = "x",
        maybe: Annotated[str | None, typer.Option("--maybe")] = None,
        color: Annotated[Color, typer.Option("--color")] = Color.red,
        loose: Annotated[Color, typer.Option("--loose", case_sensitive=False)] = Color.red,
        count: Annotated[int, typer.Option("--count")] = 1,
        many: Annotated[list[str] | None, typer.Option("--many")] = None,
        shout: Annotated[str, typer.Option("--shout", parser=str.upper)] = "a",
    ) -> None:
        pass

    return typer.main.get_command(app)


_PARAMS = {p.name: p for p in _command().params}
_CASES = [
    ("name", "guestbook"),
    ("name", ""),
    ("maybe", None),
    ("maybe", "v"),
    ("color", Color.green),
    ("color", "green"),
    ("color", "GREEN"),
    ("color", "blue"),
    ("loose", "GREEN"),
    ("count", "7"),
    ("count", None),
    ("many", None),
    ("many", ("a", "b")),
    ("shout", "abc"),
]


def _outcome(coerce: Any, name: str, value: Any) -> tuple[str, Any]:
    param = _PARAMS[name]
    ctx = typer.Context(_command())
    try:
        return "ok", coerce(value, param=param, ctx=ctx)
    except Exception as exc:  # the error is part of the behaviour compared
        return type(exc).__name__, str(getattr(exc, "message", exc))


@pytest.mark.parametrize(("name", "value"), _CASES)
def test_quick_coercion_agrees_with_typers_adapter(name: str, value: Any) -> None:
    descriptor = _PARAMS[name].type_descriptor
    typers = _coercion.build_runtime_param(descriptor).coerce
    quick = quick_coercion.QuickCoercion(descriptor).coerce
    expected = _outcome(typers, name, value)
    got = _outcome(quick, name, value)
    assert got == expected
    assert type(got[1]) is type(expected[1])


@pytest.mark.parametrize(
    ("name", "value", "plain"),
    [
        ("name", "guestbook", True),
        ("maybe", None, True),
        ("color", "green", True),
        ("color", "blue", False),  # a bad choice: Typer's adapter words the error
        ("count", "7", False),
        ("many", ("a",), False),
        ("shout", "abc", False),
    ],
)
def test_only_plain_values_skip_the_adapter(name: str, value: Any, plain: bool) -> None:
    param = _PARAMS[name]
    quick = quick_coercion.QuickCoercion(param.type_descriptor)
    found = quick.quick(value, multiple=bool(param.multiple), ctx=typer.Context(_command()))
    assert (found is not quick_coercion._ABSENT) is plain


def test_a_bad_value_is_still_typers_usage_error() -> None:
    from tidegate.cli import main

    result = CliRunner().invoke(main.app, ["app", "list", "-o", "bogus"])
    assert result.exit_code == 2
    assert "'bogus' is not one of 'table', 'wide', 'yaml', 'json'" in " ".join(
        result.output.replace("│", " ").split()
    )


def test_app_list_help_and_a_parse_do_not_import_pydantic() -> None:
    """A fresh ``tidegate app list --help`` and a parse of plain options import no pydantic
    (the list itself fails fast: no cluster at that address)."""
    probe = (
        "import sys, runpy\n"
        "sys.argv = ['tidegate', *sys.argv[1:]]\n"
        "try:\n"
        "    runpy.run_module('tidegate', run_name='__main__')\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('PYDANTIC' if 'pydantic' in sys.modules else 'NO-PYDANTIC')\n"
    )
    for argv in (["app", "list", "--help"], ["app", "list", "-o", "json", "--core", "--kubeconfig",
                                              "/nonexistent", "-n", "x"]):  # fmt: skip
        proc = subprocess.run(
            [sys.executable, "-c", probe, *argv],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env={"PATH": "/usr/bin:/bin"},
        )
        assert proc.stdout.rstrip().endswith("NO-PYDANTIC"), (argv, proc.stdout[-500:], proc.stderr)
