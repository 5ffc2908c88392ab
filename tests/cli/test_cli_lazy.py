"""Lazy command registration (issue 19's start-up target): the static table of main.py matches
the command modules, the root ``--help`` imports none of them, and every command's ``--help``
still works once its module is imported on demand."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys

import pytest
import typer
from typer.testing import CliRunner

from tidegate.cli import main
from tidegate.cli.lazy_commands import summary_of


def _flat(text: str) -> str:
    for ch in "│╭╰─╮╯":
        text = text.replace(ch, " ")
    return " ".join(text.split())


@pytest.mark.parametrize("name", list(main.COMMANDS))
def test_table_entry_matches_its_module(name: str) -> None:
    entry = main.COMMANDS[name]
    target = getattr(importlib.import_module(entry.module), entry.attr)
    if isinstance(target, typer.Typer):
        assert target.info.name == name, f"{entry.module}.{entry.attr} is named {target.info.name}"
    else:
        assert name == entry.attr.replace("_", "-")
    command = typer.main.get_command(main.app).commands[name]  # type: ignore[attr-defined]
    assert " ".join(summary_of(command).split()) == entry.summary, (
        f"the help of {entry.module}.{entry.attr} changed: update main._TABLE[{name!r}]"
    )
    assert not command.hidden and not command.deprecated


_PROBE = """
import json, runpy, sys
sys.argv = ["tidegate", *sys.argv[1:]]
code = 0
try:
    runpy.run_module("tidegate", run_name="__main__")
except SystemExit as exc:
    code = exc.code or 0
mods = sorted(m for m in sys.modules if m.startswith(("tidegate", "typer.rich_utils")))
print("\\n" + json.dumps({"code": code, "modules": mods}))
"""


def test_root_help_imports_no_command_module() -> None:
    """``python -m tidegate --help`` in a fresh process lists every command with its summary,
    exits 0, and has imported none of the command modules, nor Typer's rich renderer."""
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE, "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"},
    )
    help_text, _, last = proc.stdout.rstrip().rpartition("\n")
    report = json.loads(last)
    assert report["code"] == 0, proc.stderr
    imported = set(report["modules"])
    assert "typer.rich_utils" not in imported, "the root help is plain Click (no rich import)"
    assert imported & {e.module for e in main.COMMANDS.values()} == set()
    assert help_text.startswith("Usage: tidegate [OPTIONS] COMMAND [ARGS]...")
    dense = "".join(help_text.split())  # wrapping may break a line at any space or hyphen
    for name, entry in main.COMMANDS.items():
        assert "".join(f"{name} {entry.summary}".split()) in dense
    assert not [
        m
        for m in imported
        if m.startswith("tidegate.cli.") and "lazy" not in m and m != "tidegate.cli.main"
    ], "the root --help imports only main and lazy_commands"


def test_no_arguments_print_the_help_and_exit_2() -> None:
    result = CliRunner().invoke(main.app, [])
    assert result.exit_code == 2
    assert result.output.startswith("Usage: tidegate [OPTIONS] COMMAND [ARGS]...")
    assert "seal" in result.output and "rollout" in result.output


def test_unknown_command_is_a_usage_error_with_a_suggestion() -> None:
    result = CliRunner().invoke(main.app, ["ap", "list"])
    assert result.exit_code == 2
    assert "No such command 'ap'. Did you mean 'app'?" in _flat(result.output)


def test_every_command_help_works() -> None:
    """``--help`` of every command path (167 today) through the lazily built tree, in-process."""
    runner = CliRunner()
    paths = sorted(main.command_tree())
    assert "app list" in paths and "seal" in paths
    failed = {}
    for path in paths:
        result = runner.invoke(main.app, [*path.split(), "--help"])
        if result.exit_code != 0 or f"Usage: tidegate {path}" not in _flat(result.output):
            failed[path] = (result.exit_code, result.output[-300:])
    assert failed == {}
