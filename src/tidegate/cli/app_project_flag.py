"""argocd's ``--project`` on ``app resources|get-resource|patch-resource|delete-resource``: the
project the application belongs to. Argo CD's server uses it to find the app for RBAC; here
it is a guard — the app is read first and a different ``spec.project`` is refused (exit 1,
naming both) before the verb runs, so a script never acts on an app of another project.
:func:`with_project` adds the option to a verb's callback (``app_namespace.LazyCommand``);
``cli/app_group.py`` says which verbs."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import typer

from tidegate.cli import app_namespace

PARAM = "app_project"
OPTION: Any = typer.Option("", "--project", help="The project the application belongs to.")


def _check(kwargs: dict[str, Any], project: str) -> None:
    from tidegate.cli import app_access, app_common, appspec
    from tidegate.model import errors

    given = str(kwargs["name"])
    if kwargs.get(app_namespace.PARAM):  # -N, folded into NAME by the inner wrapper
        given = app_namespace.qualified(given, str(kwargs[app_namespace.PARAM]))
    ns, name = appspec.split_name(given, str(kwargs.get("namespace") or ""))

    async def go() -> None:
        async with app_access.connect(kwargs.get("kubeconfig"), kwargs.get("context"), ns) as apps:
            found = str(((await apps.get(name)).get("spec") or {}).get("project") or "default")
        if found != project:
            raise errors.ConfigError(
                f"application '{ns}/{name}' belongs to project '{found}', not '{project}'"
            )

    app_common.run(go())


def with_project(callback: Callable[..., Any]) -> Callable[..., Any]:
    def call(*args: Any, **kwargs: Any) -> Any:
        project = kwargs.pop(PARAM, "")
        if project:
            _check(kwargs, project)
        return callback(*args, **kwargs)

    def signature() -> inspect.Signature:
        own = inspect.signature(callback, eval_str=True)
        keyword = inspect.Parameter.KEYWORD_ONLY
        option = inspect.Parameter(PARAM, keyword, default=OPTION, annotation=str)
        params = [p.replace(kind=keyword) for p in own.parameters.values()]
        return own.replace(parameters=[*params, option])

    original = getattr(callback, "__wrapped__", callback)
    extra = {**getattr(callback, "__annotations__", {}), PARAM: str}
    return app_namespace.LazyCommand(call, original, signature, extra)
