"""Applications in any namespace, on the server's side (argocd-server's
``--application-namespaces`` / ``application.namespaces`` of argocd-cmd-params-cm).

The server serves the Applications of its control namespace and of the namespaces matching its
application namespaces (globs, or ``/regex/``: the controller's flag, matched by the same
:func:`tidegate.sync.projects.namespace_listed`). A request names another namespace with
``appNamespace`` (query, or the body of a sync/rollback); a namespace the server does not serve
is refused (400 ``namespace '<ns>' is not permitted``), and an app outside the control
namespace must use a project whose ``sourceNamespaces`` lists its namespace (403 naming app,
namespace and project; :func:`tidegate.sync.projects.app_namespace_permitted`, the controller's
own check). Such an app's RBAC object is ``<project>/<namespace>/<name>``; in the control
namespace it stays ``<project>/<name>``, as Argo CD's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tidegate.api import appstore, context, errors, security
from tidegate.auth import access
from tidegate.model import errors as tg_errors
from tidegate.model import project as model_project
from tidegate.sync import projects as sync_projects

Obj = dict[str, Any]


def served(ctx: context.ServerContext, namespace: str) -> bool:
    """Whether the server serves Applications of ``namespace``."""
    return namespace == ctx.namespace or sync_projects.namespace_listed(
        ctx.application_namespaces, namespace
    )


def resolve(ctx: context.ServerContext, app_namespace: str | None) -> str:
    """The namespace a request means (``appNamespace``, default the control namespace); 400
    when the server does not serve it."""
    namespace = app_namespace or ctx.namespace
    if not served(ctx, namespace):
        raise errors.ApiError(
            400,
            f"namespace '{namespace[:80]}' is not permitted: this server manages applications"
            f" in {describe(ctx)}",
        )
    return namespace


def describe(ctx: context.ServerContext) -> str:
    """The namespaces served, for messages."""
    extra = ", ".join(ctx.application_namespaces)
    return f"namespace '{ctx.namespace}'" + (f" and {extra}" if extra else "")


def store(ctx: context.ServerContext, namespace: str) -> appstore.ObjectStore:
    return appstore.ObjectStore(ctx.client, namespace)


def namespace_of(app: Mapping[str, Any], control_namespace: str) -> str:
    return str((app.get("metadata") or {}).get("namespace") or control_namespace)


def rbac_object(app: Mapping[str, Any], control_namespace: str = "") -> str:
    """Argo CD's RBAC object for an app: ``<project>/<name>``, or ``<project>/<namespace>/
    <name>`` for an app outside ``control_namespace`` (given: the server's)."""
    spec = app.get("spec") or {}
    meta = app.get("metadata") or {}
    project, name = str(spec.get("project") or ""), str(meta.get("name") or "")
    namespace = str(meta.get("namespace") or "")
    if control_namespace and namespace and namespace != control_namespace:
        return f"{project}/{namespace}/{name}"
    return f"{project}/{name}"


def key(app: Mapping[str, Any], control_namespace: str) -> str:
    """How the server (its hub, the CLI's tables) names an app: ``<name>`` in the control
    namespace, ``<namespace>/<name>`` elsewhere."""
    meta = app.get("metadata") or {}
    name, namespace = str(meta.get("name") or ""), str(meta.get("namespace") or "")
    return f"{namespace}/{name}" if namespace and namespace != control_namespace else name


def project_refusal(
    project: Mapping[str, Any], app: Mapping[str, Any], control_namespace: str
) -> str | None:
    """Why the app's namespace may not use ``project`` (None: it may). Pure."""
    try:
        parsed = model_project.parse_project(project)
    except tg_errors.SpecError as exc:
        return f"project is invalid: {exc}"
    namespace = namespace_of(app, control_namespace)
    if sync_projects.app_namespace_permitted(
        parsed, namespace, control_namespace=control_namespace
    ):
        return None
    meta = app.get("metadata") or {}
    listed = ", ".join(parsed.spec.source_namespaces or []) or "none"
    return (
        f"application '{meta.get('name')}' in namespace '{namespace}' is not allowed to use"
        f" project '{parsed.name}' (its sourceNamespaces: {listed})"
    )


async def project_of(ctx: context.ServerContext, app: Mapping[str, Any]) -> Obj:
    """The app's AppProject; 400 when it does not exist."""
    name = str((app.get("spec") or {}).get("project") or "")
    projects = appstore.ObjectStore(ctx.client, ctx.namespace, appstore.PROJECTS)
    try:
        return await projects.get(name)
    except errors.ApiError as exc:
        if exc.status != 404:
            raise
        raise errors.ApiError(
            400, f"application references project {name} which does not exist"
        ) from None


async def check_project(ctx: context.ServerContext, app: Mapping[str, Any]) -> None:
    """403 when the app lives outside the control namespace and its project does not list
    that namespace in ``sourceNamespaces`` (a missing project: 400)."""
    if namespace_of(app, ctx.namespace) == ctx.namespace:
        return
    refusal = project_refusal(await project_of(ctx, app), app, ctx.namespace)
    if refusal is not None:
        raise errors.ApiError(403, refusal)


async def get_app(ctx: context.ServerContext, name: str, app_namespace: str | None) -> Obj:
    """The app ``name`` of the namespace a request means, its namespace checked (served, and
    allowed by its project)."""
    namespace = resolve(ctx, app_namespace)
    app = await store(ctx, namespace).get(name)
    await check_project(ctx, app)
    return app


async def requested(ctx: context.ServerContext, name: str, app_namespace: str | None) -> Obj:
    """The app a per-app call names (``name``, its ``appNamespace``): the name checked, then
    :func:`get_app` (400 for a namespace not served, 403 when the project does not allow it,
    404 when missing). The one way every ``/api/v1/applications/{name}/...`` call finds its app;
    authorise it on :func:`rbac_object` ``(app, ctx.namespace)``."""
    security.check_name(name)
    return await get_app(ctx, name, app_namespace or None)


async def authorized(
    ctx: context.ServerContext,
    subject: access.Subject,
    name: str,
    app_namespace: str | None,
    action: str = "get",
    resource: str = "applications",
) -> Obj:
    """:func:`requested`, then ``resource, action`` authorised on the app's RBAC object
    (``<project>/<name>``, or ``<project>/<namespace>/<name>`` outside the control namespace)."""
    app = await requested(ctx, name, app_namespace)
    security.authorize(subject, resource, action, rbac_object(app, ctx.namespace))
    return app
