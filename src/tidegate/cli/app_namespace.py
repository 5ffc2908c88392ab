"""argocd's ``-N/--app-namespace`` on the ``app`` verbs: the namespace of the Application
named, when it is not the control namespace (apps in any namespace).

Every ``app`` verb already takes ``NAMESPACE/NAME``; ``-N NS`` is the same thing said once:
:func:`install` adds the option to the verbs' callbacks (no verb spells it) and turns each
``NAME`` given into ``NS/NAME``. A name that already says another namespace is a usage error
(exit 2), as is ``-N`` without a name (``app create -f``: the file's ``metadata.namespace``
says it; ``app sync -l``: name the apps).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable
from typing import Any

import typer

PARAM = "app_namespace"
_NAME_PARAMS = ("name", "names")
_OPTION: Any = typer.Option(
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


def _qualified(value: Any, namespace: str) -> Any:
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


def with_app_namespace(callback: Callable[..., Any]) -> Callable[..., Any]:
    """``callback`` with a ``-N/--app-namespace`` option folded into its NAME argument."""
    # Evaluated annotations: Typer reads a given __signature__ as it is (Annotated[...] inside).
    signature = inspect.signature(callback, eval_str=True)
    target = next((p for p in _NAME_PARAMS if p in signature.parameters), None)
    if target is None or PARAM in signature.parameters:
        return callback

    @functools.wraps(callback)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        namespace = kwargs.pop(PARAM, "")
        if namespace:
            kwargs[target] = _qualified(kwargs.get(target), namespace)
        return callback(*args, **kwargs)

    option = inspect.Parameter(PARAM, inspect.Parameter.KEYWORD_ONLY, default=_OPTION,
                               annotation=str)  # fmt: skip
    params = list(signature.parameters.values())
    kinds = {p.kind for p in params}
    if inspect.Parameter.VAR_KEYWORD in kinds:
        return callback
    params = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in params]
    wrapper.__signature__ = signature.replace(parameters=[*params, option])  # type: ignore[attr-defined]
    wrapper.__annotations__ = {**getattr(callback, "__annotations__", {}), PARAM: str}
    return wrapper


def install(group: typer.Typer, commands: Iterable[str]) -> None:
    """Give the named verbs of ``group`` the ``-N/--app-namespace`` option."""
    wanted = set(commands)
    for info in group.registered_commands:
        name = info.name or (info.callback.__name__ if info.callback else "")
        if name in wanted and info.callback is not None:
            info.callback = with_app_namespace(info.callback)
