"""A fleet of apps to break things under: the fault-injection suite's and benchmark's workload.

:class:`Fleet` spreads ``size`` automated apps (prune, self-heal) over workload clusters, one
git repository per cluster, one directory per app. Every app has three ConfigMaps in sync waves
-1, 0 and 1, and a fourth that exists only in even generations (so every other commit prunes
it); every fifth app also has a PreSync and a PostSync hook made with ``generateName`` and kept
after success (``HookFailed``), so the number of hook objects counts the syncs that ran.
:meth:`Fleet.push` commits a new generation to the repositories.

The watch that records every status while faults last is ``faultwatch.StatusRecorder``.

:func:`violations` lists every broken promise of the engine after the faults: an app not
Synced and Healthy at its latest commit, a duplicated history entry, a hook run twice, an object
wrongly pruned or changed.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

import httpx

from tidegate.model import constants
from tidegate.testenv import gitrepos, handle, scenario

HOOK_EVERY = 5
WAVES = {"cm-a": -1, "cm-b": 0, "cm-c": 1}
PRUNED = "cm-extra"
BYSTANDER = "bystander"

CM = """apiVersion: v1
kind: ConfigMap
metadata:
  name: {name}
  annotations:
    argocd.argoproj.io/sync-wave: "{wave}"
data:
  generation: "{generation}"
"""

HOOK = """apiVersion: v1
kind: ConfigMap
metadata:
  generateName: {phase}-
  annotations:
    argocd.argoproj.io/hook: {hook}
    argocd.argoproj.io/hook-delete-policy: HookFailed
data:
  generation: "{generation}"
"""


@dataclasses.dataclass(frozen=True)
class FleetApp:
    name: str
    cluster: str
    path: str
    hooks: bool

    @property
    def namespace(self) -> str:
        return self.name


@dataclasses.dataclass
class Fleet:
    ops: scenario.GitOps
    apps: list[FleetApp]
    repos: dict[str, tuple[gitrepos.RepoInfo, gitrepos.WorkingCopy]]
    generation: int = 0

    @classmethod
    def create(
        cls, ops: scenario.GitOps, clusters: Sequence[str], size: int, *, prefix: str
    ) -> Fleet:
        """``size`` apps spread evenly over ``clusters`` (one repository each), generation 0
        committed, Applications created (they sync on their own)."""
        apps = [
            FleetApp(f"{prefix}-{i:02d}", clusters[i % len(clusters)], f"app-{i:02d}",
                     i % HOOK_EVERY == 0)
            for i in range(size)
        ]  # fmt: skip
        fleet = cls(ops, apps, {})
        for cluster in clusters:
            files: dict[str, str] = {}
            for app in fleet.on(cluster):
                files.update(fleet.files(app, 0))
            fleet.repos[cluster] = ops.repo(files)
        for app in apps:
            manifest = scenario.application(
                app.name,
                repo_url=fleet.repos[app.cluster][0].http_url,
                path=app.path,
                server=ops.bed.clusters[app.cluster].server,
                namespace=app.namespace,
            )
            manifest["spec"]["revisionHistoryLimit"] = 1000  # history counts every sync
            ops.create_app(manifest)
        return fleet

    def on(self, cluster: str) -> list[FleetApp]:
        return [app for app in self.apps if app.cluster == cluster]

    def clusters(self) -> list[str]:
        return list(self.repos)

    @staticmethod
    def files(app: FleetApp, generation: int) -> dict[str, str]:
        out = {
            f"{app.path}/{name}.yaml": CM.format(name=name, wave=wave, generation=generation)
            for name, wave in WAVES.items()
        }
        if generation % 2 == 0:
            out[f"{app.path}/{PRUNED}.yaml"] = CM.format(name=PRUNED, wave=0, generation=generation)
        if app.hooks:
            for phase, hook in (("pre", "PreSync"), ("post", "PostSync")):
                out[f"{app.path}/{phase}.yaml"] = HOOK.format(
                    phase=phase, hook=hook, generation=generation
                )
        return out

    def push(self, clusters: Iterable[str] | None = None) -> None:
        """Commit the next generation to the repositories of ``clusters`` (default all). The
        apps of other clusters keep their generation: :meth:`expected` knows which."""
        self.generation += 1
        for cluster in clusters if clusters is not None else self.repos:
            _, work = self.repos[cluster]
            files: dict[str, str] = {}
            delete: list[str] = []
            for app in self.on(cluster):
                files.update(self.files(app, self.generation))
                pruned = f"{app.path}/{PRUNED}.yaml"
                if self.generation % 2 and (work.path / pruned).exists():
                    delete.append(pruned)
            work.commit(files, f"generation {self.generation}", delete=delete)

    def expected(self, app: FleetApp) -> tuple[str, int]:
        """The commit ``app`` must be synced to, and the generation that commit holds."""
        _, work = self.repos[app.cluster]
        message = work.git("log", "-1", "--format=%s").strip()
        generation = int(message.rsplit(" ", 1)[1]) if message.startswith("generation ") else 0
        return work.head(), generation

    def converged(self) -> list[str]:
        """The apps not yet Synced and Healthy at their latest commit (empty: all are)."""
        heads = {cluster: work.head() for cluster, (_, work) in self.repos.items()}
        with self.ops.mgmt() as client:
            resp = client.get(self.ops.app_path())
            resp.raise_for_status()
            items = {a["metadata"]["name"]: a for a in resp.json()["items"]}
        return [
            app.name
            for app in self.apps
            if not scenario.synced_healthy(items.get(app.name, {}), heads[app.cluster])
        ]

    def wait_converged(self, *, within: float) -> float:
        """Seconds until every app is Synced and Healthy at its latest commit; an
        AssertionError naming the laggards (and their status) after ``within``."""
        started = time.monotonic()
        lagging: list[str] = []
        while time.monotonic() - started < within:
            lagging = self.converged()
            if not lagging:
                return time.monotonic() - started
            time.sleep(0.5)
        details = []
        for name in lagging[:5]:
            status = self.ops.get_app(name).get("status") or {}
            details.append(
                f"{name}: sync={status.get('sync')} health={status.get('health')} "
                f"conditions={status.get('conditions')} "
                f"operationState={(status.get('operationState') or {}).get('message')}"
            )
        raise AssertionError(
            f"{len(lagging)} app(s) not Synced and Healthy at their latest commit within "
            f"{within:.0f}s:\n" + "\n".join(details)
        )

    def add_bystanders(self) -> None:
        """An untracked ConfigMap in every app's namespace: nothing may prune or change it."""
        for app in self.apps:
            with self.ops.bed.admin_client(app.cluster) as client:
                resp = client.post(
                    f"/api/v1/namespaces/{app.namespace}/configmaps",
                    json={"apiVersion": "v1", "kind": "ConfigMap",
                          "metadata": {"name": BYSTANDER}, "data": {"owner": "someone else"}},
                )  # fmt: skip
                if resp.status_code != 409:
                    resp.raise_for_status()


def violations(fleet: Fleet) -> list[str]:
    """Every broken promise after the faults (empty: none), for apps that have converged:
    duplicated history entries (id or revision: each sync of the fleet is of a new commit;
    start times have whole seconds, so two syncs may share one), hooks run a different number
    of times than syncs succeeded, tracked objects not at their generation, a pruned object
    still there or a kept one gone, and the untracked bystander changed or pruned."""
    out: list[str] = []
    for app in fleet.apps:
        raw = fleet.ops.get_app(app.name)
        history = (raw.get("status") or {}).get("history") or []
        for field in ("id", "revision"):
            values = [entry.get(field) for entry in history]
            dupes = sorted({str(v) for v in values if values.count(v) > 1})
            if dupes:
                out.append(f"{app.name}: history repeats {field} {dupes}")
        _, generation = fleet.expected(app)
        with fleet.ops.bed.admin_client(app.cluster) as client:
            resp = client.get(f"/api/v1/namespaces/{app.namespace}/configmaps")
            resp.raise_for_status()
            live = {o["metadata"]["name"]: o for o in resp.json()["items"]}
        for name in WAVES:
            got = ((live.get(name) or {}).get("data") or {}).get("generation")
            if got != str(generation):
                out.append(f"{app.name}: {name} has generation {got}, expected {generation}")
        if (PRUNED in live) != (generation % 2 == 0):
            state = "still exists" if PRUNED in live else "is missing"
            out.append(f"{app.name}: {PRUNED} {state} at generation {generation}")
        bystander = live.get(BYSTANDER)
        annotations = ((bystander or {}).get("metadata") or {}).get("annotations") or {}
        if (bystander or {}).get("data") != {"owner": "someone else"}:
            out.append(f"{app.name}: the untracked {BYSTANDER} was changed or pruned")
        elif constants.ANNOTATION_TRACKING_ID in annotations:
            out.append(f"{app.name}: the untracked {BYSTANDER} was claimed")
        if app.hooks:
            for phase in ("pre", "post"):
                runs = sum(1 for name in live if name.startswith(f"{phase}-"))
                if runs != len(history):
                    out.append(
                        f"{app.name}: {phase} hook ran {runs} time(s) for {len(history)} sync(s)"
                    )
    return out


def restart_controller(ops: scenario.GitOps, *, incarnation: int) -> None:
    """SIGKILL the controller (if it runs) and start a new one on the same settings, logging
    to ``controller-<incarnation>.log`` (a fresh log: its "ready" line is this start's)."""
    old = ops.controller
    old.kill()
    ops.controller = scenario.ControllerProcess(
        ops.bed,
        ops.namespace,
        log=ops.workdir / f"controller-{incarnation}.log",
        app_resync=old.app_resync,
        webhook_port=old.webhook_port,
        extra=old.extra,
    ).start()
    ops.controller.wait_log("controller ready", timeout=120)


def push_webhook(repo: gitrepos.RepoInfo, sha: str) -> bytes:
    """A GitHub push event announcing ``sha`` on ``main`` of ``repo``."""
    url = repo.http_url
    return json.dumps(
        {
            "ref": "refs/heads/main",
            "before": "0" * 40,
            "after": sha,
            "repository": {"html_url": url.removesuffix(".git"), "clone_url": url,
                           "default_branch": "main"},
            "commits": [{"id": sha, "added": [], "removed": [], "modified": []}],
        }
    ).encode()  # fmt: skip


def flood(
    fleet: Fleet, count: int, *, concurrency: int = 50, clusters: Iterable[str] | None = None
) -> list[int]:
    """``count`` push webhooks for the heads of the fleet's repositories (of ``clusters``,
    default all), ``concurrency`` at a time; the HTTP status of each."""
    import asyncio

    wanted = set(clusters if clusters is not None else fleet.repos)
    bodies = [
        push_webhook(repo, work.head())
        for cluster, (repo, work) in fleet.repos.items()
        if cluster in wanted
    ]
    url = f"http://127.0.0.1:{fleet.ops.webhook_port}/api/webhook"
    headers = {"X-GitHub-Event": "push", "Content-Type": "application/json"}

    async def go() -> list[int]:
        gate = asyncio.Semaphore(concurrency)
        async with httpx.AsyncClient(timeout=60) as client:

            async def one(body: bytes) -> int:
                async with gate:
                    return (await client.post(url, content=body, headers=headers)).status_code

            return await asyncio.gather(*(one(bodies[i % len(bodies)]) for i in range(count)))

    return asyncio.run(go())


def hook_names(fleet: Fleet, name: str) -> list[str]:
    """The hook ConfigMaps of app ``name`` live on its cluster (their names carry the sync id)."""
    app = next(a for a in fleet.apps if a.name == name)
    with fleet.ops.bed.admin_client(app.cluster) as client:
        resp = client.get(f"/api/v1/namespaces/{app.namespace}/configmaps")
        resp.raise_for_status()
        found = (o["metadata"]["name"] for o in resp.json()["items"])
        return sorted(n for n in found if n.startswith(("pre-", "post-")))


def history_starts(fleet: Fleet) -> set[tuple[str, str]]:
    """(app, ``deployStartedAt``) of every history entry of the fleet."""
    out = set()
    with fleet.ops.mgmt() as client:
        resp = client.get(fleet.ops.app_path())
        resp.raise_for_status()
        for raw in resp.json()["items"]:
            for entry in (raw.get("status") or {}).get("history") or []:
                out.add((str(raw["metadata"]["name"]), str(entry.get("deployStartedAt"))))
    return out


def open_bed_ops(
    bed: handle.TestBed,
    namespace: str,
    workdir: Path,
    *,
    app_resync: float = 5,
    extra: Sequence[str] = ("--operation-processors=16",),
) -> scenario.GitOps:
    """Tidegate installed in ``namespace`` of ``bed``'s mgmt, every other cluster registered,
    the git server's credentials as a template, and a (not yet started) controller."""
    scenario.control_namespace(bed, namespace, [name for name in bed.clusters if name != "mgmt"])
    from tidegate.testenv import procs

    port = procs.free_port()
    controller = scenario.ControllerProcess(
        bed,
        namespace,
        log=workdir / "controller-0.log",
        webhook_port=port,
        app_resync=app_resync,
        extra=extra,
    )
    return scenario.GitOps(bed, namespace, controller, workdir, port)
