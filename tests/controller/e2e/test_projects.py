"""AppProjects enforced by the real controller: every refused object or app gets a message naming
it and the rule, nothing is applied and nothing is pruned (asserted on the live clusters)."""

from __future__ import annotations

import secrets
import time
from typing import Any

from tidegate.model import constants
from tidegate.testenv import scenario

CONFIGMAP = """apiVersion: v1
kind: ConfigMap
metadata:
  name: {name}
{namespace}data: {{k: v}}
"""
CLUSTER_ROLE = """apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: {name}
rules:
- apiGroups: [""]
  resources: [secrets]
  verbs: [get, list]
"""


def _cm(name: str, namespace: str = "") -> str:
    return CONFIGMAP.format(name=name, namespace=f"  namespace: {namespace}\n" if namespace else "")


def _condition(app: dict[str, Any], kind: str) -> str:
    for cond in (app.get("status") or {}).get("conditions") or []:
        if cond.get("type") == kind:
            return str(cond.get("message"))
    return ""


def _exists(gitops: scenario.GitOps, cluster: str, *args: str) -> bool:
    """Whether ``kubectl get ARGS`` finds the object (any other failure fails the test)."""
    out = scenario.kubectl(gitops.bed, cluster, "get", "-o", "name", *args, check=False)
    if "NotFound" in out:
        return False
    assert out.strip() and "error" not in out.lower(), out
    return True


def _project(gitops: scenario.GitOps, name: str, **spec: Any) -> None:
    scenario.apply_manifests(
        gitops.bed,
        "mgmt",
        [
            {
                "apiVersion": constants.API_VERSION,
                "kind": "AppProject",
                "metadata": {"name": name, "namespace": gitops.namespace},
                "spec": spec,
            }
        ],
    )


def _namespace(gitops: scenario.GitOps, cluster: str, name: str) -> str:
    scenario.kubectl(gitops.bed, cluster, "create", "namespace", name)
    assert _exists(gitops, cluster, "namespace", name)
    return name


def _op_state(app: dict[str, Any]) -> dict[str, Any]:
    return dict((app.get("status") or {}).get("operationState") or {})


def _sync(gitops: scenario.GitOps, app: str) -> dict[str, Any]:
    """Ask for a sync with prune (as `tidegate app sync --prune` does); its final state."""
    who = f"e2e-{secrets.token_hex(4)}"  # tells this operation's state from an earlier one's
    gitops.patch_app(
        app, {"operation": {"sync": {"prune": True}, "initiatedBy": {"username": who}}}
    )
    done = gitops.wait_app(
        app,
        lambda a: (
            not a.get("operation")
            and (_op_state(a).get("operation") or {}).get("initiatedBy", {}).get("username") == who
        ),
        timeout=60,
        what="the requested sync to end",
    )
    return _op_state(done)


def test_a_cluster_role_without_a_cluster_whitelist_fails_the_whole_sync(
    gitops: scenario.GitOps,
) -> None:
    server = gitops.bed.clusters["dev"].server
    ns = _namespace(gitops, "dev", f"cr-{gitops.namespace}")
    role = f"reader-{gitops.namespace}"
    _project(
        gitops,
        "team-cr",
        sourceRepos=["*"],
        destinations=[{"server": server, "namespace": ns}],
    )
    repo, work = gitops.repo({"app/old.yaml": _cm("old")})
    gitops.create_app(
        scenario.application(
            "cr",
            repo_url=repo.http_url,
            path="app",
            server=server,
            namespace=ns,
            project="team-cr",
            sync_options=(),
        )
    )
    gitops.wait_app("cr", lambda a: scenario.synced_healthy(a, work.head()), what="first sync")
    assert _exists(gitops, "dev", "-n", ns, "configmap", "old")

    # The next commit drops `old`, adds `new` and a ClusterRole the project does not permit.
    work.commit(
        {"app/new.yaml": _cm("new"), "app/role.yaml": CLUSTER_ROLE.format(name=role)},
        "add a ClusterRole",
        delete=["app/old.yaml"],
    )
    expected = (
        f"ClusterRole/{role}: cluster-scoped kind rbac.authorization.k8s.io/ClusterRole is not "
        "permitted in project 'team-cr' (clusterResourceWhitelist is empty)"
    )
    app = gitops.wait_app(
        "cr",
        lambda a: expected in _condition(a, "InvalidSpecError"),
        what="the refresh to report the ClusterRole",
    )
    assert app["status"]["sync"]["status"] == "Unknown"

    state = _sync(gitops, "cr")
    assert state["phase"] == "Failed"
    assert expected in state["message"] and "nothing was applied" in state["message"]
    assert not _exists(gitops, "dev", "clusterrole", role)
    assert not _exists(gitops, "dev", "-n", ns, "configmap", "new")
    assert _exists(gitops, "dev", "-n", ns, "configmap", "old")  # not pruned


def test_an_object_outside_the_destinations_fails_the_whole_sync(gitops: scenario.GitOps) -> None:
    server = gitops.bed.clusters["dev"].server
    allowed = _namespace(gitops, "dev", f"dest-{gitops.namespace}")
    outside = _namespace(gitops, "dev", f"outside-{gitops.namespace}")
    _project(
        gitops,
        "team-dest",
        sourceRepos=["*"],
        destinations=[{"server": server, "namespace": allowed}],
    )
    repo, work = gitops.repo({"app/old.yaml": _cm("old")})
    gitops.create_app(
        scenario.application(
            "dest",
            repo_url=repo.http_url,
            path="app",
            server=server,
            namespace=allowed,
            project="team-dest",
            sync_options=(),
        )
    )
    gitops.wait_app("dest", lambda a: scenario.synced_healthy(a, work.head()), what="first sync")

    work.commit(
        {"app/new.yaml": _cm("new"), "app/escape.yaml": _cm("escape", outside)},
        "a ConfigMap in another namespace",
        delete=["app/old.yaml"],
    )
    expected = (
        f"ConfigMap/escape in namespace '{outside}': namespace '{outside}' is not permitted in "
        "project 'team-dest'"
    )
    gitops.wait_app(
        "dest",
        lambda a: expected in _condition(a, "InvalidSpecError"),
        what="the refresh to report the namespace",
    )
    state = _sync(gitops, "dest")
    assert expected in state["message"], state["message"]
    assert not _exists(gitops, "dev", "-n", outside, "configmap", "escape")
    assert not _exists(gitops, "dev", "-n", allowed, "configmap", "new")
    assert _exists(gitops, "dev", "-n", allowed, "configmap", "old")


def test_a_repository_outside_source_repos_is_refused(gitops: scenario.GitOps) -> None:
    server = gitops.bed.clusters["dev"].server
    ns = _namespace(gitops, "dev", f"repo-{gitops.namespace}")
    _project(
        gitops,
        "team-repo",
        sourceRepos=["https://git.example.com/team-repo/*"],
        destinations=[{"server": "*", "namespace": "*"}],
    )
    repo, _ = gitops.repo({"app/cm.yaml": _cm("from-elsewhere")})
    gitops.create_app(
        scenario.application(
            "repo",
            repo_url=repo.http_url,
            path="app",
            server=server,
            namespace=ns,
            project="team-repo",
            sync_options=(),
        )
    )
    app = gitops.wait_app(
        "repo",
        lambda a: (
            "is not permitted in project 'team-repo' (sourceRepos)"
            in _condition(a, "InvalidSpecError")
        ),
        what="InvalidSpecError for the repository",
    )
    message = _condition(app, "InvalidSpecError")
    assert repo.http_url.removesuffix(".git") in message or repo.http_url in message, message
    state = _sync(gitops, "repo")
    assert state["phase"] == "Error"
    assert "(sourceRepos)" in state["message"]
    assert not _exists(gitops, "dev", "-n", ns, "configmap", "from-elsewhere")


def test_the_control_namespace_may_use_any_project_whatever_its_source_namespaces(
    gitops: scenario.GitOps,
) -> None:
    """Argo CD's rule: ``sourceNamespaces`` only limits apps outside the controller's namespace;
    an app in the control namespace itself is permitted even when the list omits it."""
    server = gitops.bed.clusters["dev"].server
    ns = _namespace(gitops, "dev", f"srcns-{gitops.namespace}")
    _project(
        gitops,
        "team-srcns",
        sourceRepos=["*"],
        sourceNamespaces=["some-other-namespace"],
        destinations=[{"server": server, "namespace": ns}],
    )
    repo, work = gitops.repo({"app/cm.yaml": _cm("here")})
    gitops.create_app(
        scenario.application(
            "srcns",
            repo_url=repo.http_url,
            path="app",
            server=server,
            namespace=ns,
            project="team-srcns",
            sync_options=(),
        )
    )
    gitops.wait_app("srcns", lambda a: scenario.synced_healthy(a, work.head()), what="sync")
    assert _exists(gitops, "dev", "-n", ns, "configmap", "here")


def test_a_cluster_secret_with_namespaces_limits_what_is_managed(gitops: scenario.GitOps) -> None:
    """A cluster registered with ``namespaces`` (and no ``clusterResources``) manages only
    those namespaces and no cluster-scoped kind, whatever the project permits."""
    limited = _namespace(gitops, "staging", f"lim-{gitops.namespace}")
    other = _namespace(gitops, "staging", f"unlisted-{gitops.namespace}")
    secret = scenario.cluster_secret(gitops.bed, "staging", namespace=gitops.namespace)
    secret["stringData"]["namespaces"] = limited
    scenario.apply_manifests(gitops.bed, "mgmt", [secret])
    server = gitops.bed.clusters["staging"].server
    role = f"limited-{gitops.namespace}"
    repo, _ = gitops.repo(
        {"app/cm.yaml": _cm("inside"), "app/other.yaml": _cm("unlisted", other),
         "app/role.yaml": CLUSTER_ROLE.format(name=role)}
    )  # fmt: skip
    gitops.create_app(
        scenario.application(
            "limited",
            repo_url=repo.http_url,
            path="app",
            server=server,
            namespace=limited,
            sync_options=(),
        )
    )
    app = gitops.wait_app(
        "limited",
        lambda a: "cannot be managed on cluster 'staging'" in _condition(a, "ComparisonError"),
        what="ComparisonError naming the cluster registration",
    )
    message = _condition(app, "ComparisonError")
    assert f"ClusterRole/{role}: cluster-scoped kind" in message, message
    assert f"ConfigMap/unlisted in namespace '{other}': namespace '{other}' is not managed" in (
        message
    )
    assert not _exists(gitops, "staging", "clusterrole", role)
    assert not _exists(gitops, "staging", "-n", limited, "configmap", "inside")
    assert not _exists(gitops, "staging", "-n", other, "configmap", "unlisted")


def test_prune_never_deletes_what_the_project_no_longer_permits(gitops: scenario.GitOps) -> None:
    server = gitops.bed.clusters["dev"].server
    home = _namespace(gitops, "dev", f"home-{gitops.namespace}")
    away = _namespace(gitops, "dev", f"away-{gitops.namespace}")
    both = [{"server": server, "namespace": home}, {"server": server, "namespace": away}]
    _project(gitops, "team-prune", sourceRepos=["*"], destinations=both)
    repo, work = gitops.repo({"app/a.yaml": _cm("a"), "app/b.yaml": _cm("b", away)})
    gitops.create_app(
        scenario.application(
            "prune",
            repo_url=repo.http_url,
            path="app",
            server=server,
            namespace=home,
            project="team-prune",
            sync_options=(),
        )
    )
    gitops.wait_app("prune", lambda a: scenario.synced_healthy(a, work.head()), what="first sync")
    assert _exists(gitops, "dev", "-n", away, "configmap", "b")

    # The project stops permitting `away`: first the object still in Git is refused...
    _project(
        gitops,
        "team-prune",
        sourceRepos=["*"],
        destinations=[{"server": server, "namespace": home}],
    )
    gitops.wait_app(
        "prune",
        lambda a: f"ConfigMap/b in namespace '{away}'" in _condition(a, "InvalidSpecError"),
        what="the refresh to refuse the object outside the destinations",
    )
    # ...then, gone from Git, the live object is left alone and reported, never pruned.
    head = work.commit({}, "drop b", delete=["app/b.yaml"])
    app = gitops.wait_app(
        "prune",
        lambda a: (
            scenario.synced_healthy(a, head)
            and f"ConfigMap/b in namespace '{away}'" in _condition(a, "ExcludedResourceWarning")
        ),
        what="the live object outside the project to be reported",
    )
    assert not _condition(app, "InvalidSpecError")
    state = _sync(gitops, "prune")
    assert state["phase"] == "Succeeded", state
    assert _exists(gitops, "dev", "-n", away, "configmap", "b")
    assert _exists(gitops, "dev", "-n", home, "configmap", "a")


def test_create_namespace_needs_the_namespace_kind_whitelisted(gitops: scenario.GitOps) -> None:
    """As in Argo CD, the namespace CreateNamespace=true would create is checked like any
    object: without Namespace in clusterResourceWhitelist the sync fails and creates nothing."""
    server = gitops.bed.clusters["dev"].server
    ns = f"created-{gitops.namespace}"
    _project(
        gitops, "team-ns", sourceRepos=["*"], destinations=[{"server": server, "namespace": ns}]
    )
    repo, work = gitops.repo({"app/cm.yaml": _cm("in-new-ns")})
    gitops.create_app(
        scenario.application(
            "create-ns",
            repo_url=repo.http_url,
            path="app",
            server=server,
            namespace=ns,
            project="team-ns",
            automated=False,
            sync_options=("CreateNamespace=true",),
        )
    )
    state = _sync(gitops, "create-ns")
    assert state["phase"] == "Failed", state
    assert (
        f"Namespace/{ns}: cluster-scoped kind Namespace is not permitted in project 'team-ns' "
        "(clusterResourceWhitelist is empty)" in state["message"]
    ), state["message"]
    assert not _exists(gitops, "dev", "namespace", ns)

    _project(
        gitops,
        "team-ns",
        sourceRepos=["*"],
        destinations=[{"server": server, "namespace": ns}],
        clusterResourceWhitelist=[{"group": "", "kind": "Namespace"}],
    )
    # The controller sees the project change through its watch: sync until it has.
    deadline = time.monotonic() + 60
    while (state := _sync(gitops, "create-ns"))["phase"] != "Succeeded":
        assert time.monotonic() < deadline, state
    assert state["syncResult"]["revision"] == work.head()
    assert _exists(gitops, "dev", "-n", ns, "configmap", "in-new-ns")
