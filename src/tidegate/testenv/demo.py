"""The live demo: the test bed's clusters, a seeded configuration repository, Tidegate installed,
clusters registered by environment, ApplicationSets applied and a promotion pipeline for the
guestbook image (:mod:`demo_pipeline`); the controller runs in-process."""

from __future__ import annotations

import dataclasses
import secrets as secrets_mod
import time
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

from tidegate.model import constants, errors
from tidegate.testenv import demo_pipeline, handle, scenario, serverproc, testbed

NAMESPACE = constants.DEFAULT_CONTROL_NAMESPACE
ENVIRONMENTS = {"dev": "dev", "staging": "staging", "prod": "production"}
REPO_NAME = "config"


def example_dir() -> Path:
    return Path(str(resources.files("tidegate.testenv") / "examples" / "config"))


def seed_appset(repo_url: str) -> dict[str, Any]:
    """The seed ApplicationSet (clusters labelled environment=production get myapp), with the
    demo's repository and automated sync so that the generated app deploys by itself."""
    return {
        "apiVersion": constants.API_VERSION,
        "kind": "ApplicationSet",
        "metadata": {"name": "myapp", "namespace": NAMESPACE},
        "spec": {
            "generators": [
                {"clusters": {"selector": {"matchLabels": {"environment": "production"}}}}
            ],
            "template": {
                "metadata": {"name": "{{name}}-myapp"},
                "spec": {
                    "project": "default",
                    "source": {"repoURL": repo_url, "targetRevision": "main", "path": "apps/myapp"},
                    "destination": {"server": "{{server}}", "namespace": "production"},
                    "syncPolicy": {
                        "automated": {"prune": True, "selfHeal": True},
                        "syncOptions": ["CreateNamespace=true"],
                    },
                },
            },
        },
    }


def guestbook_appset(repo_url: str) -> dict[str, Any]:
    """One guestbook per environment from its Kustomize overlay, rolled out dev -> staging ->
    production (RollingSync)."""
    steps = [
        {"matchExpressions": [{"key": "environment", "operator": "In", "values": [env]}]}
        for env in ("dev", "staging", "production")
    ]
    return {
        "apiVersion": constants.API_VERSION,
        "kind": "ApplicationSet",
        "metadata": {"name": "guestbook", "namespace": NAMESPACE},
        "spec": {
            "generators": [
                {
                    "clusters": {
                        "selector": {
                            "matchExpressions": [{"key": "environment", "operator": "Exists"}]
                        }
                    }
                }
            ],
            "strategy": {"type": "RollingSync", "rollingSync": {"steps": steps}},
            "template": {
                "metadata": {
                    "name": "{{name}}-guestbook",
                    "labels": {"environment": "{{metadata.labels.environment}}"},
                    "annotations": demo_pipeline.authorized_annotation(),
                },
                "spec": {
                    "project": "default",
                    "source": {
                        "repoURL": repo_url,
                        "targetRevision": "main",
                        "path": "apps/guestbook/overlays/{{metadata.labels.environment}}",
                    },
                    "destination": {"server": "{{server}}", "namespace": "guestbook"},
                    "syncPolicy": {
                        "automated": {"prune": True, "selfHeal": True},
                        "syncOptions": ["CreateNamespace=true"],
                    },
                },
            },
        },
    }


@dataclasses.dataclass(frozen=True)
class Demo:
    bed: handle.TestBed
    repo_http_url: str
    repo_ssh_url: str | None


def prepare(directory: Path, *, say: Callable[[str], None], build_progress: Any = None) -> Demo:
    """Everything but the controller: idempotent, so a second run reuses what is there."""
    testbed.up(
        directory,
        testbed.DEFAULT_CLUSTERS,
        registry=True,
        progress=say,
        build_progress=build_progress,
    )
    bed = handle.TestBed.open(directory)
    if bed.git is None:
        raise errors.TestEnvError("the demo needs the test bed's git server")
    say("seeding the configuration repository")
    repo = testbed.repo_info(directory, REPO_NAME)
    if not repo.path.exists():  # a second run reuses the repository it seeded
        repo = bed.git.create_repo(REPO_NAME, from_dir=example_dir())
    say("installing Tidegate's CRDs on mgmt")
    scenario.install(bed, NAMESPACE)
    say("registering dev, staging and prod")
    secrets = [
        scenario.cluster_secret(bed, name, namespace=NAMESPACE, labels={"environment": env})
        for name, env in ENVIRONMENTS.items()
    ]
    secrets.append(scenario.repo_creds_secret(bed.git, namespace=NAMESPACE))
    scenario.apply_manifests(bed, "mgmt", secrets)
    say("applying the ApplicationSets")
    scenario.apply_manifests(
        bed, "mgmt", [seed_appset(repo.http_url), guestbook_appset(repo.http_url)]
    )
    say("setting up the promotion pipeline (project 'guestbook': dev -> staging -> production)")
    demo_pipeline.apply(bed, repo.http_url, NAMESPACE, secrets_mod.token_hex(16))
    return Demo(bed, repo.http_url, repo.ssh_url)


def start_server(demo: Demo, directory: Path, *, port: int) -> serverproc.ServerProcess:
    """``tidegate server`` for the demo's control namespace: plain HTTP on 127.0.0.1 (a local
    demo), its log in ``directory/server.log``. The admin password is the generated one."""
    return serverproc.ServerProcess(
        demo.bed, NAMESPACE, log=directory / "server.log", insecure=True, port=port
    ).start()


def expected_apps() -> list[str]:
    return ["prod-myapp", *(f"{name}-guestbook" for name in ENVIRONMENTS)]


def apps_state(bed: handle.TestBed) -> dict[str, tuple[str, str]]:
    with bed.admin_client("mgmt") as client:
        resp = client.get(f"/apis/argoproj.io/v1alpha1/namespaces/{NAMESPACE}/applications")
        if resp.status_code != 200:
            return {}
        out = {}
        for app in resp.json().get("items", []):
            status = app.get("status") or {}
            out[app["metadata"]["name"]] = (
                str((status.get("sync") or {}).get("status") or ""),
                str((status.get("health") or {}).get("status") or ""),
            )
        return out


def all_healthy(bed: handle.TestBed) -> bool:
    state = apps_state(bed)
    return all(state.get(name) == ("Synced", "Healthy") for name in expected_apps())


def wait_healthy(bed: handle.TestBed, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all_healthy(bed):
            return True
        time.sleep(0.5)
    return False


__all__ = ["Demo", "all_healthy", "apps_state", "expected_apps", "prepare", "wait_healthy"]
