"""Compare one Application with its cluster: resolve, render, diff and assess health.

The result is data (:class:`Comparison`) the controller turns into ``status``; the same function
serves ``tidegate app diff`` and ``tidegate app manifests``. An exception here means the app
cannot be compared at all (ComparisonError): nothing is synced or pruned from a failed compare.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from tidegate import render, sources
from tidegate.controller import charts as app_charts
from tidegate.controller import jqdiff, recall, sourcing
from tidegate.controller import memo as resource_memo
from tidegate.diff import compare as diff_compare
from tidegate.diff import hashing
from tidegate.diff import ignore as diff_ignore
from tidegate.diff import normalize as diff_normalize
from tidegate.health import registry as health_registry
from tidegate.health import status as health_status
from tidegate.kube import client as kube_client
from tidegate.model import application as model_app
from tidegate.model import constants, errors
from tidegate.model.enums import HealthStatusCode, SyncStatusCode
from tidegate.model.keys import ResourceKey
from tidegate.render import paths as render_paths
from tidegate.sandbox import jqpool
from tidegate.sync import options as sync_options
from tidegate.sync import prepare, resource_meta
from tidegate.sync import validate as sync_validate

Obj = dict[str, Any]
# One resource to diff: (key, desired, live, prediction); prediction None: none or not live.
DiffItem = tuple[ResourceKey, Obj | None, Obj | None, Obj | None]


@dataclasses.dataclass(frozen=True)
class ResourceState:
    """One resource of the app: what Git wants, what runs, how they differ, its health."""

    key: ResourceKey
    version: str
    target: Obj | None
    live: Obj | None
    status: SyncStatusCode
    health: health_status.HealthStatus | None
    hook: bool
    requires_pruning: bool
    diff: diff_compare.DiffResult | None
    message: str = ""


@dataclasses.dataclass(frozen=True)
class Comparison:
    revisions: tuple[str, ...]
    source_types: tuple[str, ...]
    targets: list[Obj]
    live: dict[ResourceKey, Obj]
    resources: list[ResourceState]
    sync_status: SyncStatusCode
    health: health_status.HealthStatus
    # Objects the server-side dry run rejects (unknown kind, schema, admission, namespace):
    # a sync would fail its validation. Shown as a ComparisonError condition.
    problems: tuple[tuple[ResourceKey, str], ...] = ()
    # Sources whose repository did not answer: (repoURL, last known commit), compared as the
    # last successful fetch saw them (render_app's ``allow_stale``).
    stale: tuple[tuple[str, str], ...] = ()
    # Facts (recall.fact) of the objects whose dry-run prediction equals live: what the
    # controller records so that a restart need not dry-run them again (controller/recall.py).
    facts: tuple[str, ...] = ()
    # (repository, ref, commit) of the remote repositories the renders read (kustomize remote
    # bases, Helm value-file URLs): the render is current only while each ref names its commit.
    remote_pins: tuple[tuple[str, str, str], ...] = ()

    @property
    def revision(self) -> str:
        return self.revisions[0] if self.revisions else ""

    def out_of_sync(self) -> frozenset[ResourceKey]:
        return frozenset(r.key for r in self.resources if r.status is SyncStatusCode.OUT_OF_SYNC)


class DryRunCache:
    """Predicted objects from server-side dry-runs, keyed by (desired hash, live version).

    A pass in which neither Git nor the cluster changed finds every entry here and makes no
    API call. ``misses`` counts the lookups that found nothing; ``recalled`` those of them a
    persisted record answered (no dry run sent, controller/recall.py); ``seeded`` the entries
    put from a sync's own applies (:meth:`CompareDeps.seed_prediction`).
    """

    def __init__(self, max_entries: int = 50_000) -> None:
        self._entries: OrderedDict[str, Obj] = OrderedDict()
        self._max = max_entries
        self.hits = 0
        self.misses = 0
        self.recalled = 0
        self.seeded = 0

    def get(self, key: str) -> Obj | None:
        found = self._entries.get(key)
        if found is not None:
            self._entries.move_to_end(key)
            self.hits += 1
        else:
            self.misses += 1
        return found

    def put(self, key: str, value: Obj) -> None:
        self._entries[key] = value
        self._entries.move_to_end(key)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)


@dataclasses.dataclass(frozen=True)
class _Creds:
    secrets: tuple[Mapping[str, Any], ...]  # held: their ids are the cache key
    answer: sources.RepoCredentials | None


@dataclasses.dataclass
class CompareDeps:
    """What a comparison needs besides the app; the controller keeps one per process."""

    repos: sources.RepoCache
    render_cache: render.RenderCache
    repo_secrets: Callable[[], Sequence[Mapping[str, Any]]]
    dry_runs: DryRunCache = dataclasses.field(default_factory=DryRunCache)
    health_checks: health_registry.HealthChecks = dataclasses.field(
        default_factory=health_registry.HealthChecks
    )
    render_limits: render.RenderLimits = dataclasses.field(default_factory=render.RenderLimits)
    charts: sources.ChartCache = dataclasses.field(default_factory=sources.ChartCache.default)
    tracking: str = constants.TRACKING_ANNOTATION
    installation_id: str = ""  # argocd-cm installationID: stamped on targets, "" = none
    # Apps outside it are tracked as ``<namespace>_<name>`` (Application.instance_name).
    control_namespace: str = constants.DEFAULT_CONTROL_NAMESPACE
    server_side_diff: bool = True
    dry_run_concurrency: int = 8
    # A project's ``sourceRepos``: the repositories remote references inside a source may
    # name (kustomize remote bases, Helm value-file URLs). Unknown project: none.
    source_repos: Callable[[str], tuple[str, ...]] = lambda _project: ()
    # AppProject signatureKeys (controller/signatures.py): called with every source's
    # (repoURL, targetRevision, commit) before anything renders; raises to refuse them.
    verify_revisions: (
        Callable[[model_app.Application, Sequence[tuple[str, str, str]]], Awaitable[None]] | None
    ) = None
    # ignoreDifferences jq expressions run here, bounded (argocd-cm ignore.normalizer.jq.timeout)
    jq: jqpool.JqPool = dataclasses.field(default_factory=jqpool.JqPool)
    # Config management plugins registered with the controller (render.PluginRegistry.current).
    plugins: Callable[[], tuple[render.PluginDefinition, ...]] = lambda: ()
    # Hash of a rendered object by id(): rendered objects come from the render cache and are
    # shared and read-only, so their hash never changes while they live.
    _hashes: dict[int, tuple[Obj, str]] = dataclasses.field(default_factory=dict)
    # Signs and recognises the records of no-op predictions kept in each app's status
    # (controller/recall.py); None: nothing is recorded or recalled.
    ledger: recall.Ledger | None = None
    # Whether a source path of a checked-out commit holds a Helm chart (:meth:`is_chart`).
    _charts: dict[tuple[Path, str], bool] = dataclasses.field(default_factory=dict)
    # credentials_for's answers by (URL, project, ids of the Secrets asked): :meth:`credentials`
    _creds: dict[tuple[str, str | None, tuple[int, ...]], _Creds] = dataclasses.field(
        default_factory=dict
    )

    def credentials(
        self, repo_url: str, secrets: Sequence[Mapping[str, Any]], *, project: str | None = None
    ) -> sources.RepoCredentials | None:
        """``sources.credentials_for(repo_url, secrets, project=project)``, remembered while
        the same Secret objects are asked (a watch event stores a new dict for a changed
        Secret, never edits one in place); the Secrets are held so their ids stay theirs."""
        key = (repo_url, project, tuple(id(s) for s in secrets))
        found = self._creds.get(key)
        if found is None:
            if len(self._creds) > 10_000:
                self._creds.clear()
            answer = sources.credentials_for(repo_url, list(secrets), project=project)
            found = self._creds[key] = _Creds(tuple(secrets), answer)
        return found.answer

    def seed_prediction(self, sent: Mapping[str, Any], answer: Mapping[str, Any]) -> None:
        """A sync's server-side apply of ``sent`` answered ``answer``: applying ``sent`` again
        to that live object is a no-op whose prediction is ``answer`` itself, so the refresh
        after the sync needs no dry run for it (cold sync: issue 18)."""
        key = hashing.dry_run_cache_key(hashing.manifest_hash(sent), live_version(answer))
        self.dry_runs.put(key, dict(answer))
        self.dry_runs.seeded += 1

    def is_chart(self, root: Path, path: str | None) -> bool:
        """:func:`_is_chart`, remembered: ``root`` is the read-only tree of one commit
        (``RepoCache.checkout``), so the answer for a path in it never changes."""
        key = (root, path or "")
        found = self._charts.get(key)
        if found is None:
            if len(self._charts) > 100_000:
                self._charts.clear()
            found = self._charts[key] = _is_chart(root, path)
        return found

    def manifest_hash(self, obj: Obj) -> str:
        cached = self._hashes.get(id(obj))
        if cached is not None and cached[0] is obj:
            return cached[1]
        value = hashing.manifest_hash(obj)
        if len(self._hashes) > 200_000:
            self._hashes.clear()
        self._hashes[id(obj)] = (obj, value)
        return value


@dataclasses.dataclass(frozen=True)
class Rendered:
    revisions: tuple[str, ...]
    source_types: tuple[str, ...]
    objects: list[Obj]
    stale: tuple[tuple[str, str], ...] = ()  # (repoURL, last known commit) of stale sources
    remote_pins: tuple[tuple[str, str, str], ...] = ()  # RenderResult.remote_pins, all sources


async def render_app(
    app: model_app.Application,
    *,
    deps: CompareDeps,
    revision_override: str | None = None,
    max_age: float | None = None,
    kube_version: str | None = None,
    api_versions: tuple[str, ...] = (),
    revisions_override: Sequence[str] = (),
    allow_stale: bool = False,
    fresh: bool = False,
) -> Rendered:
    """Resolve each source's revision and render it (cached by commit and parameters).

    ``allow_stale`` (a refresh): a repository that cannot be reached resolves to the commit its
    last successful fetch saw (``RepoCache.resolve_or_last``), listed in ``Rendered.stale``; a
    stale render with no objects is an error, so nothing is ever pruned for a failed fetch.
    ``fresh`` (a hard refresh): rendered again, whatever the render cache holds.

    Multi-source apps: every source is resolved first, so that Helm value files written
    ``$<ref>/path`` can name the tree of the source with that ``ref``, wherever it is listed.
    """
    revisions: list[str] = []
    types: list[str] = []
    objects: list[Obj] = []
    secrets = deps.repo_secrets()
    namespace = app.spec.destination.namespace or ""
    all_sources = app.spec.all_sources()
    commits: list[tuple[str, Any]] = []
    fetched: dict[int, Any] = {}  # index -> charts.FetchedChart (Helm repository / OCI)
    asked: list[tuple[str, str, str]] = []
    stale: list[tuple[str, str]] = []
    pins: list[tuple[str, str, str]] = []
    unreachable: errors.SourceError | None = None
    for index, src in enumerate(all_sources):
        wanted = src.revision
        if index < len(revisions_override) and revisions_override[index]:
            wanted = revisions_override[index]  # a multi-source operation pins every source
        elif revision_override and index == 0:
            wanted = revision_override
        if app_charts.is_chart_source(src):
            fetched[index] = await app_charts.fetch(
                src,
                cache=deps.charts,
                secrets=secrets,
                revision=wanted,
                max_age=max_age,
                label=f"Application {app.namespace}/{app.name}",
            )
            revisions.append(fetched[index].revision)
            commits.append((app_charts.cache_commit(fetched[index]), None))
            continue
        creds = deps.credentials(src.repo_url, secrets)
        if allow_stale:
            found = await deps.repos.resolve_or_last(
                src.repo_url, wanted, creds=creds, max_age=max_age
            )
            commit = found.commit
            if found.stale:
                stale.append((src.repo_url, commit))
                unreachable = found.error
        else:
            commit = await deps.repos.resolve(src.repo_url, wanted, creds=creds, max_age=max_age)
        revisions.append(commit)
        commits.append((commit, creds))
        asked.append((src.repo_url, wanted, commit))
    if deps.verify_revisions is not None:  # signatureKeys: before anything renders
        await deps.verify_revisions(app, asked)
    project = app.spec.project_name
    remotes = sources.RemoteRepos(
        deps.repos,
        credentials=lambda url: deps.credentials(url, secrets, project=project),
        max_age=max_age,
    )
    ref_roots: list[tuple[str, Path]] = []
    for index, (src, (commit, creds)) in enumerate(zip(all_sources, commits, strict=True)):
        if src.ref and index not in fetched:
            root = await deps.repos.checkout(src.repo_url, commit, creds=creds)
            ref_roots.append((src.ref, root))
    for index, (src, (commit, creds)) in enumerate(zip(all_sources, commits, strict=True)):
        if src.ref and not src.path and not src.chart:
            types.append("")
            continue  # a values-only source referenced by $ref
        chart_type: render.SourceType | None = None
        if index in fetched:  # a Helm repository chart or an OCI artifact, unpacked
            root = fetched[index].root
            chart_path, chart_type = app_charts.render_location(src, fetched[index])
            src = src.model_copy(update={"path": chart_path})
        else:
            root = await deps.repos.checkout(src.repo_url, commit, creds=creds)
        # --- config management plugins: the candidates for this source ---
        plugins = sourcing.candidate_plugins(src, deps.plugins())
        # --- end plugins ---
        # Only Helm and plugins use the cluster's capabilities; they stay out of the other
        # sources' cache keys, so a CRD added to the cluster does not invalidate every rendered
        # directory.
        helm = (
            src.helm is not None
            or bool(src.chart)
            or (src.kustomize is None and src.directory is None and deps.is_chart(root, src.path))
        )
        capabilities = helm or bool(plugins) or src.plugin is not None
        request = sourcing.render_request(
            src,
            root=root,
            commit=commit,
            app_name=app.instance_name(deps.control_namespace),
            namespace=namespace,
            tracking=deps.tracking,
            installation_id=deps.installation_id,
            kube_version=kube_version if capabilities else None,
            api_versions=api_versions if capabilities else (),
            plugins=plugins,
            project=project,
        )
        if chart_type is not None:
            request = dataclasses.replace(request, source_type=chart_type)
        if helm and ref_roots:
            request = dataclasses.replace(request, ref_roots=tuple(ref_roots))
        request = dataclasses.replace(request, source_repos=deps.source_repos(project))
        result = await render.render(
            request,
            cache=deps.render_cache,
            limits=deps.render_limits,
            repos=remotes,
            fresh=fresh,
        )
        types.append(str(result.source_type))
        objects.extend(result.objects)
        pins.extend(result.remote_pins)
    if stale and not objects:
        raise errors.RepoUnreachableError(
            f"{unreachable or 'repository unreachable'}; the last fetched commit renders no "
            "objects, so nothing is compared (or pruned) until the repository answers"
        )
    return Rendered(tuple(revisions), tuple(types), objects, tuple(stale), tuple(pins))


def _is_chart(root: Path, path: str | None) -> bool:
    """Whether the source path holds a Helm chart (what render's detection would pick)."""
    try:
        app_dir = render_paths.resolve_inside(root, path or ".", what="source path")
        return render.detect_source_type(app_dir) is render.SourceType.HELM
    except (OSError, errors.TidegateError):
        return False


def _is_hook(obj: Mapping[str, Any]) -> bool:
    try:
        return resource_meta.is_hook(obj) or resource_meta.is_skipped(obj)
    except errors.TidegateError:
        return False


def check_unique(label: str, objs: Sequence[Obj]) -> None:
    """A :class:`errors.SpecError` when two objects have one key. Hooks made with
    ``generateName`` are keyed by it (``prepare.target_key``), so a PreSync and a PostSync
    hook of one kind, both without a name, are two objects, as in Argo CD."""
    seen: set[ResourceKey] = set()
    for obj in objs:
        key = prepare.target_key(obj)
        if key in seen:
            raise errors.SpecError(f"{label}: {key} is defined more than once")
        seen.add(key)


async def compare(
    app: model_app.Application,
    *,
    client: kube_client.KubeClient,
    live: Sequence[Obj],
    deps: CompareDeps,
    revision_override: str | None = None,
    max_age: float | None = None,
    extra_ignore: Sequence[diff_ignore.IgnoreRule] = (),
    kube_version: str | None = None,
    api_versions: tuple[str, ...] = (),
    allow_stale: bool = False,
    recalled: recall.Recalled | None = None,
    check_absent: bool = True,
    memo: resource_memo.ResourceMemo | None = None,
    fresh: bool = False,
) -> Comparison:
    """Compare ``app`` with the ``live`` objects it tracks on ``client``'s cluster
    (``allow_stale``: see :func:`render_app`).

    ``recalled``: the facts of the app's persisted record (controller/recall.py): an object
    whose fact it knows is predicted as its live self, without a dry run. ``check_absent``
    False: objects that do not exist live are not dry-run at all (the controller, when an
    automated sync follows at once and validates them itself). ``memo``: the app's memo of
    diffs and health (controller/memo.py), consulted and updated; None: all computed.
    ``fresh`` (a hard refresh): rendered again (see :func:`render_app`)."""
    label = f"Application {app.namespace}/{app.name}"
    rendered = await render_app(
        app,
        deps=deps,
        revision_override=revision_override,
        max_age=max_age,
        kube_version=kube_version,
        api_versions=api_versions,
        allow_stale=allow_stale,
        fresh=fresh,
    )
    check_unique(label, rendered.objects)
    by_key = await prepare.settle(
        rendered.objects,
        client=client,
        destination_namespace=app.spec.destination.namespace or "",
        app_name=app.instance_name(deps.control_namespace),
        method=deps.tracking,
        installation_id=deps.installation_id,
    )
    targets = list(by_key.values())
    live_by_key = {ResourceKey.of(o): o for o in live}
    rules = ignore_rules(app, extra_ignore)
    predicted, problems = await _predict(
        by_key,
        live_by_key,
        client=client,
        deps=deps,
        app=app,
        recalled=recalled,
        check_absent=check_absent,
    )
    # --- bounded jq (ignoreDifferences): every resource's diff in one batch, off the loop ---
    # (a target not live yet was dry-run only to check it: its diff is against desired)
    items = [
        (k, by_key.get(k), live_by_key.get(k),
         predicted.get(k, (None, ""))[0] if k in live_by_key else None)
        for k in set(by_key) | set(live_by_key)
        if not _is_hook(by_key.get(k) or live_by_key[k])
    ]  # fmt: skip
    if memo is not None:
        memo.begin()
    diffs = await diff_resources(items, rules, deps=deps, memo=memo)
    # --- end bounded jq ---

    states: list[ResourceState] = []
    facts: list[str] = []
    for key in sorted(set(by_key) | set(live_by_key)):
        target = by_key.get(key)
        current = live_by_key.get(key)
        ref = target if target is not None else current
        assert ref is not None
        version = str(ref.get("apiVersion", "")).rpartition("/")[2]
        hook = _is_hook(ref)
        if hook:
            states.append(
                ResourceState(
                    key, version, target, current, SyncStatusCode.SYNCED, None, True, False, None
                )
            )
            continue
        message = predicted.get(key, (None, ""))[1] if current is not None else ""
        result, noop = diffs[key]  # bounded jq: computed above
        if target is None:
            status = SyncStatusCode.OUT_OF_SYNC
        else:
            status = SyncStatusCode.OUT_OF_SYNC if result.modified else SyncStatusCode.SYNCED
        if noop:
            facts.append(noop)
        if current is None:
            hs = health_status.HealthStatus(HealthStatusCode.MISSING) if target else None
        else:
            hs = assess_health(key, current, memo=memo, deps=deps)
        states.append(
            ResourceState(
                key, version, target, current, status, hs, False, target is None, result, message
            )
        )
    if memo is not None:
        memo.end()
    sync_status = (
        SyncStatusCode.OUT_OF_SYNC
        if any(s.status is SyncStatusCode.OUT_OF_SYNC for s in states)
        else SyncStatusCode.SYNCED
    )
    counted = [
        s.health for s in states if s.health is not None and not s.hook and not s.requires_pruning
    ]
    app_health = health_status.HealthStatus(health_status.aggregate(counted))
    return Comparison(
        rendered.revisions,
        rendered.source_types,
        targets,
        live_by_key,
        states,
        sync_status,
        app_health,
        tuple(problems),
        rendered.stale,
        tuple(facts),
        rendered.remote_pins,
    )


async def diff_resources(
    items: Sequence[DiffItem],
    rules: Sequence[diff_ignore.IgnoreRule],
    *,
    deps: CompareDeps,
    memo: resource_memo.ResourceMemo | None = None,
) -> dict[ResourceKey, tuple[diff_compare.DiffResult, str]]:
    """Each item's diff and no-op fact (:func:`_noop_fact`). What ``memo`` remembers for the
    same inputs is reused; the other items are diffed in one bounded jq batch
    (:func:`jqdiff.compare_all`) and remembered."""
    out: dict[ResourceKey, tuple[diff_compare.DiffResult, str]] = {}
    inputs: dict[ResourceKey, tuple[resource_memo.Inputs, tuple[object, ...]] | None] = {}
    todo: list[DiffItem] = []
    for item in items:
        key, desired, current, prediction = item
        if memo is not None:
            desired_hash = deps.manifest_hash(desired) if desired is not None else None
            found = resource_memo.diff_inputs(desired_hash, current, prediction, rules)
            hit = memo.diff(key, found)
            if hit is not None:
                out[key] = hit
                continue
            inputs[key] = found
        todo.append(item)
    diffs = await jqdiff.compare_all(todo, rules, pool=deps.jq)
    for key, desired, current, prediction in todo:
        result = diffs[key]
        noop = _noop_fact(key, desired, current, prediction, rules, result, deps=deps)
        out[key] = (result, noop)
        if memo is not None:
            memo.keep_diff(key, inputs[key], result, noop)
    return out


def assess_health(
    key: ResourceKey,
    current: Obj,
    *,
    memo: resource_memo.ResourceMemo | None,
    deps: CompareDeps,
) -> health_status.HealthStatus | None:
    """The health of a live object, remembered by ``memo`` while it and the checks stay.
    A custom check (argocd-cm Lua or rules) runs every time: a Lua script past its limits
    fails for a while, and that verdict must not outlive the moment."""
    checks = deps.health_checks
    if memo is None or checks.custom_check(key.group, key.kind) is not None:
        return checks.assess(current)
    found = resource_memo.health_inputs(current, checks)
    hit, health = memo.health(key, found)
    if not hit:
        health = checks.assess(current)
        memo.keep_health(key, found, health)
    return health


def _noop_fact(
    key: ResourceKey,
    target: Obj | None,
    current: Obj | None,
    predicted: Obj | None,
    rules: Sequence[diff_ignore.IgnoreRule],
    result: diff_compare.DiffResult,
    *,
    deps: CompareDeps,
) -> str:
    """The fact to record when the dry run of ``target`` predicted ``current`` unchanged, else
    "". Whatever the ignore rules hide does not count: the fact must hold without them (they
    may change before it is recalled), so a resource the rules touch is compared again bare."""
    if target is None or current is None or predicted is None or result.modified:
        return ""
    if diff_ignore.matching(rules, key) or diff_normalize.is_secret(target):
        bare = diff_compare.compare(target, current, predicted, mask_secrets=False)
        if bare.modified:
            return ""
    uid = str((current.get("metadata") or {}).get("uid") or "")
    if not uid:
        return ""
    return recall.fact(key, deps.manifest_hash(target), uid, live_version(current))


def ignore_rules(
    app: model_app.Application, extra: Sequence[diff_ignore.IgnoreRule] = ()
) -> tuple[diff_ignore.IgnoreRule, ...]:
    """The app's ``ignoreDifferences`` followed by ``extra`` (the system-level rules)."""
    specs = [
        r.model_dump(mode="json", by_alias=True, exclude_none=True)
        for r in app.spec.ignore_differences or []
    ]
    return diff_ignore.rules_from_specs(specs) + tuple(extra)


def live_version(live: Mapping[str, Any]) -> str:
    """What a dry-run prediction depends on in the live object.

    ``resourceVersion`` changes on every status update, which would make the prediction of a
    rolling Deployment stale many times a second although nothing it predicts changed. Objects
    with a ``generation`` (bumped by every spec change) are keyed by it plus their labels and
    annotations; the others (ConfigMaps, Services...) by ``resourceVersion``.
    """
    meta = live.get("metadata") or {}
    generation = meta.get("generation")
    if not generation:
        return str(meta.get("resourceVersion") or "")
    extra = hashing.manifest_hash(
        {"labels": meta.get("labels") or {}, "annotations": meta.get("annotations") or {}}
    )
    return f"g{generation}-{extra}"


def _sync_options(app: model_app.Application) -> sync_options.SyncOptions:
    """The app's ``syncOptions`` (invalid ones are the sync's to report: defaults here)."""
    items = (app.spec.sync_policy.sync_options if app.spec.sync_policy else None) or []
    try:
        return sync_options.parse(list(items), source=f"Application {app.name} syncOptions")
    except errors.SpecError:
        return sync_options.SyncOptions()


def _planned(app: model_app.Application, targets: Iterable[Obj]) -> sync_validate.Planned:
    """What a sync of ``app`` creates before the objects that need it (namespaces, CRDs)."""
    created = ""
    if _sync_options(app).enabled("create_namespace"):
        created = app.spec.destination.namespace or ""
    return sync_validate.Planned.of(targets, created_namespace=created)


async def _predict(
    targets: Mapping[ResourceKey, Obj],
    live: Mapping[ResourceKey, Obj],
    *,
    client: kube_client.KubeClient,
    deps: CompareDeps,
    app: model_app.Application,
    recalled: recall.Recalled | None = None,
    check_absent: bool = True,
) -> tuple[dict[ResourceKey, tuple[Obj | None, str]], list[tuple[ResourceKey, str]]]:
    """Server-side dry-run applies of the (non-hook) targets, cached by versions: the
    predictions of those that exist live, and the problems the dry runs found (what a sync's
    validation would report, see ``sync.validate``). A target that does not exist yet is
    dry-run only for its problems; its diff stays against the desired object."""
    if not deps.server_side_diff:
        return {}, []
    out: dict[ResourceKey, tuple[Obj | None, str]] = {}
    problems: list[tuple[ResourceKey, str]] = []
    todo: list[tuple[ResourceKey, Obj, str]] = []
    for key, target in targets.items():
        current = live.get(key)
        if _is_hook(target):
            continue
        if current is None and not check_absent:
            continue  # checked by the sync's own validation, which follows at once
        version = live_version(current) if current is not None else "absent"
        cache_key = hashing.dry_run_cache_key(deps.manifest_hash(target), version)
        hit = deps.dry_runs.get(cache_key)
        if hit is None and current is not None and recalled is not None:
            uid = str((current.get("metadata") or {}).get("uid") or "")
            if uid and recalled(recall.fact(key, deps.manifest_hash(target), uid, version)):
                hit = current  # a no-op for this very desired and live object: it is live
                deps.dry_runs.put(cache_key, current)
                deps.dry_runs.recalled += 1
        if hit is not None:
            out[key] = (hit, "")
        else:
            todo.append((key, target, cache_key))
    if not todo:
        return out, problems
    app_options = _sync_options(app)
    planned = _planned(app, targets.values())
    gate = asyncio.Semaphore(deps.dry_run_concurrency)

    async def one(key: ResourceKey, target: Obj, cache_key: str) -> None:
        try:
            opts = app_options.overridden_by(resource_meta.resource_options(target))
        except errors.SpecError:
            opts = app_options
        async with gate:
            try:
                response = await client.apply(
                    target,
                    dry_run=True,
                    force=True,
                    validation="Strict" if opts.enabled("validate") else "Ignore",
                )
            except errors.KubeError as exc:
                out[key] = (None, str(exc))  # fall back to the client-side comparison
                excused = sync_validate.excuse(
                    key,
                    exc,
                    planned,
                    skip_missing_kind=opts.enabled("skip_dry_run_on_missing_resource"),
                    recreated=opts.enabled("force") and key in live,
                )
                if sync_validate.is_verdict(exc) and not excused:
                    problems.append((key, str(exc)))
                return
        deps.dry_runs.put(cache_key, response.body)
        out[key] = (response.body, "")

    await asyncio.gather(*(one(k, t, c) for k, t, c in todo))
    return out, problems
