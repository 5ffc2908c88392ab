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

from tidegate.cli import app_group, main
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


@pytest.mark.parametrize("name", list(app_group.COMMANDS))
def test_app_table_entry_matches_its_command(name: str) -> None:
    """``app_group``'s table names each verb's real module and attribute, and its summary is
    the first paragraph of the built command's help (what ``tidegate app --help`` lists)."""
    entry = app_group.COMMANDS[name]
    target = getattr(importlib.import_module(entry.module), entry.attr)
    if isinstance(target, typer.Typer):
        assert target.info.name == name
    else:
        assert callable(target)
    group = typer.main.get_command(main.app).commands["app"]  # type: ignore[attr-defined]
    command = group.commands[name]
    assert command.name == name
    assert " ".join(summary_of(command).split()) == entry.summary, (
        f"the help of {entry.module}.{entry.attr} changed: update app_group._TABLE[{name!r}]"
    )
    assert not command.hidden and not command.deprecated


def test_app_verbs_get_the_options_the_group_adds() -> None:
    """The group's ``adapt`` hook: -N on the verbs naming an application, ``--project`` on the
    resource verbs; ``list`` keeps its own -N (a filter)."""
    tree = main.command_tree()
    assert "--app-namespace" in tree["app get"] and "--app-namespace" in tree["app sync"]
    assert "--project" in tree["app get-resource"] and "--project" not in tree["app get"]
    assert "--app-namespace" in tree["app actions run"]
    result = CliRunner().invoke(main.app, ["app", "get", "-N", "other", "team/guestbook"])
    assert result.exit_code == 2
    assert "'other' but the application is named 'team/guestbook'" in _flat(result.output)


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


def _probe(*argv: str) -> tuple[str, int, set[str]]:
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE, *argv],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"},
    )
    text, _, last = proc.stdout.rstrip().rpartition("\n")
    assert last.startswith("{"), proc.stderr
    report = json.loads(last)
    return text, report["code"], set(report["modules"])


def test_root_help_imports_no_command_module() -> None:
    """``python -m tidegate --help`` in a fresh process lists every command with its summary,
    exits 0, and has imported none of the command modules, nor Typer's rich renderer."""
    help_text, code, imported = _probe("--help")
    assert code == 0
    assert "typer.rich_utils" not in imported, "the root help is plain Click (no rich import)"
    assert imported & {e.module for e in main.COMMANDS.values()} == set()
    assert help_text.startswith("Usage: tidegate [OPTIONS] COMMAND [ARGS]...")
    dense = "".join(help_text.split())  # wrapping may break a line at any space or hyphen
    for name, entry in main.COMMANDS.items():
        assert "".join(f"{name} {entry.summary}".split()) in dense
    assert not [
        m
        for m in imported
        if m.startswith("tidegate.cli.")
        and m
        not in ("tidegate.cli.main", "tidegate.cli.lazy_commands", "tidegate.cli.quick_coercion")
    ], "the root --help imports only main, lazy_commands and quick_coercion"


def _other_app_modules(keep: str) -> set[str]:
    return {e.module for e in app_group.COMMANDS.values()} - {keep}


def test_app_list_help_imports_no_other_app_verb() -> None:
    """``tidegate app list --help`` in a fresh process imports ``app list``'s module and none of
    the other ``app`` verbs' modules."""
    text, code, imported = _probe("app", "list", "--help")
    assert code == 0
    assert "Usage: tidegate app list [OPTIONS]" in text and "--selector" in text
    list_module = app_group.COMMANDS["list"].module
    assert list_module in imported
    assert imported & _other_app_modules(list_module) == set()


def test_app_help_lists_the_table_without_importing_a_verb() -> None:
    """``tidegate app --help`` lists every verb with its summary from the table alone."""
    text, code, imported = _probe("app", "--help")
    assert code == 0
    assert imported & _other_app_modules("") == set()
    dense = "".join(_flat(text).split())
    for name, entry in app_group.COMMANDS.items():
        assert "".join(f"{name} {entry.summary}".split()) in dense, name


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
