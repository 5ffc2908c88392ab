"""argocd's ``-N/--app-namespace`` on the ``app`` verbs: the namespace of the Application
named, when it is not the control namespace (apps in any namespace).

Every ``app`` verb already takes ``NAMESPACE/NAME``; ``-N NS`` is the same thing said once:
:func:`install` adds the option to the verbs' callbacks (no verb spells it) and turns each
``NAME`` given into ``NS/NAME``. A name that already says another namespace is a usage error
(exit 2), as is ``-N`` without a name (``app create -f``: the file's ``metadata.namespace``
says it; ``app sync -l``: name the apps).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from typing import Any

import typer

PARAM = "app_namespace"
_NAME_PARAMS = ("name", "names")
OPTION: Any = typer.Option(
    "", "--app-namespace", "-N", help="Namespace of the application (argocd's -N; NS/NAME too)."
)


def qualify(name: str, namespace: str) -> str:
    """``NAME`` as ``NAMESPACE/NAME``; ``FlagError`` when it names another namespace."""
    from tidegate.cli.appspec import FlagError

    if not namespace:
        return name
    given, sep, bare = name.rpartition("/")
    if sep and given != namespace:
        raise FlagError("--app-namespace", f"'{namespace}' but the application is named '{name}'")
    return f"{namespace}/{bare if sep else name}"


def qualified(value: Any, namespace: str) -> Any:
    from tidegate.cli import output
    from tidegate.cli.appspec import FlagError

    try:
        if value is None or value == []:
            raise FlagError(
                "--app-namespace", "applies to the application NAME given: give one (or set"
                " metadata.namespace in the file)"
            )  # fmt: skip
        if isinstance(value, list):
            return [qualify(v, namespace) for v in value]
        return qualify(str(value), namespace)
    except FlagError as exc:
        raise output.fail(str(exc), 2) from None


class LazyCommand:
    """A command callback whose signature is computed when Typer first asks for it (Typer
    builds every command at start-up anyway; computing it at import would do it twice)."""

    def __init__(
        self,
        call: Callable[..., Any],
        original: Callable[..., Any],
        signature: Callable[[], inspect.Signature],
        extra: dict[str, Any],
    ) -> None:
        self._call, self._make = call, signature
        self._signature: inspect.Signature | None = None
        self.__wrapped__ = original  # typing.get_type_hints finds the annotations' globals here
        self.__name__ = getattr(original, "__name__", "command")
        self.__qualname__ = getattr(original, "__qualname__", self.__name__)
        self.__module__ = getattr(original, "__module__", __name__)
        self.__doc__ = original.__doc__
        self.__annotations__ = {**getattr(original, "__annotations__", {}), **extra}

    @property
    def __signature__(self) -> inspect.Signature:
        if self._signature is None:
            self._signature = self._make()
        return self._signature

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._call(*args, **kwargs)


def with_app_namespace(callback: Callable[..., Any]) -> Callable[..., Any]:
    """``callback`` with a ``-N/--app-namespace`` option folded into its NAME argument (the
    first of ``name``/``names`` among its parameters)."""
    code = getattr(callback, "__code__", None)
    names = code.co_varnames[: code.co_argcount + code.co_kwonlyargcount] if code else ()
    target = next((p for p in _NAME_PARAMS if p in names), None)
    if target is None or PARAM in names:
        return callback

    def call(*args: Any, **kwargs: Any) -> Any:
        namespace = kwargs.pop(PARAM, "")
        if namespace:
            kwargs[target] = qualified(kwargs.get(target), namespace)
        return callback(*args, **kwargs)

    def signature() -> inspect.Signature:
        # Evaluated annotations: Typer reads a given __signature__ as it is (Annotated[...]).
        own = inspect.signature(callback, eval_str=True)
        keyword = inspect.Parameter.KEYWORD_ONLY
        option = inspect.Parameter(PARAM, keyword, default=OPTION, annotation=str)
        return own.replace(parameters=[*(p.replace(kind=keyword) for p in own.parameters.values()),
                                       option])  # fmt: skip

    return LazyCommand(call, callback, signature, {PARAM: str})


def install(group: typer.Typer, commands: Iterable[str]) -> None:
    """Give the named verbs of ``group`` the ``-N/--app-namespace`` option."""
    wanted = set(commands)
    for info in group.registered_commands:
        name = info.name or (info.callback.__name__ if info.callback else "")
        if name in wanted and info.callback is not None:
            info.callback = with_app_namespace(info.callback)
