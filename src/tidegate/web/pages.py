"""The web UI's pages at Argo CD's routes, rendered from what the API's own functions return.

Every page reads the session the API reads (the ``argocd.token`` cookie, verified by
:func:`tidegate.api.security.subject_of`) and the data through the functions the API routers
call (the hub's sorted apps filtered by :func:`tidegate.api.applications.app_query` and the
authorisation gate, the object store's get), so a page shows nothing the API would not. Without
a valid session a page redirects to ``/login`` with the reason and the page to come back to.
"""

from __future__ import annotations

import collections
import dataclasses
import gzip
import urllib.parse
from pathlib import Path
from typing import Any

import fastapi
import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.staticfiles import StaticFiles

import tidegate
from tidegate.api import app_namespaces, app_tree, applications, context, errors, listing, security
from tidegate.auth import access
from tidegate.web import views

HERE = Path(__file__).parent
router = fastapi.APIRouter(include_in_schema=False)
REASONS = {
    "required": "Log in to see this page.",
    "expired": "Your session has expired or is no longer valid. Log in again.",
    "logout": "You have logged out.",
}
# Argo CD's UI keys in the application list's URL -> the API's list filters.
VIEWS = ("tiles", "list")
Obj = dict[str, Any]
PAGE_SIZE = 300  # apps rendered at first; "show more" raises ?limit= (first paint stays fast)
FIRST_PAINT = 60  # of those, in the page itself (more than a screen); the rest fetched after
LIST_KEYS = ("proj", "cluster", "namespace", "sync", "health", "labels", "search")

_DICT_ATTRIBUTES = frozenset(dir(dict))


class _Templates(jinja2.Environment):
    """Jinja's ``x.name`` tries ``getattr`` first and the item only after an AttributeError.
    The views are plain dicts, whose attributes are known: ``x.name`` on one is looked up as
    the item at once (same result, no exception). On a page of 300 tree nodes the exceptions
    were a third of the render (docs/benchmarks.md)."""

    def getattr(self, obj: Any, attribute: str) -> Any:
        if type(obj) is dict and attribute not in _DICT_ATTRIBUTES:
            try:
                return obj[attribute]
            except KeyError:
                return self.undefined(obj=obj, name=attribute)
        return super().getattr(obj, attribute)


templates = _Templates(
    loader=jinja2.FileSystemLoader(HERE / "templates"),
    autoescape=True,  # every value is HTML-escaped unless a template says otherwise (none do)
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
templates.globals["version"] = tidegate.__version__
templates.filters["when"] = views.when


def static_files() -> StaticFiles:
    return StaticFiles(directory=HERE / "static")


@dataclasses.dataclass(frozen=True)
class NavItem:
    """One entry of the left rail. ``needs`` is the RBAC (resource, action) without which the
    entry is shown disabled with the reason; ``coming`` marks a capability not landed yet."""

    page: str
    href: str
    icon: str
    label: str
    needs: tuple[str, str] | None = None
    coming: str = ""


# The rail, in sections. A new page (Rollouts, Promotions) is one line here plus its route.
NAV: tuple[tuple[str, tuple[NavItem, ...]], ...] = (
    (
        "Deliver",
        (
            NavItem("applications", "/applications", "▦", "Applications"),
            NavItem("applicationsets", "/applicationsets", "▣", "ApplicationSets"),
            NavItem("rollouts", "/rollouts", "⇶", "Rollouts"),
            NavItem("promotions", "/promotions", "⤴", "Promotions"),
        ),
    ),
    (
        "Settings",
        (
            NavItem("clusters", "/settings/clusters", "◎", "Clusters"),
            NavItem("repos", "/settings/repos", "⌥", "Repositories"),
            NavItem("projects", "/settings/projects", "▤", "Projects"),
        ),
    ),
    ("Security", (NavItem("audit", "/audit", "☰", "Audit", needs=("audit", "get")),)),
)


def navigation(subject: access.Subject | None) -> list[tuple[str, list[Obj]]]:
    """The rail for ``subject``: each entry with ``disabled`` set to why it cannot be used."""
    out = []
    for section, items in NAV:
        entries = []
        for item in items:
            why = f"Coming with {item.coming}" if item.coming else ""
            if not why and item.needs and not access.allowed(subject, *item.needs, "*"):
                why = f"Your role may not do this ({item.needs[0]}, {item.needs[1]})"
            entries.append({**dataclasses.asdict(item), "disabled": why})
        out.append((section, entries))
    return out


def can(subject: access.Subject, app: Obj, control_namespace: str = "") -> dict[str, str]:
    """For each action of the application page, why ``subject`` may not do it ("" when it
    may): the check ``GET /api/v1/account/can-i/applications/ACTION/PROJECT/NAME`` answers
    (``PROJECT/NAMESPACE/NAME`` for an app outside ``control_namespace``)."""
    obj = applications.rbac_object(app, control_namespace)
    project = obj.partition("/")[0]
    return {
        action: ""
        if access.allowed(subject, "applications", action, obj)
        else f"Your role may not {action} applications of project {project} "
        f"(applications, {action}, {obj})"
        for action in ("sync", "update", "delete")
    }


# (hub, its resourceVersion, app count, policy, who) -> (policy, visible apps, filter options):
# the authorisation gate and the filter options over 10,000 apps take ~100 ms, and a user
# changing filters asks again and again while the fleet has not changed.
_VISIBLE: collections.OrderedDict[tuple[Any, ...], tuple[Any, list[Obj], Obj]] = (
    collections.OrderedDict()
)
VISIBLE_CACHE = 16


def visible_apps(ctx: context.ServerContext, subject: access.Subject) -> tuple[list[Obj], Obj]:
    """The apps ``subject`` may see, in name order, and the filter options they offer; cached
    until the hub changes (its resourceVersion or app count) or the policy is replaced. Only the
    current hub version is kept (one entry per subject), so no replaced app is held."""
    policy = subject.policy.current if subject.policy is not None else None
    hub = ctx.hub
    key = (
        id(hub),
        hub.resource_version,
        len(hub.apps),
        id(policy),
        subject.rbac_subject,
        subject.groups,
    )
    hit = _VISIBLE.get(key)
    if hit is None or hit[0] is not policy:  # the policy is held, so its id is not reused
        # Entries of an older hub version would keep the apps it replaced alive: drop them.
        for old in [k for k in _VISIBLE if k[:3] != key[:3]]:
            del _VISIBLE[old]
        visible = [a for a in hub.sorted_apps() if applications.allowed(subject, a, hub.namespace)]
        hit = (policy, visible, views.filter_options(visible))
        _VISIBLE[key] = hit
        while len(_VISIBLE) > VISIBLE_CACHE:
            _VISIBLE.popitem(last=False)
    else:
        _VISIBLE.move_to_end(key)
    return hit[1], hit[2]


def render(
    name: str, status: int = 200, *, subject: access.Subject | None = None, **values: Any
) -> HTMLResponse:
    headers = {
        "Cache-Control": "no-store",
        # Scripts and styles only from this server: an injected tag would not run.
        "Content-Security-Policy": (
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
        ),
        "X-Content-Type-Options": "nosniff",
    }
    values.setdefault("nav", navigation(subject))
    return HTMLResponse(templates.get_template(name).render(**values), status, headers=headers)


GZIP_FROM = 16 * 1024  # bytes of HTML; a 300-resource tree is ~190 KB, ~10 KB gzipped


def compressed(request: Request, response: HTMLResponse) -> HTMLResponse:
    """``response`` gzipped when the browser accepts gzip and the body is big: a big app's
    page is hundreds of nearly identical nodes, and a loaded browser receives its bytes slower
    than the server sends them. The page carries no secret for a compression oracle (the
    session is an HttpOnly cookie; Secret values never reach a page)."""
    accepts = "gzip" in request.headers.get("accept-encoding", "").lower()
    if not accepts or len(response.body) < GZIP_FROM:
        return response
    response.body = gzip.compress(response.body, compresslevel=5)
    response.headers["Content-Encoding"] = "gzip"
    response.headers["Content-Length"] = str(len(response.body))
    response.headers["Vary"] = "Accept-Encoding"
    return response


def safe_next(value: str) -> str:
    """A local path to return to after login (never another site)."""
    if value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/applications"


def to_login(request: Request, reason: str) -> RedirectResponse:
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    query = urllib.parse.urlencode({"reason": reason, "next": here})
    return RedirectResponse(f"/login?{query}", status_code=303)


async def subject_or_redirect(request: Request) -> access.Subject | RedirectResponse:
    if security.token_of(request) is None:
        return to_login(request, "required")
    try:
        return await security.subject_of(request)
    except errors.ApiError as exc:
        if exc.status == 401:
            return to_login(request, "expired")
        raise


@router.get("/")
async def root() -> Response:
    return RedirectResponse("/applications", status_code=303)


@router.get("/login")
async def login(request: Request, reason: str = "", next: str = "") -> Response:
    return render(
        "login.html",
        message=REASONS.get(reason, ""),
        next=safe_next(next),
        page="login",
    )


def _values(request: Request, key: str) -> list[str]:
    return [
        v.strip() for raw in request.query_params.getlist(key) for v in raw.split(",") if v.strip()
    ]


@router.get("/applications")
async def applications_page(request: Request) -> Response:
    subject = await subject_or_redirect(request)
    if isinstance(subject, Response):
        return subject
    ctx = context.of(request)
    await applications.ready_hub(ctx)
    chosen = {key: _values(request, key) for key in LIST_KEYS}
    search = " ".join(chosen["search"])
    error = ""
    try:
        query = applications.app_query(
            request,
            projects=chosen["proj"],
            selector=",".join(chosen["labels"]),
            sync=chosen["sync"],
            health=chosen["health"],
            cluster=chosen["cluster"],
            namespace=chosen["namespace"],
            search=search,
        )
    except errors.ApiError as exc:
        error, query = exc.message, listing.Query()
    visible, options = visible_apps(ctx, subject)
    shown = [a for a in visible if query.matches(a)]
    view = "list" if request.query_params.get("view") == "list" else "tiles"
    raw_limit = request.query_params.get("limit", "")
    limit = int(raw_limit) if raw_limit.isdigit() and int(raw_limit) > 0 else PAGE_SIZE
    stream_query = [
        (k, v)
        for k, v in (
            *[("projects", p) for p in chosen["proj"]],
            *[("selector", ",".join(chosen["labels"]))] * bool(chosen["labels"]),
            *[(k, v) for k in ("sync", "health", "cluster", "namespace") for v in chosen[k]],
            *[("search", search)] * bool(search),
        )
    ]
    kept = [
        (k, v)
        for k, v in request.query_params.multi_items()
        if k not in ("view", "limit", "offset", "fragment")
    ]
    part = shown[:limit]
    if request.query_params.get("fragment") == "rows":  # the rest of the part, after paint
        raw_offset = request.query_params.get("offset", "")
        offset = int(raw_offset) if raw_offset.isdigit() else 0
        rows = render(
            "app_rows.html",
            subject=subject,
            view=view,
            apps=[views.summary(a) for a in part[offset:]],
        )
        return compressed(request, rows)
    rest_link = (
        "/applications?"
        + urllib.parse.urlencode(
            [*kept, ("view", view), ("limit", limit), ("offset", FIRST_PAINT), ("fragment", "rows")]
        )
        if len(part) > FIRST_PAINT
        else ""
    )
    view_links = {
        v: "/applications?" + urllib.parse.urlencode([*kept, ("view", v)])
        for v in ("tiles", "list")
    }
    page = render(
        "applications.html",
        subject=subject,
        view_links=view_links,
        blank=views.summary({}),
        page="applications",
        apps=[views.summary(a) for a in part[:FIRST_PAINT]],
        part_size=len(part),
        last_shown=str(part[-1]["metadata"]["name"]) if part else "",
        rest_link=rest_link,
        more_link="/applications?"
        + urllib.parse.urlencode([*kept, ("view", view), ("limit", limit + PAGE_SIZE)])
        if len(shown) > limit
        else "",
        summary_url="/api/v1/applications-summary?" + urllib.parse.urlencode(stream_query),
        options=options,
        chosen=chosen,
        search=search,
        view=view,
        favourites_only=request.query_params.get("showFavorites") == "true",
        counts=listing.summarize(shown),
        sync_statuses=views.SYNC_STATUSES,
        health_statuses=views.HEALTH_STATUSES,
        total=len(visible),
        error=error,
        stream_url="/api/v1/stream/applications?" + urllib.parse.urlencode(stream_query),
        resource_version=ctx.hub.resource_version,
    )
    return compressed(request, page)


@router.get("/applications/{namespace}/{name}")
async def application_page(request: Request, namespace: str, name: str) -> Response:
    subject = await subject_or_redirect(request)
    if isinstance(subject, Response):
        return subject
    ctx = context.of(request)
    try:
        security.check_name(name)
        app_namespaces.resolve(ctx, namespace)  # 400: a namespace the server does not serve
        # The hub holds the app as the stream that asked for this re-render delivered it
        # (keyed NAMESPACE/NAME outside the control namespace); the same checks as the API's.
        key = name if namespace == ctx.namespace else f"{namespace}/{name}"
        app = ctx.hub.apps.get(key) if ctx.hub.ready.is_set() else None
        if app is None:
            app = await app_namespaces.requested(ctx, name, namespace)
        else:
            await app_namespaces.check_project(ctx, app)
        security.authorize(
            subject, "applications", "get", applications.rbac_object(app, ctx.namespace)
        )
    except errors.ApiError as exc:
        return render(
            "error.html",
            status=exc.status,
            subject=subject,
            page="applications",
            message=exc.message,
        )
    fragment = request.query_params.get("fragment", "")
    live, tree_error = await app_tree.live_tree(ctx, app)
    if fragment == "node":  # one node's summary, when its panel opens
        found = node_summary(app, live["nodes"], request.query_params.get("node", ""))
        return render("app_node.html", subject=subject, res=found)
    page = render(
        "app_body.html" if fragment == "1" else "application.html",
        subject=subject,
        page="applications",
        can=can(subject, app, ctx.namespace),
        **app_values(app, live["nodes"], tree_error, view=request.query_params.get("view", "")),
    )
    return compressed(request, page)


def node_summary(app: Obj, nodes: list[Obj], node_id: str) -> Obj | None:
    """The node ``node_id`` (``group/kind/namespace/name``) of the app's tree, managed or a
    live child, as its side panel shows it; None when the tree has no such node."""
    rows = views.flatten(views.tree(views.resources(app), nodes))
    return next((r for r in rows if r["id"] == node_id), None)


def app_values(app: Obj, nodes: list[Obj], tree_error: str, *, view: str) -> Obj:
    """What the application page's body shows of ``app`` and its tree's live ``nodes``, for the
    ``view`` it opens on. The body carries one of its two big views, the list for
    ``view=list`` and the tree otherwise (``panel``); the other is fetched when it is opened."""
    last = views.last_operation(app)
    return {
        "panel": "list" if view == "list" else "tree",
        "params": views.parameters(app),
        "app": views.summary(app),
        "resources": views.tree(views.resources(app), nodes),
        "children": views.children_signature(nodes),
        "tree_error": tree_error,
        "operation": last,
        "in_progress": bool(app.get("operation"))
        or (last or {}).get("phase") in ("Running", "Terminating"),
        "history": views.history(app),
        "conditions": views.conditions(app),
        "annotations": views.annotation_map(app),
    }


@router.get("/applications/{name}")
async def application_short(request: Request, name: str) -> Response:
    """Argo CD's older route without the namespace: the control namespace's app."""
    security.check_name(name)
    ns = context.of(request).namespace
    return RedirectResponse(f"/applications/{ns}/{name}", status_code=303)
