"""Sub-commands of a Typer group that are imported only when used.

A :class:`LazyCommands` mapping stands in for a group's ``commands``: its keys are known
from a static table (name -> module, attribute, one-line help), so listing names, suggesting
a close name for a typo or printing the group's ``--help`` imports nothing; reading a value
imports that command's module and builds its Click command, once. ``command_tree()`` and
shell completion read every value and so import everything, as they need to.

The attribute is a ``typer.Typer`` (a sub-group such as ``app``) or a function (a command
such as ``seal``); either is turned into a Click command exactly as ``Typer.add_typer`` /
``Typer.command`` registration would.

A group with such a table is a :class:`LazyGroup` (``typer.Typer(cls=lazy_group(TABLE))``; the
root is one too): its ``--help`` lists the table's summaries without importing the commands.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any, ClassVar

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


def table(rows: Mapping[str, tuple[str, str, str]]) -> dict[str, CommandRef]:
    """``name -> (module under tidegate.cli, attribute, summary)`` rows as :class:`CommandRef`."""
    return {
        name: CommandRef(f"tidegate.cli.{module}", attr, summary)
        for name, (module, attr, summary) in rows.items()
    }


@dataclass(frozen=True)
class BuildSettings:
    """The parent app's settings its sub-commands are built with."""

    pretty_exceptions_short: bool
    rich_markup_mode: Any
    suggest_commands: bool


Adapt = Callable[[str, Callable[..., Any]], Callable[..., Any]]
"""A group's change to a command's callback before it is built (an option every verb takes)."""


def build(name: str, entry: CommandRef, settings: BuildSettings, adapt: Adapt | None = None) -> Any:
    """Import ``entry``'s module and build the Click command named ``name`` (a function's
    callback passed through ``adapt`` first)."""
    target = getattr(importlib.import_module(entry.module), entry.attr)
    if isinstance(target, typer.Typer):
        return _group(typer.models.TyperInfo(target, name=name), settings)
    callback = adapt(name, target) if adapt is not None else target
    return _command(typer.models.CommandInfo(name=name, callback=callback), settings)


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
    lazy = group.commands  # a LazyGroup's own table comes first
    if not isinstance(lazy, LazyCommands):
        lazy = group.commands = LazyCommands({})
    for cmd_name, builder in builders.items():
        lazy.defer(cmd_name, builder)
    return group


def summary_of(command: Any) -> str:
    """The first paragraph of ``command``'s help, as a group's help listing shows it."""
    import inspect

    text = command.short_help or command.help or ""
    return str(inspect.cleandoc(text).split("\n\n")[0].strip())


def placeholder(name: str, entry: CommandRef) -> Any:
    """A command carrying only ``name`` and the summary: what a help listing reads."""
    return typer.core.TyperCommand(name=name, help=entry.summary)


_SUMMARIES_ONLY = "tidegate.summaries_only"


class LazyGroup(typer.core.TyperGroup):
    """A group whose sub-commands of :attr:`refs` are imported on first use; its ``--help``
    lists their names and summaries from the table alone. Commands registered on the Typer
    itself follow the table's."""

    refs: ClassVar[Mapping[str, CommandRef]] = {}
    adapt: ClassVar[tuple[Adapt, ...]] = ()  # at most one; a tuple so that it stays unbound

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        settings = BuildSettings(
            pretty_exceptions_short=True,  # Typer's default; only a root command reads it
            rich_markup_mode=self.rich_markup_mode,
            suggest_commands=self.suggest_commands,
        )
        lazy = LazyCommands(
            {
                name: functools.partial(build, name, entry, settings, *self.adapt)
                for name, entry in self.refs.items()
            }
        )
        lazy.update(self.commands)
        self.commands = lazy

    def list_commands(self, ctx: Any) -> list[str]:
        return list(self.commands)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        lazy = self.commands
        assert isinstance(lazy, LazyCommands)
        if ctx.meta.get(_SUMMARIES_ONLY) and cmd_name in self.refs:
            return lazy.loaded(cmd_name) or placeholder(cmd_name, self.refs[cmd_name])
        return lazy.get(cmd_name)

    @contextlib.contextmanager
    def summaries_only(self, ctx: Any) -> Iterator[None]:
        """While formatting the help: a command not yet built is a placeholder with its
        summary, so that listing the group imports none of its commands."""
        ctx.meta[_SUMMARIES_ONLY] = True
        try:
            yield
        finally:
            del ctx.meta[_SUMMARIES_ONLY]

    def format_help(self, ctx: Any, formatter: Any) -> None:
        with self.summaries_only(ctx):
            super().format_help(ctx, formatter)


def lazy_group(refs: Mapping[str, CommandRef], *, adapt: Adapt | None = None) -> type[LazyGroup]:
    """The :class:`LazyGroup` class of a Typer whose sub-commands are ``refs``
    (``typer.Typer(cls=lazy_group(refs), ...)``); ``adapt`` changes a command's callback
    before it is built."""
    hooks = () if adapt is None else (adapt,)
    return type("LazyGroup", (LazyGroup,), {"refs": dict(refs), "adapt": hooks})


class LazyCommands(MutableMapping[str, Any]):
    """A group's ``commands``: names known up front, in order; each command built on first
    read by its builder. Commands added later (``add_command``) are kept as given."""

    def __init__(self, builders: Mapping[str, Callable[[], Any]]) -> None:
        self._builders = dict(builders)
        self._built: dict[str, Any] = {}

    def loaded(self, name: str) -> Any | None:
        """The command ``name`` if it is already built (or was added), else None."""
        return self._built.get(name)

    def defer(self, name: str, builder: Callable[[], Any]) -> None:
        """Add the command ``name``, built by ``builder`` on first read."""
        self._builders[name] = builder

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
