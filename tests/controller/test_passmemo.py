"""The whole-pass memo (controller/passmemo.py): a no-op refresh reuses the last comparison and
status, and every input that changes (the app, a commit, a live object, the settings, the
project, the destination) gives a miss, never a stale reuse. Each test changes one input
alone; the repository is a fake (the memo's logic is what is tested here; the refresh with a
real repository and cluster is tests/controller/e2e/test_pass_memo.py)."""

from __future__ import annotations

import copy
import dataclasses
import pathlib
from collections.abc import AsyncIterator, Callable
from typing import Any, cast

import pytest

from tidegate import render, sources
from tidegate.controller import compare as cmp
from tidegate.controller import passmemo
from tidegate.diff import ignore
from tidegate.health import registry as health_registry
from tidegate.health import status as health_status
from tidegate.model import application as model_app
from tidegate.model import errors
from tidegate.model import project as model_project
from tidegate.model.enums import HealthStatusCode, SyncStatusCode
from tidegate.model.keys import ResourceKey
from tidegate.sources import cache as source_cache

REPO = "https://git.example/team/app"
KEY = ResourceKey("", "ConfigMap", "ns", "c")


class FakeRepos:
    """``resolve_or_last`` as the repository cache answers it: a commit per revision."""

    def __init__(self) -> None:
        self.commit = "a" * 40
        self.stale = False
        self.error: errors.TidegateError | None = None
        self.asked: list[tuple[str, str, float | None]] = []

    async def resolve_or_last(
        self, url: str, revision: str, *, creds: Any = None, max_age: float | None = None
    ) -> source_cache.Resolution:
        self.asked.append((url, revision, max_age))
        if self.error is not None:
            raise self.error
        return source_cache.Resolution(self.commit, stale=self.stale)


@dataclasses.dataclass
class World:
    """Everything :func:`passmemo.inputs` reads; each test changes one thing."""

    deps: cmp.CompareDeps
    repos: FakeRepos
    raw: dict[str, Any]
    live: list[dict[str, Any]]
    destination: tuple[object, ...]
    capabilities: tuple[str | None, tuple[str, ...]]
    project: model_project.AppProject | None
    system_ignore: tuple[ignore.IgnoreRule, ...] = ()

    async def inputs(self) -> passmemo.Inputs | None:
        return await passmemo.inputs(
            model_app.parse_application(self.raw),
            self.raw,
            deps=self.deps,
            live=self.live,
            destination=self.destination,
            capabilities=self.capabilities,
            project=self.project,
            system_ignore=self.system_ignore,
            max_age=180.0,
        )


def application() -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {
            "name": "web",
            "namespace": "argocd",
            "uid": "app-uid",
            "resourceVersion": "100",
            "generation": 3,
            "managedFields": [{"manager": "tidegate", "time": "2026-01-01T00:00:00Z"}],
        },
        "spec": {
            "project": "default",
            "source": {"repoURL": REPO, "targetRevision": "main", "path": "web"},
            "destination": {"server": "https://dev", "namespace": "ns"},
        },
        "status": {
            "sync": {"status": "Synced", "revision": "a" * 40},
            "reconciledAt": "2026-01-01T00:00:00Z",
            "observedAt": "2026-01-01T00:00:00Z",
        },
    }


def project(**spec: Any) -> model_project.AppProject:
    return model_project.parse_project(
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "AppProject",
            "metadata": {"name": "default", "namespace": "argocd"},
            "spec": {"sourceRepos": ["*"], **spec},
        }
    )


def configmap(name: str = "c", uid: str = "u1", version: str = "7") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": "ns", "uid": uid, "resourceVersion": version},
    }


@pytest.fixture
async def world(tmp_path: pathlib.Path) -> AsyncIterator[World]:
    repos = FakeRepos()
    deps = cmp.CompareDeps(
        repos=cast(sources.RepoCache, repos),
        render_cache=render.RenderCache(),
        repo_secrets=lambda: (),
    )
    made = World(
        deps=deps,
        repos=repos,
        raw=application(),
        live=[configmap()],
        destination=(object(), object()),  # the cluster's registry entry, its runtime
        capabilities=("v1.31.0", ("v1", "apps/v1")),
        project=project(),
    )
    yield made
    await deps.jq.aclose()


def comparison(**changes: Any) -> cmp.Comparison:
    state = cmp.ResourceState(
        KEY,
        "v1",
        {"kind": "ConfigMap"},
        configmap(),
        SyncStatusCode.SYNCED,
        health_status.HealthStatus(HealthStatusCode.HEALTHY),
        False,
        False,
        None,
    )
    base = cmp.Comparison(
        ("a" * 40,),
        ("Directory",),
        [],
        {},
        [state],
        SyncStatusCode.SYNCED,
        health_status.HealthStatus(HealthStatusCode.HEALTHY),
    )
    return dataclasses.replace(base, **changes)


STATUS = {"sync": {"status": "Synced"}, "reconciledAt": "T1", "observedAt": "T1"}


async def remembered(world: World) -> passmemo.PassMemo:
    memo = passmemo.PassMemo()
    memo.keep(await world.inputs(), comparison(), STATUS, deps=world.deps)
    assert memo.get(await world.inputs()) is not None, "the same inputs reuse the pass"
    return memo


async def test_a_pass_with_the_same_inputs_is_reused_with_its_time_restamped(
    world: World,
) -> None:
    memo = await remembered(world)
    found = memo.get(await world.inputs())
    assert found is not None
    status = found.status_at("T2")
    assert status == {"sync": {"status": "Synced"}, "reconciledAt": "T2", "observedAt": "T2"}
    status["conditions"] = []  # the refresh adds to its copy; the memo keeps its own
    assert "conditions" not in found.status_at("T3")


def _set(path: tuple[str, ...], value: Any) -> Callable[[World], None]:
    def change(world: World) -> None:
        node = world.raw
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = value

    return change


CHANGES: dict[str, Callable[[World], None]] = {
    "new commit": lambda w: setattr(w.repos, "commit", "b" * 40),
    "spec: ignoreDifferences": _set(
        ("spec", "ignoreDifferences"), [{"kind": "ConfigMap", "jsonPointers": ["/data"]}]
    ),
    "spec: target revision": _set(("spec", "source", "targetRevision"), "v2"),
    "refresh annotation": _set(
        ("metadata", "annotations"), {"argocd.argoproj.io/refresh": "normal"}
    ),
    "operation starts": _set(("operation",), {"sync": {"revision": "main"}}),
    "operation ends": _set(
        ("status", "operationState"), {"phase": "Succeeded", "operation": {"sync": {}}}
    ),
    "condition changed": _set(("status", "conditions"), [{"type": "SyncError", "message": "x"}]),
    "recorded predictions": _set(("status", "tidegate"), {"predictions": "abc"}),
    "deletion": _set(("metadata", "deletionTimestamp"), "2026-01-01T00:00:00Z"),
    "live object changed": lambda w: w.live.__setitem__(0, configmap(version="8")),
    "live object recreated": lambda w: w.live.__setitem__(0, configmap(uid="u2")),
    "live object added": lambda w: w.live.append(configmap("d", uid="u3")),
    "live object deleted": lambda w: w.live.clear(),
    "argocd-cm ignore rules": lambda w: setattr(
        w,
        "system_ignore",
        ignore.rules_from_specs([{"kind": "ConfigMap", "jsonPointers": ["/data"]}]),
    ),
    "argocd-cm health checks": lambda w: setattr(
        w.deps, "health_checks", health_registry.HealthChecks()
    ),
    "tracking method": lambda w: setattr(w.deps, "tracking", "label"),
    "installation id": lambda w: setattr(w.deps, "installation_id", "other"),
    "server-side diff": lambda w: setattr(w.deps, "server_side_diff", False),
    "plugins": lambda w: setattr(w.deps, "plugins", lambda: ("a plugin",)),
    "project changed": lambda w: setattr(w, "project", project()),
    "cluster Secret changed": lambda w: setattr(w, "destination", (object(), w.destination[1])),
    "cluster runtime renewed": lambda w: setattr(w, "destination", (w.destination[0], object())),
    "cluster upgraded": lambda w: setattr(w, "capabilities", ("v1.32.0", w.capabilities[1])),
    "CRD installed": lambda w: setattr(
        w, "capabilities", (w.capabilities[0], (*w.capabilities[1], "example.com/v1"))
    ),
}


@pytest.mark.parametrize("change", list(CHANGES), ids=list(CHANGES))
async def test_any_input_that_changes_is_a_miss(world: World, change: str) -> None:
    memo = await remembered(world)
    CHANGES[change](world)
    assert memo.get(await world.inputs()) is None


@pytest.mark.parametrize(
    "change",
    [
        _set(("metadata", "resourceVersion"), "101"),
        _set(("metadata", "generation"), 4),
        _set(("metadata", "managedFields"), [{"manager": "tidegate", "time": "later"}]),
        _set(("status", "reconciledAt"), "2026-01-01T00:03:00Z"),
        _set(("status", "observedAt"), "2026-01-01T00:03:00Z"),
    ],
    ids=["resourceVersion", "generation", "managedFields", "reconciledAt", "observedAt"],
)
async def test_a_write_that_changed_only_stamps_is_still_a_hit(
    world: World, change: Callable[[World], None]
) -> None:
    """Our own timestamp-only status write (once per resync period) must not cost the next
    pass its memo: the poll runs once per resync period too."""
    memo = await remembered(world)
    change(world)
    assert memo.get(await world.inputs()) is not None


async def test_the_commit_is_resolved_as_a_refresh_resolves_it(world: World) -> None:
    """Asked of the repository cache each time with the resync period as max age: that is
    what polls Git (a fetch when the last one is older)."""
    await world.inputs()
    assert world.repos.asked == [(REPO, "main", 180.0)]


async def test_a_live_object_without_a_version_is_never_reused(world: World) -> None:
    del world.live[0]["metadata"]["resourceVersion"]
    assert await world.inputs() is None


async def test_a_stale_repository_is_never_reused(world: World) -> None:
    world.repos.stale = True
    assert await world.inputs() is None


async def test_a_revision_that_does_not_resolve_is_left_to_the_pass(world: World) -> None:
    world.repos.error = errors.RevisionNotFoundError("revision 'main' not found")
    assert await world.inputs() is None


async def test_a_project_with_signature_keys_is_never_reused(world: World) -> None:
    """The keyring may lose a key between passes: every pass verifies."""
    world.project = project(signatureKeys=[{"keyID": "60556C64F49FE1B2"}])
    assert await world.inputs() is None


async def test_a_helm_repository_chart_source_is_never_reused(world: World) -> None:
    world.raw["spec"]["source"] = {
        "repoURL": "https://charts.example",
        "chart": "web",
        "targetRevision": "1.*",
    }
    assert await world.inputs() is None


@pytest.mark.parametrize(
    "changes",
    [
        {"problems": ((KEY, "namespace ns not found"),)},
        {"stale": ((REPO, "a" * 40),)},
        {"remote_pins": (("https://git.example/base", "main", "c" * 40),)},
    ],
    ids=["dry-run problems", "stale repository", "remote bases"],
)
async def test_a_comparison_that_may_differ_next_time_is_not_kept(
    world: World, changes: dict[str, Any]
) -> None:
    memo = await remembered(world)
    memo.keep(await world.inputs(), comparison(**changes), STATUS, deps=world.deps)
    assert memo.get(await world.inputs()) is None


async def test_a_resource_whose_dry_run_failed_is_not_kept(world: World) -> None:
    memo = await remembered(world)
    failed = dataclasses.replace(comparison().resources[0], message="the server said no")
    memo.keep(await world.inputs(), comparison(resources=[failed]), STATUS, deps=world.deps)
    assert memo.get(await world.inputs()) is None


async def test_a_resource_with_a_custom_health_check_is_not_kept(world: World) -> None:
    """A Lua check past its limits fails for a while: its verdict must not stick."""
    world.deps.health_checks = health_registry.HealthChecks(
        custom={"ConfigMap": lambda obj: health_status.HealthStatus(HealthStatusCode.HEALTHY)}
    )
    memo = await remembered_or_none(world)
    assert memo.get(await world.inputs()) is None


async def remembered_or_none(world: World) -> passmemo.PassMemo:
    memo = passmemo.PassMemo()
    memo.keep(await world.inputs(), comparison(), STATUS, deps=world.deps)
    return memo


async def test_a_pass_that_cannot_be_reused_forgets_the_last(world: World) -> None:
    memo = await remembered(world)
    memo.keep(None, comparison(), STATUS, deps=world.deps)
    assert memo.get(await world.inputs()) is None


async def test_the_app_identity_is_compared_by_value(world: World) -> None:
    """A watch event stores a new dict for the same Application: still a hit."""
    memo = await remembered(world)
    world.raw = copy.deepcopy(world.raw)
    world.live = copy.deepcopy(world.live)
    assert memo.get(await world.inputs()) is not None


async def test_credentials_are_looked_up_again_for_a_changed_secret(world: World) -> None:
    secret = {
        "metadata": {"name": "repo", "labels": {"argocd.argoproj.io/secret-type": "repository"}},
        "stringData": {"url": REPO, "username": "u", "password": "one"},
    }
    first = world.deps.credentials(REPO, [secret])
    assert first is not None and first.password == "one"
    assert world.deps.credentials(REPO, [secret]) is first  # the same Secret: remembered
    changed = copy.deepcopy(secret)
    changed["stringData"]["password"] = "two"
    again = world.deps.credentials(REPO, [changed])
    assert again is not None and again.password == "two"
