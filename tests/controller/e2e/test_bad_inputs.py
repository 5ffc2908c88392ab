"""Bad inputs never prune and never stall other apps: an unreachable repo, broken YAML and a
path escaping the repository each give ComparisonError on the app's status; live objects stay."""

from __future__ import annotations

from typing import Any

from tidegate.testenv import gitrepos, procs, scenario

CONFIGMAP = """apiVersion: v1
kind: ConfigMap
metadata:
  name: {name}
data: {{k: v}}
"""


def _condition(app: dict[str, Any], kind: str) -> str:
    for cond in (app.get("status") or {}).get("conditions") or []:
        if cond.get("type") == kind:
            return str(cond.get("message"))
    return ""


def _configmap_exists(gitops: scenario.GitOps, ns: str, name: str) -> bool:
    out = scenario.kubectl(gitops.bed, "dev", "-n", ns, "get", "configmap", name, check=False)
    return "NotFound" not in out


def test_bad_inputs_give_comparison_errors_and_never_prune(gitops: scenario.GitOps) -> None:
    server = gitops.bed.clusters["dev"].server
    good_repo, good_work = gitops.repo({"app/cm.yaml": CONFIGMAP.format(name="good")})
    ns_good = f"good-{gitops.namespace}"
    gitops.create_app(
        scenario.application(
            "good", repo_url=good_repo.http_url, path="app", server=server, namespace=ns_good
        )
    )

    # Broken YAML after a first good sync: the live object stays, the app says why.
    broken_repo, broken_work = gitops.repo({"app/cm.yaml": CONFIGMAP.format(name="kept")})
    ns_broken = f"broken-{gitops.namespace}"
    gitops.create_app(
        scenario.application(
            "broken", repo_url=broken_repo.http_url, path="app", server=server, namespace=ns_broken
        )
    )
    gitops.wait_app(
        "broken",
        lambda a: scenario.synced_healthy(a, broken_work.head()),
        timeout=60,
        what="first sync",
    )
    broken_work.commit(
        {"app/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: [oops\n"}, "break the yaml"
    )
    app = gitops.wait_app(
        "broken",
        lambda a: bool(_condition(a, "ComparisonError")),
        timeout=60,
        what="ComparisonError for broken YAML",
    )
    message = _condition(app, "ComparisonError")
    assert "cm.yaml" in message, message
    assert app["status"]["sync"]["status"] == "Unknown"
    assert _configmap_exists(gitops, ns_broken, "kept")

    # Unreachable repository.
    closed = procs.free_port()
    gitops.create_app(
        scenario.application(
            "unreachable",
            repo_url=f"http://127.0.0.1:{closed}/nothing.git",
            path="app",
            server=server,
            namespace=f"unreachable-{gitops.namespace}",
        )
    )
    app = gitops.wait_app(
        "unreachable",
        lambda a: bool(_condition(a, "ComparisonError")),
        timeout=60,
        what="ComparisonError for an unreachable repo",
    )
    assert f"127.0.0.1:{closed}" in _condition(app, "ComparisonError")

    # A path that escapes the repository, and a symlink pointing outside it.
    escape_repo, escape_work = gitops.repo({"app/cm.yaml": CONFIGMAP.format(name="x")})
    gitops.create_app(
        scenario.application(
            "escape",
            repo_url=escape_repo.http_url,
            path="../../etc",
            server=server,
            namespace=f"escape-{gitops.namespace}",
        )
    )
    app = gitops.wait_app(
        "escape",
        lambda a: bool(_condition(a, "ComparisonError") or _condition(a, "InvalidSpecError")),
        timeout=60,
        what="an error for a path escape",
    )
    message = _condition(app, "ComparisonError") + _condition(app, "InvalidSpecError")
    assert "'../../etc' resolves outside the repository" in message, message
    escape_work.commit({"link/cm.yaml": gitrepos.Symlink("/etc/hostname")}, "symlink out")
    gitops.create_app(
        scenario.application(
            "symlink",
            repo_url=escape_repo.http_url,
            path="link",
            server=server,
            namespace=f"symlink-{gitops.namespace}",
        )
    )
    app = gitops.wait_app(
        "symlink",
        lambda a: "outside the repository" in _condition(a, "ComparisonError"),
        timeout=60,
        what="ComparisonError for a symlink escape",
    )
    message = _condition(app, "ComparisonError")
    assert "outside the repository" in message and "cm.yaml" in message, message

    # Meanwhile the good app synced, and still follows new commits.
    gitops.wait_app("good", lambda a: scenario.synced_healthy(a, good_work.head()), timeout=60)
    second = good_work.commit({"app/cm2.yaml": CONFIGMAP.format(name="good2")}, "more")
    gitops.wait_app(
        "good",
        lambda a: scenario.synced_healthy(a, second),
        timeout=60,
        what="the good app to follow a new commit",
    )
    assert _configmap_exists(gitops, ns_good, "good2")
    # Nothing was ever pruned from the broken app.
    assert _configmap_exists(gitops, ns_broken, "kept")
