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

import importlib
from collections.abc import Iterator, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any

import typer
import typer.core
import typer.main
import typer.models


@dataclass(frozen=True)
class LazyCommand:
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


def build(name: str, entry: LazyCommand, settings: BuildSettings) -> Any:
    """Import ``entry``'s module and build the Click command named ``name``."""
    target = getattr(importlib.import_module(entry.module), entry.attr)
    if isinstance(target, typer.Typer):
        return typer.main.get_group_from_info(
            typer.models.TyperInfo(target, name=name),
            pretty_exceptions_short=settings.pretty_exceptions_short,
            suggest_commands=settings.suggest_commands,
            rich_markup_mode=settings.rich_markup_mode,
        )
    return typer.main.get_command_from_info(
        typer.models.CommandInfo(name=name, callback=target),
        pretty_exceptions_short=settings.pretty_exceptions_short,
        rich_markup_mode=settings.rich_markup_mode,
    )


def summary_of(command: Any) -> str:
    """The first paragraph of ``command``'s help, as a group's help listing shows it."""
    import inspect

    text = command.short_help or command.help or ""
    return str(inspect.cleandoc(text).split("\n\n")[0].strip())


def placeholder(name: str, entry: LazyCommand) -> Any:
    """A command carrying only ``name`` and the summary: what a help listing reads."""
    return typer.core.TyperCommand(name=name, help=entry.summary)


class LazyCommands(MutableMapping[str, Any]):
    """A group's ``commands``: the table's names in its order, each built on first read."""

    def __init__(self, table: Mapping[str, LazyCommand], settings: BuildSettings) -> None:
        self._table = table
        self._settings = settings
        self._built: dict[str, Any] = {}
        self._extra: dict[str, Any] = {}

    def loaded(self, name: str) -> Any | None:
        """The command ``name`` if it is already built (or was added), else None."""
        return self._extra.get(name, self._built.get(name))

    def __getitem__(self, name: str) -> Any:
        found = self.loaded(name)
        if found is not None:
            return found
        entry = self._table[name]  # KeyError: not a command of this group
        built = self._built[name] = build(name, entry, self._settings)
        return built

    def __setitem__(self, name: str, command: Any) -> None:
        self._extra[name] = command

    def __delitem__(self, name: str) -> None:
        del self._extra[name]

    def __iter__(self) -> Iterator[str]:
        yield from self._table
        yield from (name for name in self._extra if name not in self._table)

    def __len__(self) -> int:
        return len(self._table) + sum(1 for name in self._extra if name not in self._table)
