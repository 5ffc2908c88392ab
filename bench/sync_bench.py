"""Benchmark of a user-facing sync (issue 4): ``tidegate app sync`` of 300 new objects versus
``kubectl apply --server-side`` of the same files, and CLI start-up.

Set-up (not timed): a test bed with mgmt+dev, Tidegate installed in a fresh control namespace
on mgmt, dev registered as a cluster Secret, the git server as a repository, and
``tidegate controller`` running as a process. A repository holds 300 manifests: 100
Deployments (1 replica), 100 Services, 100 ConfigMaps.

Each round makes two fresh namespaces on dev and, in the same round:

- baseline: ``kubectl apply --server-side -f DIR`` into the first (discovery cache warmed, as
  in real use) - the *named baseline*; a second figure adds ``kubectl wait
  --for=condition=Available deployment --all`` (what the sync also waits for: Argo CD's sync
  ends when the resources are healthy);
- ``tidegate app sync NAME`` of an app targeting the second namespace, after the controller has
  compared it (OutOfSync, as a user would find it): the CLI writes ``operation`` and follows
  it until the operation Succeeded. Wall time of the CLI process.

Then the namespaces are deleted (their pods free the fake nodes). Reported: medians and
min-max of both, and the ratio tidegate / kubectl per round (target <= 0.9x).

CLI start-up: ``tidegate --help`` and ``tidegate app get NAME`` (real API calls), 10 runs each
(targets < 0.3 s and < 0.5 s).

    .venv/bin/python bench/sync_bench.py [--rounds 3] [--objects 100] [--startup-runs 10]
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common

from tidegate.testenv import handle, scenario

RATIO_TARGET = 0.9
HELP_TARGET = 0.3
GET_TARGET = 0.5


def manifests(per_kind: int) -> dict[str, str]:
    files: dict[str, str] = {}
    for i in range(per_kind):
        labels = {"app": f"web-{i:03d}"}
        deployment = {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": f"web-{i:03d}", "labels": labels},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {"containers": [{"name": "web", "image": "nginx:1.27.0"}]},
                },
            },
        }
        service = {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": f"web-{i:03d}", "labels": labels},
            "spec": {"selector": labels, "ports": [{"port": 80, "targetPort": 8080}]},
        }
        config = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": f"web-{i:03d}", "labels": labels},
            "data": {f"key{j}": f"value-{i}-{j}" for j in range(8)},
        }
        for kind, obj in (("deployment", deployment), ("service", service), ("cm", config)):
            files[f"app/{kind}-{i:03d}.yaml"] = yaml.safe_dump(obj, sort_keys=False)
    return files


def _application(name: str, repo_url: str, server: str, namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name},
        "spec": {
            "project": "default",
            "source": {"repoURL": repo_url, "targetRevision": "main", "path": "app"},
            "destination": {"server": server, "namespace": namespace},
        },
    }


def _compared(app: dict[str, Any], expected: int) -> bool:
    status = app.get("status") or {}
    return (status.get("sync") or {}).get("status") == "OutOfSync" and len(
        status.get("resources") or []
    ) == expected


def _delete_namespaces(bed: handle.TestBed, names: list[str]) -> None:
    with bed.admin_client("dev") as client:
        for name in names:
            client.delete(f"/api/v1/namespaces/{name}")

        def gone() -> bool:
            return all(client.get(f"/api/v1/namespaces/{n}").status_code == 404 for n in names)

        common.wait_until(gone, timeout=300, interval=0.5, what="namespaces to be deleted")


def run(args: argparse.Namespace) -> None:
    with common.test_bed(["mgmt", "dev"]) as bed, tempfile.TemporaryDirectory() as tmp:
        assert bed.git is not None
        workdir = Path(tmp)
        control = f"tg-bench-{secrets.token_hex(3)}"
        scenario.control_namespace(bed, control)
        controller = scenario.ControllerProcess(
            bed, control, log=workdir / "controller.log", app_resync=180
        ).start()
        try:
            controller.wait_log("controller ready", timeout=60)
            gitops = scenario.GitOps(bed, control, controller, workdir, 0)
            files = manifests(args.objects)
            repo, _ = gitops.repo(files)
            manifest_dir = workdir / "manifests"
            for path, text in files.items():
                (manifest_dir / Path(path).name).parent.mkdir(parents=True, exist_ok=True)
                (manifest_dir / Path(path).name).write_text(text)
            _rounds(args, bed, gitops, repo.http_url, manifest_dir, len(files))
            _startup(args, bed, control, gitops.apps_created[-1])
        finally:
            controller.stop()
            with bed.admin_client("mgmt") as client:
                client.delete(f"/api/v1/namespaces/{control}")


def _rounds(
    args: argparse.Namespace,
    bed: handle.TestBed,
    gitops: scenario.GitOps,
    repo_url: str,
    manifest_dir: Path,
    total: int,
) -> None:
    mgmt_kubeconfig = str(bed.clusters["mgmt"].kubeconfig)
    dev = bed.clusters["dev"]
    common.kubectl(dev.kubeconfig, "api-resources")  # warm kubectl's discovery cache
    kubectl_s: list[float] = []
    kubectl_wait_s: list[float] = []
    ours_s: list[float] = []
    for number in range(1, args.rounds + 1):
        suffix = secrets.token_hex(3)
        ns_kubectl, ns_ours = f"bench-kubectl-{suffix}", f"bench-tidegate-{suffix}"
        with bed.admin_client("dev") as client:
            for ns in (ns_kubectl, ns_ours):
                client.post("/api/v1/namespaces", json=common.namespace_object(ns))
        name = f"bench-{suffix}"
        gitops.create_app(_application(name, repo_url, dev.server, ns_ours))
        gitops.wait_app(name, lambda a: _compared(a, total), timeout=120, what="first compare")

        apply_s, _ = common.kubectl(
            dev.kubeconfig, "apply", "--server-side", "-n", ns_kubectl, "-f", str(manifest_dir)
        )
        wait_s, _ = common.kubectl(
            dev.kubeconfig, "wait", "-n", ns_kubectl, "--for=condition=Available",
            "deployment", "--all", "--timeout=300s",
        )  # fmt: skip
        ours = common.tidegate_cli(
            "app", "sync", name, f"--kubeconfig={mgmt_kubeconfig}", "-n", gitops.namespace,
            "--timeout=600",
        )  # fmt: skip
        app = gitops.get_app(name)
        state = (app.get("status") or {}).get("operationState") or {}
        results = ((state.get("syncResult") or {}).get("resources")) or []
        assert state.get("phase") == "Succeeded", state.get("message")
        ours_results = [r for r in results if r.get("namespace") == ns_ours]
        assert len(ours_results) == total, f"{len(ours_results)} results, expected {total}"
        extra = [r for r in results if r.get("namespace") != ns_ours]
        if extra and number == 1:
            print(f"  (also in the sync result: {extra})")
        kubectl_s.append(apply_s)
        kubectl_wait_s.append(apply_s + wait_s)
        ours_s.append(ours)
        print(
            f"round {number}: kubectl apply --server-side {apply_s:.2f} s "
            f"(+ wait Available {apply_s + wait_s:.2f} s), tidegate app sync {ours:.2f} s "
            f"-> {ours / apply_s:.2f}x kubectl apply, {ours / (apply_s + wait_s):.2f}x "
            "apply+wait",
            flush=True,
        )
        if number < args.rounds:  # the last app stays for the start-up figures
            with gitops.mgmt() as client:
                client.delete(gitops.app_path(name))
        _delete_namespaces(bed, [ns_kubectl, ns_ours])

    ratios = [o / k for o, k in zip(ours_s, kubectl_s, strict=True)]
    ratios_wait = [o / k for o, k in zip(ours_s, kubectl_wait_s, strict=True)]
    common.header(f"sync of {total} new objects on dev, {args.rounds} rounds")
    common.row("kubectl apply --server-side -f (baseline)", common.spread(kubectl_s, digits=2))
    common.row("kubectl apply + wait Available", common.spread(kubectl_wait_s, digits=2))
    common.row("tidegate app sync (CLI, follows to end)", common.spread(ours_s, digits=2))
    med = statistics.median(ratios)
    common.row(
        "ratio tidegate / kubectl apply",
        f"{common.spread(ratios, 'x', 2)} - target <= 0.9x: "
        f"{'meets' if med <= RATIO_TARGET else 'MISSES'} (median)",
    )
    common.row("ratio tidegate / kubectl apply+wait", common.spread(ratios_wait, "x", 2))


def _startup(args: argparse.Namespace, bed: handle.TestBed, control: str, app: str) -> None:
    mgmt_kubeconfig = str(bed.clusters["mgmt"].kubeconfig)
    common.tidegate_cli("--help")  # warm the page cache and bytecode
    helps = [common.tidegate_cli("--help") for _ in range(args.startup_runs)]
    gets = [
        common.tidegate_cli("app", "get", app, f"--kubeconfig={mgmt_kubeconfig}", "-n", control)
        for _ in range(args.startup_runs)
    ]
    common.header(f"CLI start-up, {args.startup_runs} runs each")
    common.row("tidegate --help", common.spread(helps))
    common.row(
        "  vs target 0.3 s",
        f"{statistics.median(helps) / HELP_TARGET:.2f}x of target - "
        f"{common.verdict(statistics.median(helps), HELP_TARGET)} (median)",
    )
    common.row("tidegate app get NAME", common.spread(gets))
    common.row(
        "  vs target 0.5 s",
        f"{statistics.median(gets) / GET_TARGET:.2f}x of target - "
        f"{common.verdict(statistics.median(gets), GET_TARGET)} (median)",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--objects", type=int, default=100, help="objects per kind")
    parser.add_argument("--startup-runs", type=int, default=10)
    args = parser.parse_args()
    started = time.perf_counter()
    run(args)
    print(f"\n(total wall {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
