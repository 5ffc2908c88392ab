"""AppProject signatureKeys with the real controller, gpg and git server: a commit signed by a
listed key syncs; an unsigned commit, or one signed by a key the project does not list, is a
ComparisonError naming the revision, the key (or "unsigned") and the project, and nothing new is
applied, neither by automated sync nor by a manual `tidegate app sync`; live objects stay."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from tidegate.model import constants
from tidegate.testenv import gpgkeys, scenario

CONFIGMAP = """apiVersion: v1
kind: ConfigMap
metadata:
  name: {name}
data: {{release: "{release}"}}
"""


@pytest.fixture(scope="module")
def signer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[gpgkeys.SigningKey]:
    with gpgkeys.signing_key(tmp_path_factory.mktemp("signer") / "gnupg") as key:
        yield key


@pytest.fixture(scope="module")
def other(tmp_path_factory: pytest.TempPathFactory) -> Iterator[gpgkeys.SigningKey]:
    home = tmp_path_factory.mktemp("other") / "gnupg"
    with gpgkeys.signing_key(home, user_id="Other <other@tidegate.invalid>") as key:
        yield key


def _condition(app: dict[str, Any], kind: str) -> str:
    for cond in (app.get("status") or {}).get("conditions") or []:
        if cond.get("type") == kind:
            return str(cond.get("message"))
    return ""


def _refusal(gitops: scenario.GitOps, app: str, commit: str, what: str) -> str:
    """The ComparisonError message once it names ``commit``."""
    found = gitops.wait_app(
        app,
        lambda a: commit[:12] in _condition(a, "ComparisonError"),
        timeout=60,
        what=f"a ComparisonError for {what}",
    )
    return _condition(found, "ComparisonError")


def _release(gitops: scenario.GitOps, ns: str, name: str) -> str:
    out = scenario.kubectl(
        gitops.bed,
        "dev",
        "-n",
        ns,
        "get",
        "configmap",
        name,
        "-o",
        "jsonpath={.data.release}",
        check=False,
    )
    return "absent" if "NotFound" in out else out


@pytest.fixture(scope="module")
def signed_project(
    gitops: scenario.GitOps, signer: gpgkeys.SigningKey, other: gpgkeys.SigningKey
) -> str:
    """Project ``signed`` lists ``signer``; argocd-gpg-keys-cm knows ``signer`` and ``other``."""
    keys_cm = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "argocd-gpg-keys-cm", "namespace": gitops.namespace},
        "data": {signer.key_id: signer.armored, other.key_id: other.armored},
    }
    project = {
        "apiVersion": constants.API_VERSION,
        "kind": "AppProject",
        "metadata": {"name": "signed", "namespace": gitops.namespace},
        "spec": {
            "sourceRepos": ["*"],
            "destinations": [{"server": "*", "namespace": "*"}],
            "clusterResourceWhitelist": [{"group": "*", "kind": "*"}],
            "signatureKeys": [{"keyID": signer.key_id}],
        },
    }
    scenario.apply_manifests(gitops.bed, "mgmt", [keys_cm, project])
    return "signed"


def test_every_source_of_a_multi_source_app_is_verified(
    gitops: scenario.GitOps, signer: gpgkeys.SigningKey, signed_project: str
) -> None:
    ns = f"multi-{gitops.namespace}"
    first, first_work = gitops.repo({"a/cm.yaml": CONFIGMAP.format(name="a", release="1")})
    first_work.commit({}, "signed", signing=signer)
    second, second_work = gitops.repo({"b/cm.yaml": CONFIGMAP.format(name="b", release="1")})
    app = scenario.application(
        "multi-app",
        repo_url=first.http_url,
        path="a",
        server=gitops.bed.clusters["dev"].server,
        namespace=ns,
        project=signed_project,
    )
    app["spec"].pop("source")
    app["spec"]["sources"] = [
        {"repoURL": first.http_url, "path": "a", "targetRevision": "main"},
        {"repoURL": second.http_url, "path": "b", "targetRevision": "main"},
    ]
    gitops.create_app(app)
    unsigned = second_work.head()
    found = gitops.wait_app(
        "multi-app",
        lambda a: bool(_condition(a, "ComparisonError")),
        timeout=60,
        what="a ComparisonError for the unsigned second source",
    )
    message = _condition(found, "ComparisonError")
    assert f"{second.http_url}: revision main ({unsigned[:12]}) is unsigned" in message, message
    assert f"{first.http_url}:" not in message, message  # signed by the listed key: fine
    assert _release(gitops, ns, "a") == "absent" and _release(gitops, ns, "b") == "absent"
    # Once the second source is signed too, the app syncs.
    signed = second_work.commit(
        {"b/cm.yaml": CONFIGMAP.format(name="b", release="2")}, "signed", signing=signer
    )

    def synced(app: dict[str, Any]) -> bool:
        revisions = ((app.get("status") or {}).get("sync") or {}).get("revisions") or []
        return scenario.synced_healthy(app) and revisions[-1:] == [signed]

    gitops.wait_app("multi-app", synced, timeout=60, what="both signed sources to sync")
    assert _release(gitops, ns, "a") == "1" and _release(gitops, ns, "b") == "2"


def test_only_commits_signed_by_a_listed_key_sync(
    gitops: scenario.GitOps,
    signer: gpgkeys.SigningKey,
    other: gpgkeys.SigningKey,
    signed_project: str,
) -> None:
    ns = f"signed-{gitops.namespace}"
    repo, work = gitops.repo({"app/cm.yaml": CONFIGMAP.format(name="web", release="0")})
    signed = work.commit(
        {"app/cm.yaml": CONFIGMAP.format(name="web", release="1")}, "signed", signing=signer
    )
    gitops.create_app(
        scenario.application(
            "signed-app",
            repo_url=repo.http_url,
            path="app",
            server=gitops.bed.clusters["dev"].server,
            namespace=ns,
            project=signed_project,
        )
    )
    gitops.wait_app(
        "signed-app",
        lambda a: scenario.synced_healthy(a, signed),
        timeout=90,
        what="the signed commit to sync",
    )
    assert _release(gitops, ns, "web") == "1"
    history = gitops.get_app("signed-app")["status"]["history"]

    # An unsigned commit on top: a ComparisonError, and nothing of it reaches the cluster.
    unsigned = work.commit(
        {
            "app/cm.yaml": CONFIGMAP.format(name="web", release="2"),
            "app/extra.yaml": CONFIGMAP.format(name="extra", release="2"),
        },
        "unsigned",
    )
    message = _refusal(gitops, "signed-app", unsigned, "the unsigned commit")
    assert "is unsigned" in message and "project 'signed'" in message, message
    assert signer.key_id in message, message
    assert _release(gitops, ns, "web") == "1"
    assert _release(gitops, ns, "extra") == "absent"

    # A manual sync fails before applying anything.
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "tidegate",
            "app",
            "sync",
            "signed-app",
            "--timeout",
            "60",
            f"--kubeconfig={gitops.bed.clusters['mgmt'].kubeconfig}",
            f"--namespace={gitops.namespace}",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode != 0, result.stdout + result.stderr
    app = gitops.get_app("signed-app")
    state = app["status"]["operationState"]
    assert state["phase"] == "Error", state
    assert unsigned[:12] in state["message"] and "unsigned" in state["message"], state
    assert app["status"]["history"] == history  # no sync recorded
    assert _release(gitops, ns, "web") == "1"
    assert _release(gitops, ns, "extra") == "absent"

    # Signed, but by a key the project does not list (although the keyring knows it).
    foreign = work.commit(
        {"app/cm.yaml": CONFIGMAP.format(name="web", release="3")}, "other key", signing=other
    )
    message = _refusal(gitops, "signed-app", foreign, "the commit signed by an unlisted key")
    assert f"good signature by key {other.key_id}" in message, message
    assert "not allowed in project 'signed'" in message, message
    assert _release(gitops, ns, "web") == "1"

    # Signed again by the listed key: it syncs, the condition goes away.
    fixed = work.commit(
        {"app/cm.yaml": CONFIGMAP.format(name="web", release="4")},
        "signed again",
        delete=["app/extra.yaml"],
        signing=signer,
    )
    app = gitops.wait_app(
        "signed-app",
        lambda a: scenario.synced_healthy(a, fixed),
        timeout=90,
        what="the signed commit to sync",
    )
    assert not _condition(app, "ComparisonError")
    assert _release(gitops, ns, "web") == "4"
    assert _release(gitops, ns, "extra") == "absent"  # removed again before any sync

    # The keys ConfigMap changes: without `signer`, its signatures cannot be verified any more.
    keys_cm = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "argocd-gpg-keys-cm", "namespace": gitops.namespace},
        "data": {other.key_id: other.armored},
    }
    scenario.apply_manifests(gitops.bed, "mgmt", [keys_cm])  # same manager: signer's entry goes
    later = work.commit(
        {"app/cm.yaml": CONFIGMAP.format(name="web", release="5")}, "signed", signing=signer
    )
    message = _refusal(gitops, "signed-app", later, "a key gone from argocd-gpg-keys-cm")
    assert f"signed with key {signer.key_id}, which is not in argocd-gpg-keys-cm" in message
    assert _release(gitops, ns, "web") == "4"
