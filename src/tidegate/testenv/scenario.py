"""Set a management cluster up the way a platform team would: Tidegate installed in a control
namespace, destination clusters registered as cluster Secrets, the git server as a repository.

Shared by the end-to-end tests, the benchmarks and the demo, so all three exercise the same
declarative objects a user would write.
"""

from __future__ import annotations

import base64
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tidegate.model import constants, errors
from tidegate.testenv import gitrepos, handle, procs


def cluster_secret(
    bed: handle.TestBed,
    cluster: str,
    *,
    namespace: str,
    labels: Mapping[str, str] | None = None,
    name: str | None = None,
) -> dict[str, Any]:
    """An Argo CD cluster Secret for a test-bed cluster (admin client certificate, CA pinned)."""
    import json

    pki = bed.directory / "pki"

    def b64(path: Path) -> str:
        return base64.b64encode(path.read_bytes()).decode()

    config = {
        "tlsClientConfig": {
            "caData": b64(pki / "ca.crt"),
            "certData": b64(pki / "admin.crt"),
            "keyData": b64(pki / "admin.key"),
            "insecure": False,
        }
    }
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": f"cluster-{name or cluster}",
            "namespace": namespace,
            "labels": {
                **(labels or {}),
                constants.LABEL_SECRET_TYPE: constants.SECRET_TYPE_CLUSTER,
            },
        },
        "stringData": {
            "name": name or cluster,
            "server": bed.clusters[cluster].server,
            "config": json.dumps(config),
        },
    }


def repo_secret(git: handle.GitRemote, url: str, *, namespace: str, name: str) -> dict[str, Any]:
    """An Argo CD repository Secret with the git server's HTTP credentials."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {constants.LABEL_SECRET_TYPE: constants.SECRET_TYPE_REPOSITORY},
        },
        "stringData": {
            "type": "git",
            "url": url,
            "username": git.username,
            "password": git.password,
        },
    }


def repo_creds_secret(git: handle.GitRemote, *, namespace: str) -> dict[str, Any]:
    """A credential template covering every repository of the git server."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": "git-server-creds",
            "namespace": namespace,
            "labels": {constants.LABEL_SECRET_TYPE: constants.SECRET_TYPE_REPO_CREDS},
        },
        "stringData": {
            "type": "git",
            "url": git.info.http_base + "/",
            "username": git.username,
            "password": git.password,
        },
    }


def apply_manifests(bed: handle.TestBed, cluster: str, objs: Sequence[Mapping[str, Any]]) -> None:
    """Server-side apply ``objs`` to ``cluster`` with kubectl (as a user would)."""
    import yaml

    kubectl = Path(sys.executable).with_name("kubectl")
    if not kubectl.exists():
        kubectl = Path("kubectl")
    docs = yaml.safe_dump_all([dict(o) for o in objs], sort_keys=False)
    result = subprocess.run(
        [
            str(kubectl),
            f"--kubeconfig={bed.clusters[cluster].kubeconfig}",
            "apply",
            "--server-side",
            "--force-conflicts",
            "--field-manager=tidegate-setup",
            "-f",
            "-",
        ],
        input=docs,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        raise errors.TestEnvError(f"kubectl apply on {cluster} failed: {result.stderr.strip()}")


def install(bed: handle.TestBed, namespace: str) -> None:
    """Tidegate's CRDs, control namespace, RBAC and the default AppProject on ``mgmt``."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "tidegate",
            "install",
            f"--kubeconfig={bed.clusters['mgmt'].kubeconfig}",
            f"--namespace={namespace}",
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    if result.returncode != 0:
        raise errors.TestEnvError(f"tidegate install failed: {result.stderr.strip()}")


def control_namespace(
    bed: handle.TestBed,
    namespace: str,
    clusters: Mapping[str, Mapping[str, str]] | Sequence[str] = ("dev",),
) -> None:
    """Tidegate installed in ``namespace`` on ``mgmt`` (:func:`install`), the test-bed
    ``clusters`` registered there (a mapping: each cluster's Secret labels) and the git server's
    credential template: what a controller of ``namespace`` needs to sync from the bed's git."""
    assert bed.git is not None, "the test bed has no git server"
    install(bed, namespace)
    labels = clusters if isinstance(clusters, Mapping) else {c: {} for c in clusters}
    apply_manifests(
        bed,
        "mgmt",
        [
            *(cluster_secret(bed, c, namespace=namespace, labels=labels[c]) for c in labels),
            repo_creds_secret(bed.git, namespace=namespace),
        ],
    )


class ControllerProcess:
    """``tidegate controller`` as a child process (it can be killed, as in production).

    ``installation_id`` (``--installation-id``) defaults to the control namespace, so controllers
    of different control namespaces sharing the test bed's clusters never track, compare or
    prune each other's objects, even for same-named apps; ``""`` runs without one.

    ``sealed_secrets`` is off unless asked for (``--no-sealed-secrets``): the fleet-wide
    unsealer watches every namespace of every registered cluster, so controllers of other tests
    sharing the bed would otherwise write statuses onto a Sealed Secrets test's objects.

    ``program`` is what runs ``tidegate`` (default: this interpreter); the image tests give a
    ``podman run`` of the image.
    """

    def __init__(
        self,
        bed: handle.TestBed,
        namespace: str,
        *,
        log: Path,
        app_resync: float = 30,
        webhook_port: int | None = None,
        extra: Sequence[str] = (),
        installation_id: str | None = None,
        sealed_secrets: bool = False,
        program: Sequence[str] = (sys.executable, "-m", "tidegate"),
    ) -> None:
        self.bed = bed
        self.program = list(program)
        self.sealed_secrets = sealed_secrets
        self.namespace = namespace
        self.installation_id = namespace if installation_id is None else installation_id
        self.log = log
        self.app_resync = app_resync
        self.webhook_port = webhook_port
        self.extra = list(extra)
        self.pid: int | None = None

    def start(self) -> ControllerProcess:
        cmd = [
            *self.program,
            "controller",
            f"--kubeconfig={self.bed.clusters['mgmt'].kubeconfig}",
            f"--namespace={self.namespace}",
            f"--app-resync={self.app_resync}",
            "--loglevel=info",
            f"--installation-id={self.installation_id}",
            "--sealed-secrets" if self.sealed_secrets else "--no-sealed-secrets",
            *self.extra,
        ]
        if self.webhook_port is not None:
            cmd.append(f"--webhook-port={self.webhook_port}")
        self.pid = procs.spawn(cmd, log=self.log, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        return self

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.pid is None:
            return
        if sig == signal.SIGKILL:  # no SIGTERM first: the process gets no chance to tidy up
            procs.signal_group(self.pid, signal.SIGKILL)
            procs.wait_gone([self.pid], timeout=5)
        else:
            procs.stop([self.pid], marker=None, timeout=10)
        self.pid = None

    def stop(self) -> None:
        self.kill(signal.SIGTERM)

    def alive(self) -> bool:
        return self.pid is not None and procs.alive(self.pid)

    def wait_log(self, text: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.log.exists() and text in self.log.read_text(errors="replace"):
                return
            if not self.alive():
                raise errors.TestEnvError(f"controller exited:\n{procs.tail(self.log, 30)}")
            time.sleep(0.1)
        raise errors.TestEnvError(f"controller log never said {text!r}:\n{procs.tail(self.log)}")


@dataclass
class GitOps:
    bed: handle.TestBed
    namespace: str
    controller: ControllerProcess
    workdir: Path
    webhook_port: int
    apps_created: list[str] = field(default_factory=list)

    def mgmt(self) -> httpx.Client:
        return self.bed.admin_client("mgmt")

    def app_path(self, name: str = "", *, namespace: str | None = None) -> str:
        """An Application's URL (``namespace``: another application namespace)."""
        base = f"/apis/argoproj.io/v1alpha1/namespaces/{namespace or self.namespace}/applications"
        return f"{base}/{name}" if name else base

    def create_app(self, app: dict[str, Any], *, namespace: str | None = None) -> None:
        app.setdefault("metadata", {})["namespace"] = namespace or self.namespace
        with self.mgmt() as client:
            resp = client.post(self.app_path(namespace=namespace), json=app)
            assert resp.status_code == 201, resp.text
        self.apps_created.append(app["metadata"]["name"])

    def get_app(self, name: str, *, namespace: str | None = None) -> dict[str, Any]:
        with self.mgmt() as client:
            resp = client.get(self.app_path(name, namespace=namespace))
            resp.raise_for_status()
            data: dict[str, Any] = resp.json()
            return data

    def patch_app(
        self, name: str, patch: dict[str, Any], *, namespace: str | None = None
    ) -> dict[str, Any]:
        with self.mgmt() as client:
            resp = client.patch(
                self.app_path(name, namespace=namespace),
                json=patch,
                headers={"Content-Type": "application/merge-patch+json"},
            )
            resp.raise_for_status()
            data: dict[str, Any] = resp.json()
            return data

    def wait_app(
        self,
        name: str,
        check: Callable[[dict[str, Any]], bool],
        *,
        timeout: float = 60,
        what: str = "",
        namespace: str | None = None,
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        app: dict[str, Any] = {}
        while time.monotonic() < deadline:
            app = self.get_app(name, namespace=namespace)
            if check(app):
                return app
            time.sleep(0.2)
        status = app.get("status", {})
        raise AssertionError(
            f"timed out waiting for {what or 'condition'} on app {name}: sync="
            f"{status.get('sync')}, health={status.get('health')}, conditions="
            f"{status.get('conditions')}, operationState={status.get('operationState')}\n"
            f"controller log:\n{procs.tail(self.controller.log, 25)}"
        )

    def repo(self, files: dict[str, str]) -> tuple[gitrepos.RepoInfo, gitrepos.WorkingCopy]:
        assert self.bed.git is not None
        src = self.workdir / f"src-{secrets.token_hex(3)}"
        for path, content in files.items():
            target = src / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content)
        repo = self.bed.git.create_repo(from_dir=src)
        work = self.bed.git.working_copy(repo, self.workdir / f"wc-{secrets.token_hex(3)}")
        return repo, work


def synced_healthy(app: dict[str, Any], revision: str | None = None) -> bool:
    status = app.get("status") or {}
    ok = (status.get("sync") or {}).get("status") == "Synced" and (status.get("health") or {}).get(
        "status"
    ) == "Healthy"
    if revision is not None:
        ok = ok and (status.get("sync") or {}).get("revision") == revision
    return ok and not app.get("operation")


def application(
    name: str,
    *,
    repo_url: str,
    path: str,
    server: str,
    namespace: str,
    automated: bool = True,
    self_heal: bool = True,
    prune: bool = True,
    project: str = "default",
    revision: str = "main",
    sync_options: Sequence[str] = ("CreateNamespace=true",),
) -> dict[str, Any]:
    """An Application manifest as a user writes it."""
    spec: dict[str, Any] = {
        "project": project,
        "source": {"repoURL": repo_url, "targetRevision": revision, "path": path},
        "destination": {"server": server, "namespace": namespace},
        "syncPolicy": {"syncOptions": list(sync_options)},
    }
    if automated:
        spec["syncPolicy"]["automated"] = {"prune": prune, "selfHeal": self_heal}
    return {
        "apiVersion": constants.API_VERSION,
        "kind": "Application",
        "metadata": {"name": name},
        "spec": spec,
    }


def kubectl(bed: handle.TestBed, cluster: str, *args: str, check: bool = True) -> str:
    """Run kubectl against ``cluster``; its stdout (raises on failure when ``check``)."""
    binary = Path(sys.executable).with_name("kubectl")
    result = subprocess.run(
        [
            str(binary if binary.exists() else "kubectl"),
            f"--kubeconfig={bed.clusters[cluster].kubeconfig}",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if check and result.returncode != 0:
        raise errors.TestEnvError(f"kubectl {' '.join(args)}: {result.stderr.strip()}")
    return result.stdout if result.returncode == 0 else result.stderr
