"""Benchmark of the promotion pipeline (issue 15): push -> dev, one promotion, prod rollback.

Set-up (not timed): a test bed with mgmt+dev and its registry, Tidegate installed in a fresh
control namespace, ``tidegate controller`` as a process with its webhook endpoint, and the
pipeline of ``tidegate.testenv.pipeline`` (Warehouse on a registry image, dev -> staging ->
prod, auto-promotion to dev and staging, a generic webhook receiver).

Each round pushes a new tag to the registry and POSTs the receiver, then times:

- registry push -> dev Synced and Healthy on the new tag (Freight created, promotion run:
  clone, set image, commit, push, sync, healthy). Target < 15 s.
- one stage promotion, from the Promotion's ``startedAt`` to ``finishedAt`` (dev's and
  staging's of every round). Target p50 < 5 s.

Then prod is promoted to the newest Freight and rolled back to the one before: the time from
``tidegate promote`` to prod Synced and Healthy on the earlier tag. Target < 30 s (the seed
promises two minutes).

    .venv/bin/python bench/promotion_bench.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import secrets
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common

from tidegate.promotion import availability
from tidegate.testenv import pipeline, procs, registry, scenario


def _seconds(status: dict[str, object]) -> float | None:
    start = availability.parse_time(status.get("startedAt"))
    end = availability.parse_time(status.get("finishedAt"))
    return (end - start).total_seconds() if start and end else None


def run(args: argparse.Namespace) -> None:
    with common.test_bed(["mgmt", "dev"]) as bed, tempfile.TemporaryDirectory() as tmp:
        assert bed.git is not None
        workdir = Path(tmp)
        control = f"tg-promo-{secrets.token_hex(3)}"
        scenario.control_namespace(bed, control)
        port = procs.free_port()
        controller = scenario.ControllerProcess(
            bed,
            control,
            log=workdir / "controller.log",
            app_resync=180,
            webhook_port=port,
            extra=[f"--promotions-shard={control}"],
        ).start()
        try:
            controller.wait_log("controller ready", timeout=60)
            gitops = scenario.GitOps(bed, control, controller, workdir, port)
            p = pipeline.setup(gitops, shard=control)
            _measure(args, p, port)
            pipeline.teardown(p)
        finally:
            controller.stop()
            with bed.admin_client("mgmt") as client:
                client.delete(f"/api/v1/namespaces/{control}")


def _receiver(p: pipeline.Pipeline) -> str:
    def path() -> str:
        config = p.kargo("GET", p.ns_path("projectconfigs", p.project))
        published = (config.get("status") or {}).get("webhookReceivers") or [{}]
        return str(published[0].get("path") or "")

    return str(p.wait("the webhook receiver", path))


def _measure(args: argparse.Namespace, p: pipeline.Pipeline, port: int) -> None:
    url = f"http://127.0.0.1:{port}{_receiver(p)}"
    app = f"{p.project}-dev"
    to_dev: list[float] = []
    for n in range(args.rounds):
        tag = f"1.0.{n}"
        started = time.perf_counter()
        registry.push_image(p.reg, p.image.split("/", 1)[1], tag)
        httpx.post(url, json={"repoURL": p.image}, timeout=10).raise_for_status()

        def on_tag(tag: str = tag) -> bool:
            # dev's history gets the Freight when its promotion succeeded, which is when
            # argocd-update saw the app Synced and Healthy at the promotion's commit.
            freight = p.freight_for(tag)
            return bool(freight) and p.current("dev") == freight["metadata"]["name"]  # type: ignore[index]

        p.wait(f"dev on {tag}", on_tag, timeout=120)
        assert scenario.synced_healthy(p.gitops.get_app(app))
        to_dev.append(time.perf_counter() - started)
        print(f"  round {n + 1}: push -> dev Synced and Healthy on {tag}: {to_dev[-1]:.2f} s")
        p.wait(f"staging on {tag}", lambda: p.overlay_tag("staging") == tag, timeout=120)  # noqa: B023
    promos = p.kargo("GET", p.ns_path("promotions"))["items"]
    durations = [d for d in (_seconds(x.get("status") or {}) for x in promos) if d is not None]
    newest = p.freight_for(f"1.0.{args.rounds - 1}")
    earlier = p.freight_for(f"1.0.{args.rounds - 2}")
    assert newest and earlier
    kube = p.kubeconfig
    for freight in (newest, earlier):
        name = freight["metadata"]["name"]
        started = time.perf_counter()
        result = pipeline.tidegate(kube, "promote", f"--project={p.project}", "--stage=prod",
                                   f"--freight={name}")  # fmt: skip
        assert result.returncode == 0, result.stderr
        p.wait("prod on the freight", lambda: p.current("prod") == name, timeout=120)  # noqa: B023
        elapsed = time.perf_counter() - started
    rollback = elapsed
    common.header("Promotion pipeline (2 shared cores; the test bed's registry and git server)")
    common.row("registry push -> dev Synced+Healthy", common.spread(to_dev))
    common.row("  target < 15 s (max)", common.verdict(max(to_dev), 15.0))
    common.row("one stage promotion (startedAt..finishedAt)", common.spread(durations))
    p50 = common.percentile(durations, 0.5)
    common.row("  target p50 < 5 s", common.verdict(p50, 5.0))
    common.row("prod rollback to the previous Freight", f"{rollback:.2f} s")
    common.row("  target < 30 s (seed: 120 s)", common.verdict(rollback, 30.0))
    common.row("  ratio against the seed's 120 s", f"{rollback / 120:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="tags pushed (at least 2)")
    args = parser.parse_args()
    if args.rounds < 2:
        parser.error("--rounds must be at least 2")
    run(args)


if __name__ == "__main__":
    main()
