"""Hostile references and repositories against the real controller on the shared test bed.

A tenant's kustomization reading another tenant's cached repository (``file://`` into the
controller's repository cache), remote bases and Helm value files outside the project's
``sourceRepos``, and a git server sending a tree entry named ``../../etc/x``: each is a
ComparisonError naming the object and the cause; nothing is applied, nothing pruned, and the
other tenant's Secret value appears nowhere. A permitted https remote base (with the git
server's credentials) renders and syncs.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

import platformdirs

from tidegate.sources import urls
from tidegate.testenv import scenario

SECRET_VALUE = f"tenant-b-{secrets.token_hex(8)}"
CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  k: v\n"


def _comparison_error(app: dict[str, Any]) -> str:
    found = [
        str(c.get("message"))
        for c in (app.get("status") or {}).get("conditions") or []
        if c.get("type") == "ComparisonError"
    ]
    return " | ".join(found)


def _exists(gitops: scenario.GitOps, ns: str, kind: str, name: str) -> bool:
    out = scenario.kubectl(gitops.bed, "dev", "-n", ns, "get", kind, name, check=False)
    return "NotFound" not in out


def _project(gitops: scenario.GitOps, name: str, repos: list[str]) -> None:
    scenario.apply_manifests(
        gitops.bed,
        "mgmt",
        [
            {
                "apiVersion": "argoproj.io/v1alpha1",
                "kind": "AppProject",
                "metadata": {"name": name, "namespace": gitops.namespace},
                "spec": {
                    "sourceRepos": repos,
                    "destinations": [{"server": "*", "namespace": "*"}],
                    "clusterResourceWhitelist": [{"group": "*", "kind": "*"}],
                },
            }
        ],
    )


def _wait_error(gitops: scenario.GitOps, name: str, *needles: str) -> str:
    app = gitops.wait_app(
        name,
        lambda a: all(n in _comparison_error(a) for n in needles),
        timeout=90,
        what=f"ComparisonError with {needles}",
    )
    return _comparison_error(app)


def test_file_url_into_the_controller_cache_never_leaks_a_secret(
    gitops: scenario.GitOps,
) -> None:
    server = gitops.bed.clusters["dev"].server
    tag = gitops.namespace
    victim, victim_work = gitops.repo(
        {
            "app/kustomization.yaml": "resources: [secret.yaml]\n",
            "app/secret.yaml": (
                "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n"
                f"stringData:\n  password: {SECRET_VALUE}\n"
            ),
        }
    )
    ns_victim = f"victim-{tag}"
    gitops.create_app(
        scenario.application(
            "victim", repo_url=victim.http_url, path="app", server=server, namespace=ns_victim
        )
    )
    gitops.wait_app("victim", lambda a: scenario.synced_healthy(a, victim_work.head()))
    cache = Path(platformdirs.user_cache_dir("tidegate")) / "repos" / "repos"
    bare = cache / urls.cache_dir_name(victim.http_url) / "git"
    assert bare.is_dir()  # the victim's repository is in the controller's cache

    entries = {
        "fileurl": f"file://{bare}//app",
        "gitfile": f"git::file://{bare}//app",
        "sshlocal": f"ssh://git@localhost{bare}//app",
    }
    for label, entry in entries.items():
        repo, _ = gitops.repo({"app/kustomization.yaml": f"resources:\n- {entry}\n"})
        gitops.create_app(
            scenario.application(
                f"thief-{label}",
                repo_url=repo.http_url,
                path="app",
                server=server,
                namespace=f"thief-{tag}",
            )
        )
    rules = {
        "fileurl": "file:// URLs are refused",
        "gitfile": "file:// URLs are refused",
        "sshlocal": "points into Tidegate's own directories",
    }
    for label, rule in rules.items():
        message = _wait_error(gitops, f"thief-{label}", rule)
        assert f"app thief-{label}: app/kustomization.yaml: resources[0] " in message, message
        app = gitops.get_app(f"thief-{label}")
        assert SECRET_VALUE not in json.dumps(app)
    assert not _exists(gitops, f"thief-{tag}", "secret", "db")
    events = scenario.kubectl(
        gitops.bed, "mgmt", "-n", gitops.namespace, "get", "events", "-o", "json", check=False
    )
    assert SECRET_VALUE not in events
    assert SECRET_VALUE not in gitops.controller.log.read_text(errors="replace")


def test_remote_bases_and_value_files_follow_source_repos(gitops: scenario.GitOps) -> None:
    server = gitops.bed.clusters["dev"].server
    tag = gitops.namespace
    base, _ = gitops.repo(
        {
            "base/kustomization.yaml": "resources: [cm.yaml]\n",
            "base/cm.yaml": CONFIGMAP.format(name="from-remote-base"),
        }
    )
    app_repo, app_work = gitops.repo(
        {"app/kustomization.yaml": f"resources:\n- {base.http_url}//base?ref=main\n"}
    )
    # Permitted (the project lists both repositories): renders with the server's credentials.
    _project(gitops, f"both-{tag}", [app_repo.http_url, base.http_url])
    ns_ok = f"remote-ok-{tag}"
    gitops.create_app(
        scenario.application(
            "remote-ok",
            repo_url=app_repo.http_url,
            path="app",
            server=server,
            namespace=ns_ok,
            project=f"both-{tag}",
        )
    )
    gitops.wait_app(
        "remote-ok",
        lambda a: scenario.synced_healthy(a, app_work.head()),
        timeout=90,
        what="the app with a permitted remote base to sync",
    )
    assert _exists(gitops, ns_ok, "configmap", "from-remote-base")

    # Not permitted: the project lists only the app's own repository.
    _project(gitops, f"own-{tag}", [app_repo.http_url])
    ns_refused = f"remote-refused-{tag}"
    gitops.create_app(
        scenario.application(
            "remote-refused",
            repo_url=app_repo.http_url,
            path="app",
            server=server,
            namespace=ns_refused,
            project=f"own-{tag}",
        )
    )
    message = _wait_error(gitops, "remote-refused", "not permitted by the project's sourceRepos")
    assert "app remote-refused: app/kustomization.yaml: resources[0]" in message
    assert base.http_url in message
    assert not _exists(gitops, ns_refused, "configmap", "from-remote-base")

    # Helm value files given as URLs: file:// refused, a repository outside sourceRepos too.
    chart, _ = gitops.repo(
        {
            "chart/Chart.yaml": "apiVersion: v2\nname: c\nversion: 0.1.0\n",
            "chart/values.yaml": "name: from-chart\n",
            "chart/templates/cm.yaml": CONFIGMAP.format(name="{{ .Values.name }}"),
        }
    )
    values, _ = gitops.repo({"prod.yaml": "name: from-values\n"})
    _project(gitops, f"chart-{tag}", [chart.http_url])
    cases = {
        "helm-file": ("file:///etc/passwd", "file:// URLs are refused"),
        "helm-remote": (
            f"{values.http_url}//prod.yaml?ref=main",
            "not permitted by the project's sourceRepos",
        ),
    }
    for name, (value_file, _rule) in cases.items():
        app = scenario.application(
            name,
            repo_url=chart.http_url,
            path="chart",
            server=server,
            namespace=f"{name}-{tag}",
            project=f"chart-{tag}",
        )
        app["spec"]["source"]["helm"] = {"valueFiles": [value_file]}
        gitops.create_app(app)
    for name, (_value_file, rule) in cases.items():
        message = _wait_error(gitops, name, rule)
        assert "Helm value file" in message and f"app {name}" in message, message
        assert not _exists(gitops, f"{name}-{tag}", "configmap", "from-values")


def test_tree_entry_escaping_the_checkout_is_refused(gitops: scenario.GitOps) -> None:
    server = gitops.bed.clusters["dev"].server
    ns = f"crafted-{gitops.namespace}"
    repo, work = gitops.repo({"app/cm.yaml": CONFIGMAP.format(name="kept")})
    gitops.create_app(
        scenario.application(
            "crafted", repo_url=repo.http_url, path="app", server=server, namespace=ns
        )
    )
    gitops.wait_app("crafted", lambda a: scenario.synced_healthy(a, work.head()))
    cache = Path(platformdirs.user_cache_dir("tidegate")) / "repos" / "repos"
    cached = cache / urls.cache_dir_name(repo.http_url)
    planted = Path("/etc/x")
    existed = planted.exists()
    evil = work.commit_crafted_tree({b"../../etc/x": b"owned\n"}, "a hostile tree")
    message = _wait_error(gitops, "crafted", "fsck")
    assert repo.http_url in message and "contains full pathnames" in message, message
    # Nothing was written outside the cache's own directories, nothing was pruned.
    assert planted.exists() is existed
    assert not (cached / "etc").exists() and not (cache / "etc").exists()
    assert sorted(p.name for p in (cached / "trees").iterdir() if p.name.startswith(evil)) == []
    assert _exists(gitops, ns, "configmap", "kept")
