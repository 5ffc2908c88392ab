"""Benchmark of ApplicationSets at fleet scale (issue 5).

Three parts, in one run:

1. Pure generation and planning (``bench/appset_bench.py``'s matrix: 100 git directories x 50
   clusters = 5,000 Applications, fasttemplate): time to generate, and a no-change plan.
2. The ApplicationSet controller (in this process) against the management cluster: 50 cluster
   Secrets labelled ``fleet=yes`` (fake servers: no Application controller runs in this part)
   and a repository with 100 directories on the test bed's git server. Timed: from creating
   the ApplicationSet to 5,000 Applications stored on mgmt (generate + create), then
   no-change reconciles (``enqueue`` the set, wait for the reconcile to finish; the
   controller's own ``last_duration``) - target < 1 s.
3. Labelling a cluster: ``tidegate controller`` (application + ApplicationSet controllers) runs
   as a process; a set with a cluster generator selecting ``fleet=yes`` and automated sync.
   Each round labels the ``dev`` cluster Secret and measures until the app for dev is Synced
   and Healthy (its ConfigMap and 1-replica Deployment created and available); then removes
   the label and waits until the app and, through the resources finalizer, its Deployment are
   gone.

    .venv/bin/python bench/fleet_bench.py [--dirs 100] [--clusters 50] [--rounds 5]
        [--label-rounds 5] [--skip-controller-scale]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import copy
import logging
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import appset_bench
import common

from tidegate.appset import applications, policy
from tidegate.appset import controller as appset_controller
from tidegate.kube import client as kube_client
from tidegate.kube import config as kube_config
from tidegate.model import constants
from tidegate.sources import RepoCache
from tidegate.testenv import handle, scenario

NO_CHANGE_TARGET = 1.0
APPS = "/apis/argoproj.io/v1alpha1/namespaces/{ns}/applications"
SETS = "/apis/argoproj.io/v1alpha1/namespaces/{ns}/applicationsets"

CONFIGMAP = """apiVersion: v1
kind: ConfigMap
metadata:
  name: {name}
data:
  owner: fleet
"""


# -- part 1: pure ------------------------------------------------------------------------------


def pure(args: argparse.Namespace) -> None:
    git = appset_bench._Git([f"apps/app-{i:03d}" for i in range(args.dirs)] + ["apps", "other/x"])
    clusters = [
        {
            "name": f"cluster-{i:02d}",
            "server": f"https://10.0.{i // 250}.{i % 250}:6443",
            "labels": {"fleet": "yes", "env": "prod" if i % 2 else "staging"},
        }
        for i in range(args.clusters)
    ]
    appset = appset_bench._appset(go_template=False)
    generate, plan_s = [], []
    desired: list[dict[str, Any]] = []
    for _ in range(args.rounds):
        started = time.perf_counter()
        desired = applications.generate_applications(appset, clusters=clusters, git=git)
        generate.append(time.perf_counter() - started)
        existing = copy.deepcopy(desired)
        for app in existing:
            app["metadata"]["resourceVersion"] = "1"
            app["status"] = {"sync": {"status": "Synced"}, "health": {"status": "Healthy"}}
        started = time.perf_counter()
        plan = policy.plan_changes(appset, desired, existing)
        plan_s.append(time.perf_counter() - started)
        assert plan.empty and len(plan.unchanged) == len(desired)
    common.header(f"pure: {len(desired)} apps ({args.dirs} dirs x {args.clusters} clusters)")
    common.row("generate", common.spread(generate))
    common.row("no-change plan", common.spread(plan_s))


# -- part 2: the ApplicationSet controller at scale ---------------------------------------------


def _fleet_secret(namespace: str, index: int) -> dict[str, Any]:
    name = f"cluster-{index:02d}"
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {
                constants.LABEL_SECRET_TYPE: constants.SECRET_TYPE_CLUSTER,
                "fleet": "yes",
                "env": "prod" if index % 2 else "staging",
            },
        },
        "stringData": {
            "name": name,
            "server": f"https://10.0.{index // 250}.{index % 250}:6443",
            "config": '{"tlsClientConfig": {"insecure": true}}',
        },
    }


def _scale_appset(namespace: str, repo_url: str) -> dict[str, Any]:
    appset = appset_bench._appset(go_template=False)
    gens = appset["spec"]["generators"][0]["matrix"]["generators"]
    gens[0]["git"]["repoURL"] = repo_url
    appset["spec"]["template"]["spec"]["source"]["repoURL"] = repo_url
    del appset["spec"]["template"]["spec"]["syncPolicy"]  # no app controller in this part
    appset["metadata"] = {"name": "fleet", "namespace": namespace}
    appset["apiVersion"] = "argoproj.io/v1alpha1"
    appset["kind"] = "ApplicationSet"
    return appset


def _count_apps(bed: handle.TestBed, namespace: str) -> int:
    with bed.admin_client("mgmt", timeout=120) as client:
        resp = client.get(APPS.format(ns=namespace), params={"limit": 10000})
        resp.raise_for_status()
        return len(resp.json()["items"])


async def _poll(check: Any) -> None:
    while True:
        if check():
            return
        await asyncio.sleep(0.01)


async def controller_scale(bed: handle.TestBed, workdir: Path, args: argparse.Namespace) -> None:
    assert bed.git is not None
    control = f"tg-fleet-{secrets.token_hex(3)}"
    scenario.install(bed, control)
    src = workdir / "fleet-src"
    for i in range(args.dirs):
        path = src / "apps" / f"app-{i:03d}" / "configmap.yaml"
        path.parent.mkdir(parents=True)
        path.write_text(CONFIGMAP.format(name=f"app-{i:03d}"))
    repo = bed.git.create_repo(from_dir=src)
    scenario.apply_manifests(
        bed,
        "mgmt",
        [scenario.repo_creds_secret(bed.git, namespace=control)]
        + [_fleet_secret(control, i) for i in range(args.clusters)],
    )
    expected = args.dirs * args.clusters
    mgmt = kube_config.from_kubeconfig(bed.clusters["mgmt"].kubeconfig)
    client = kube_client.client_for(mgmt)
    ctrl = appset_controller.AppSetController(
        kube=client,
        namespace=control,
        repo_cache=RepoCache(workdir / "fleet-cache"),
        settings=appset_controller.Settings(requeue_seconds=3600),
    )
    runner = asyncio.create_task(ctrl.run())
    try:
        await asyncio.wait_for(ctrl.wait_ready(), 60)
        started = time.perf_counter()
        with bed.admin_client("mgmt") as mc:
            mc.post(SETS.format(ns=control), json=_scale_appset(control, repo.http_url))
        while ctrl.reconciles == 0 or _count_apps(bed, control) < expected:
            if runner.done():
                runner.result()
            if time.perf_counter() - started > 600:
                raise TimeoutError("the set never reached its Applications")
            await asyncio.sleep(1.0)
        create_s = time.perf_counter() - started
        print(f"controller: {expected} Applications created in {create_s:.1f} s "
              f"({ctrl.reconciles} reconciles so far)", flush=True)  # fmt: skip
        await asyncio.sleep(2.0)  # let the watch catch up with the writes
        durations = []
        for _ in range(args.rounds):
            before = ctrl.reconciles
            ctrl.enqueue("fleet")
            async with asyncio.timeout(120):
                await _poll(lambda b=before: ctrl.reconciles != b)
            durations.append(ctrl.last_duration["fleet"])
        assert _count_apps(bed, control) == expected
    finally:
        runner.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await runner
        await client.aclose()
        with bed.admin_client("mgmt") as mc:
            mc.delete(f"/api/v1/namespaces/{control}")
    common.header(f"ApplicationSet controller with mgmt: {expected} apps")
    common.row("set created -> all apps stored on mgmt", f"{create_s:.1f} s")
    common.row("no-change reconcile (controller)", common.spread(durations))
    med = statistics.median(durations)
    common.row(
        "  vs target 1 s",
        f"{med / NO_CHANGE_TARGET:.2f}x of target - {common.verdict(med, NO_CHANGE_TARGET)}",
    )


# -- part 3: label a cluster ---------------------------------------------------------------------


def _label_appset(namespace: str, repo_url: str, dest_ns: str) -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "ApplicationSet",
        "metadata": {"name": "labelled", "namespace": namespace},
        "spec": {
            "generators": [{"clusters": {"selector": {"matchLabels": {"fleet": "yes"}}}}],
            "template": {
                # Cascade on delete: each round starts with nothing deployed on dev.
                "metadata": {
                    "name": "web-{{name}}",
                    "finalizers": ["resources-finalizer.argocd.argoproj.io"],
                },
                "spec": {
                    "project": "default",
                    "source": {"repoURL": repo_url, "targetRevision": "main", "path": "app"},
                    "destination": {"server": "{{server}}", "namespace": dest_ns},
                    "syncPolicy": {
                        "automated": {"prune": True},
                        "syncOptions": ["CreateNamespace=true"],
                    },
                },
            },
        },
    }


def label_cluster(bed: handle.TestBed, workdir: Path, args: argparse.Namespace) -> None:
    assert bed.git is not None
    control = f"tg-label-{secrets.token_hex(3)}"
    dest = f"labelled-{control}"
    scenario.install(bed, control)
    dev_secret = scenario.cluster_secret(bed, "dev", namespace=control)
    scenario.apply_manifests(
        bed, "mgmt", [dev_secret, scenario.repo_creds_secret(bed.git, namespace=control)]
    )
    controller = scenario.ControllerProcess(
        bed, control, log=workdir / "controller.log", app_resync=180
    ).start()
    secret_path = f"/api/v1/namespaces/{control}/secrets/{dev_secret['metadata']['name']}"
    samples: list[float] = []
    try:
        controller.wait_log("controller ready", timeout=60)
        gitops = scenario.GitOps(bed, control, controller, workdir, 0)
        repo, _ = gitops.repo(
            {"app/configmap.yaml": CONFIGMAP.format(name="web"),
             "app/deployment.yaml": common.WEB_DEPLOYMENT}
        )  # fmt: skip
        with gitops.mgmt() as mc:
            resp = mc.post(
                SETS.format(ns=control), json=_label_appset(control, repo.http_url, dest)
            )
            resp.raise_for_status()
            patch_headers = {"Content-Type": "application/merge-patch+json"}
            app_path = gitops.app_path("web-dev")

            def healthy() -> bool:
                resp = mc.get(app_path)
                return resp.status_code == 200 and scenario.synced_healthy(resp.json())

            for number in range(1, args.label_rounds + 1):
                started = time.perf_counter()
                mc.patch(secret_path, json={"metadata": {"labels": {"fleet": "yes"}}},
                         headers=patch_headers).raise_for_status()  # fmt: skip
                common.wait_until(healthy, timeout=120, interval=0.05, what="web-dev Healthy")
                elapsed = time.perf_counter() - started
                samples.append(elapsed)
                print(f"label round {number}: label -> web-dev Synced+Healthy {elapsed:.2f} s",
                      flush=True)  # fmt: skip
                mc.patch(secret_path, json={"metadata": {"labels": {"fleet": None}}},
                         headers=patch_headers).raise_for_status()  # fmt: skip
                common.wait_until(
                    lambda: mc.get(app_path).status_code == 404,
                    timeout=120,
                    interval=0.1,
                    what="web-dev deleted",
                )
                with bed.admin_client("dev") as dc:
                    deployment = f"/apis/apps/v1/namespaces/{dest}/deployments/web"
                    common.wait_until(
                        lambda c=dc, d=deployment: c.get(d).status_code == 404,  # type: ignore[misc]
                        timeout=120,
                        interval=0.1,
                        what="the deployed Deployment to be deleted",
                    )
    finally:
        controller.stop()
        with bed.admin_client("mgmt") as mc:
            mc.delete(f"/api/v1/namespaces/{control}")
        with bed.admin_client("dev") as dc:
            dc.delete(f"/api/v1/namespaces/{dest}")
    common.header(f"label a cluster -> its app Synced and Healthy, {len(samples)} rounds")
    common.row("label -> Synced+Healthy", common.spread(samples, digits=2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dirs", type=int, default=100)
    parser.add_argument("--clusters", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--label-rounds", type=int, default=5)
    parser.add_argument("--skip-controller-scale", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    started = time.perf_counter()
    pure(args)
    with common.test_bed(["mgmt", "dev"]) as bed, tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        label_cluster(bed, workdir, args)
        if not args.skip_controller_scale:
            asyncio.run(controller_scale(bed, workdir, args))
    print(f"\n(total wall {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
