"""Sub-commands of a Typer group that are imported only when used.

A :class:`LazyCommands` mapping stands in for a group's ``commands``: its keys are known
from a static table (name -> module, attribute, one-line help), so listing names, suggesting
a close name for a typo or printing the group's ``--help`` imports nothing; reading a value
imports that command's module and builds its Click command, once. ``command_tree()`` and
shell completion read every value and so import everything, as they need to.

The attribute is a ``typer.Typer`` (a sub-group such as ``app``) or a function (a command
such as ``seal``); either is turned into a Click command exactly as ``Typer.add_typer`` /
``Typer.command`` registration would.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any

import typer
import typer.core
import typer.main
import typer.models


@dataclass(frozen=True)
class CommandRef:
    """Where a sub-command lives and the first paragraph of its help (what a group's
    ``--help`` lists)."""

    module: str
    attr: str
    summary: str


@dataclass(frozen=True)
class BuildSettings:
    """The parent app's settings its sub-commands are built with."""

    pretty_exceptions_short: bool
    rich_markup_mode: Any
    suggest_commands: bool


def build(name: str, entry: CommandRef, settings: BuildSettings) -> Any:
    """Import ``entry``'s module and build the Click command named ``name``."""
    target = getattr(importlib.import_module(entry.module), entry.attr)
    if isinstance(target, typer.Typer):
        return _group(typer.models.TyperInfo(target, name=name), settings)
    return _command(typer.models.CommandInfo(name=name, callback=target), settings)


def _command(info: typer.models.CommandInfo, settings: BuildSettings) -> Any:
    return typer.main.get_command_from_info(
        info,
        pretty_exceptions_short=settings.pretty_exceptions_short,
        rich_markup_mode=settings.rich_markup_mode,
    )


def _group(info: typer.models.TyperInfo, settings: BuildSettings) -> Any:
    """The group Typer builds for ``info``, with its sub-commands built on first read (a
    command's options are introspected only when it runs, not when a sibling does)."""
    import copy

    target = info.typer_instance
    assert isinstance(target, typer.Typer)
    builders: dict[str, Callable[[], Any]] = {}
    for command_info in target.registered_commands:
        assert command_info.callback is not None
        cmd_name = command_info.name or typer.main.get_command_name(command_info.callback.__name__)
        builders[cmd_name] = functools.partial(_command, command_info, settings)
    for group_info in target.registered_groups:
        group_name = typer.main.solve_typer_info_defaults(group_info).name
        if not group_name:  # its commands merge into this group: Typer's own build
            return typer.main.get_group_from_info(
                info,
                pretty_exceptions_short=settings.pretty_exceptions_short,
                suggest_commands=settings.suggest_commands,
                rich_markup_mode=settings.rich_markup_mode,
            )
        builders[group_name] = functools.partial(_group, group_info, settings)
    shell = copy.copy(target)  # the group itself (help, callback, options) without children
    shell.registered_commands = []
    shell.registered_groups = []
    shell_info = copy.copy(info)
    shell_info.typer_instance = shell
    group = typer.main.get_group_from_info(
        shell_info,
        pretty_exceptions_short=settings.pretty_exceptions_short,
        suggest_commands=settings.suggest_commands,
        rich_markup_mode=settings.rich_markup_mode,
    )
    group.commands = LazyCommands(builders)
    return group


def summary_of(command: Any) -> str:
    """The first paragraph of ``command``'s help, as a group's help listing shows it."""
    import inspect

    text = command.short_help or command.help or ""
    return str(inspect.cleandoc(text).split("\n\n")[0].strip())


def placeholder(name: str, entry: CommandRef) -> Any:
    """A command carrying only ``name`` and the summary: what a help listing reads."""
    return typer.core.TyperCommand(name=name, help=entry.summary)


class LazyCommands(MutableMapping[str, Any]):
    """A group's ``commands``: names known up front, in order; each command built on first
    read by its builder. Commands added later (``add_command``) are kept as given."""

    def __init__(self, builders: Mapping[str, Callable[[], Any]]) -> None:
        self._builders = dict(builders)
        self._built: dict[str, Any] = {}

    def loaded(self, name: str) -> Any | None:
        """The command ``name`` if it is already built (or was added), else None."""
        return self._built.get(name)

    def __getitem__(self, name: str) -> Any:
        found = self._built.get(name)
        if found is None:
            builder = self._builders[name]  # KeyError: not a command of this group
            found = self._built[name] = builder()
        return found

    def __setitem__(self, name: str, command: Any) -> None:
        self._built[name] = command
        self._builders.setdefault(name, lambda: command)

    def __delitem__(self, name: str) -> None:
        del self._builders[name]
        self._built.pop(name, None)

    def __iter__(self) -> Iterator[str]:
        return iter(self._builders)

    def __len__(self) -> int:
        return len(self._builders)
