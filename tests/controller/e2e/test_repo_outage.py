"""A hung repository on the real test bed: its app keeps its last target and says why, the app on
a healthy repository syncs a new commit meanwhile, and both recover when the server answers.

The hung repository sits behind a loopback FaultProxy in front of the bed's git server.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tidegate.testenv import scenario
from tidegate.testenv.faultproxy import FaultProxy, Mode

APP_RESYNC = 3


def CONTROLLER_ARGS(workdir: Path) -> list[str]:
    return ["--git-request-timeout=3"]


CM = """apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  mode: {mode}
"""


@pytest.fixture
def proxy(gitops: scenario.GitOps) -> Iterator[FaultProxy]:
    assert gitops.bed.git is not None
    parts = urlsplit(gitops.bed.git.info.http_base)
    assert parts.hostname and parts.port
    with FaultProxy(Mode.FORWARD, upstream=(parts.hostname, parts.port)) as fault:
        yield fault


def _condition(app: dict[str, Any], kind: str) -> str | None:
    for cond in (app.get("status") or {}).get("conditions") or []:
        if cond.get("type") == kind:
            return str(cond.get("message") or "")
    return None


def test_a_hung_repository_keeps_its_last_target_and_others_sync_on_time(
    gitops: scenario.GitOps, proxy: FaultProxy
) -> None:
    assert gitops.bed.git is not None
    server = gitops.bed.clusters["dev"].server
    suffix = secrets.token_hex(3)
    healthy_repo, healthy_work = gitops.repo({"app/cm.yaml": CM.format(mode="one")})
    flaky_repo, flaky_work = gitops.repo({"app/cm.yaml": CM.format(mode="one")})
    flaky_url = proxy.url(urlsplit(flaky_repo.http_url).path)
    scenario.apply_manifests(
        gitops.bed,
        "mgmt",
        [
            scenario.repo_secret(
                gitops.bed.git, flaky_url, namespace=gitops.namespace, name=f"flaky-{suffix}"
            )
        ],
    )
    names = {"healthy": f"healthy-{suffix}", "flaky": f"flaky-{suffix}"}
    for role, url in (("healthy", healthy_repo.http_url), ("flaky", flaky_url)):
        gitops.create_app(
            scenario.application(
                names[role], repo_url=url, path="app", server=server, namespace=names[role]
            )
        )
    first = flaky_work.head()
    for role in names:
        gitops.wait_app(names[role], scenario.synced_healthy, timeout=90, what="first sync")

    proxy.mode = Mode.HANG
    flaky_work.commit({"app/cm.yaml": CM.format(mode="unseen")}, "not seen while hung")
    # Drift on the hung repository's app: self-heal restores the last fetched target.
    scenario.kubectl(
        gitops.bed, "dev", "-n", names["flaky"], "patch", "configmap", "settings",
        "--type=merge", "-p", '{"data":{"mode":"drifted"}}',
    )  # fmt: skip
    hung = gitops.wait_app(
        names["flaky"],
        lambda a: bool(_condition(a, "RepoUnreachableWarning")),
        timeout=60,
        what="RepoUnreachableWarning",
    )
    message = _condition(hung, "RepoUnreachableWarning") or ""
    assert "has not answered for" in message, message
    assert urlsplit(flaky_url).path.rstrip("/") in message, message
    assert first[:12] in message, message

    # The healthy repository's new commit syncs while the other one hangs.
    second = healthy_work.commit({"app/cm.yaml": CM.format(mode="two")}, "second")
    gitops.wait_app(
        names["healthy"],
        lambda a: scenario.synced_healthy(a, second),
        timeout=60,
        what="the healthy repository's new commit",
    )
    assert (
        scenario.kubectl(
            gitops.bed,
            "dev",
            "-n",
            names["healthy"],
            "get",
            "configmap",
            "settings",
            "-o",
            "jsonpath={.data.mode}",
        )
        == "two"
    )

    def healed() -> bool:
        mode = scenario.kubectl(
            gitops.bed, "dev", "-n", names["flaky"], "get", "configmap", "settings",
            "-o", "jsonpath={.data.mode}",
        )  # fmt: skip
        return mode == "one"

    gitops.wait_app(names["flaky"], lambda a: healed(), timeout=60, what="self-heal while hung")
    app = gitops.get_app(names["flaky"])
    assert app["status"]["sync"]["revision"] == first
    assert _condition(app, "RepoUnreachableWarning")

    proxy.mode = Mode.FORWARD
    latest = flaky_work.head()
    recovered = gitops.wait_app(
        names["flaky"],
        lambda a: (
            scenario.synced_healthy(a, latest) and _condition(a, "RepoUnreachableWarning") is None
        ),
        timeout=90,
        what="recovery",
    )
    assert recovered["status"]["sync"]["revision"] == latest
