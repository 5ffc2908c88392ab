"""``tidegate repo``, ``repocreds`` and ``cluster`` through a real ``tidegate server`` after
``tidegate login``, and directly (``--core``): the same output and exit codes either way,
including what only a live check shows (a repository's connection state from ``git
ls-remote``, a cluster's probed version and connection state). Writes run on twin
registrations (one per mode) where they can, and are compared with the names swapped."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable

import pytest
from tests.api import cli_modes
from tests.api.cli_modes import Both
from tests.cli.test_cluster_auth import account  # noqa: F401

from tidegate.testenv import handle, serverproc

pytestmark = pytest.mark.e2e
TAG = secrets.token_hex(3)
SECRET = f"pw-{TAG}-never-shown"


@pytest.fixture(scope="module")
def both_of(
    server: serverproc.ServerProcess,
    testbed_handle: handle.TestBed,
    control_namespace: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Callable[[str], Both]:
    config = cli_modes.login_config(server, tmp_path_factory.mktemp("cli") / "config")
    return lambda group: Both(testbed_handle, control_namespace, config, group=group)


def test_repo_commands_the_same_either_way(
    both_of: Callable[[str], Both], git_remote: handle.GitRemote
) -> None:
    repo = both_of("repo")
    a = git_remote.create_repo(prefix=f"ra-{TAG}").http_url
    b = git_remote.create_repo(prefix=f"rb-{TAG}").http_url
    added = repo.twins(["add", "{name}"], a, b)  # the server's template credentials apply
    assert added.returncode == 0 and f"repository {a} added" in added.stdout, added.stderr
    assert "unchanged" in repo.twins(["add", "{name}"], a, b).stdout
    other = repo.same("add", a, "--name", "other")  # refused: nothing written either way
    assert other.returncode == 1 and "use --upsert" in other.stderr
    updated = repo.twins(["add", "{name}", "--name", "other", "--upsert"], a, b)
    assert updated.returncode == 0 and "updated" in updated.stdout, updated.stderr

    bad_a, bad_b = (f"{git_remote.info.http_base}/missing-{x}-{TAG}.git" for x in "ab")
    refused = repo.twins(["add", "{name}"], bad_a, bad_b)
    assert refused.returncode == 1 and bad_a in refused.stderr  # ls-remote failed: not stored
    stored = repo.twins(["add", "{name}", "--skip-test"], bad_a, bad_b)
    assert stored.returncode == 0 and "access not tested" in stored.stdout

    for args in (["list"], ["list", "-o", "wide"], ["list", "--no-refresh"]):
        assert repo.same(*args).returncode == 0
    listed = {r["repo"]: r for r in json.loads(repo.same("list", "-o", "json").stdout)}
    assert listed[a]["connectionState"] == {"status": "Successful", "message": ""}
    assert listed[a]["name"] == "other"
    assert listed[bad_a]["connectionState"]["status"] == "Failed"
    assert listed[bad_a]["connectionState"]["message"]
    for fmt in ("table", "wide", "json", "yaml", "url"):
        assert repo.same("get", a, "-o", fmt).returncode == 0
    assert repo.same("get", f"{a}-nope").returncode == 1

    scoped = repo.same("rm", a, "--project", "elsewhere")
    assert scoped.returncode == 1 and "not registered in project 'elsewhere'" in scoped.stderr
    for url_a, url_b in ((a, b), (bad_a, bad_b)):
        removed = repo.twins(["rm", "{name}"], url_a, url_b)
        assert removed.returncode == 0 and "removed" in removed.stdout, removed.stderr
    gone = repo.twins(["rm", "{name}"], a, b)
    assert gone.returncode == 1 and "is not registered" in gone.stderr


def test_repocreds_commands_the_same_either_way(both_of: Callable[[str], Both]) -> None:
    creds = both_of("repocreds")
    a, b = f"https://creds-a-{TAG}.example/", f"https://creds-b-{TAG}.example/"
    flags = ["--username", "robot", "--password", SECRET]
    added = creds.twins(["add", "{name}", *flags], a, b)
    assert added.returncode == 0 and "added" in added.stdout, added.stderr
    assert "unchanged" in creds.twins(["add", "{name}", *flags], a, b).stdout
    changed = ["--username", "robot", "--password", SECRET + "-2"]
    refused = creds.same("add", a, *changed)  # refused: nothing written either way
    assert refused.returncode == 1 and "use --upsert" in refused.stderr
    assert "updated" in creds.twins(["add", "{name}", *changed, "--upsert"], a, b).stdout
    for args in (["list"], ["list", "-o", "json"], ["list", "-o", "yaml"]):
        listed = creds.same(*args)
        assert a in listed.stdout and b in listed.stdout and SECRET not in listed.stdout
    assert both_of("repo creds").same("list").returncode == 0
    assert "removed" in creds.twins(["rm", "{name}"], a, b).stdout
    gone = creds.twins(["rm", "{name}"], a, b)
    assert gone.returncode == 1 and "no repository credentials" in gone.stderr


def test_cluster_commands_the_same_either_way(
    both_of: Callable[[str], Both], testbed_handle: handle.TestBed
) -> None:
    cluster = both_of("cluster")
    for args in (["list"], ["list", "-o", "wide"], ["list", "-o", "json"]):
        assert cluster.same(*args).returncode == 0
    infos = {c["name"]: c for c in json.loads(cluster.same("list", "-o", "json").stdout)}
    assert infos["dev"]["connectionState"] == {"status": "Successful", "message": ""}
    assert infos["dev"]["serverVersion"].startswith("1.")  # probed: no controller publishes
    assert "******" in json.dumps(infos["dev"]["config"])  # credentials masked
    for fmt in ("yaml", "json", "table"):
        assert cluster.same("get", "dev", "-o", fmt).returncode == 0
    assert cluster.same("get", "nope").returncode == 1

    dev = str(testbed_handle.clusters["dev"].kubeconfig)  # the target only, no mgmt context
    upsert = ["add", "dev", "--use-existing-credentials", "--label", f"via={TAG}", "--upsert"]
    first = cluster.api(*upsert, kubeconfig=dev)
    assert first.returncode == 0 and "cluster 'dev' updated" in first.stdout, first.stderr
    again = ["add", "dev", "--use-existing-credentials", "--label", f"via={TAG}"]
    over_api, direct = cluster.api(*again, kubeconfig=dev), cluster.direct(*again)
    assert over_api.stdout == direct.stdout and "unchanged" in direct.stdout, over_api.stderr
    other = ["add", "dev", "--use-existing-credentials", "--label", "via=other"]
    over_api, direct = cluster.api(*other, kubeconfig=dev), cluster.direct(*other)
    assert (over_api.returncode, over_api.stderr) == (direct.returncode, direct.stderr)
    assert direct.returncode == 1 and "use --upsert" in direct.stderr

    label_a, label_b = (
        cluster.api("set", "dev", "--label", "a=1"),
        cluster.direct("set", "dev", "--label", "b=2"),
    )
    assert label_a.stdout == label_b.stdout == "cluster 'dev' updated\n", label_a.stderr
    shown = json.loads(cluster.same("get", "dev", "-o", "json").stdout)
    assert {"a": "1", "b": "2", "via": TAG}.items() <= shown["labels"].items()
    assert cluster.same("set", "dev", "--label", "a-", "--label", "b-").returncode == 0
    clash = cluster.same("set", "dev", "--name", "in-cluster")
    assert clash.returncode == 1 and "cannot rename" in clash.stderr
    kind = cluster.same("set", "dev", "--label", "argocd.argoproj.io/secret-type=x")
    assert kind.returncode == 1 and "cannot be changed" in kind.stderr

    no_token = cluster.same("rotate-auth", "dev")  # stored with the kubeconfig's certificate
    assert no_token.returncode == 1 and "not stored with a service account token" in (
        no_token.stderr
    )

    kept = cluster.same("rm", "in-cluster")  # the implicit entry has no Secret to remove
    assert kept.returncode == 1 and "management cluster itself" in kept.stderr
    made_api = cluster.api("set", "in-cluster", "--label", "x=1")
    assert made_api.returncode == 0 and "created" in made_api.stdout, made_api.stderr
    removed = cluster.direct("rm", "in-cluster")
    assert removed.returncode == 0 and "removed" in removed.stdout
    made_direct = cluster.direct("set", "in-cluster", "--label", "x=1")
    assert made_direct.stdout == made_api.stdout
    assert cluster.api("rm", "in-cluster").stdout == removed.stdout


def test_cluster_rotate_auth_either_way(
    both_of: Callable[[str], Both],
    testbed_handle: handle.TestBed,
    account: str,  # noqa: F811
) -> None:
    """The server rotates the token (Argo CD's POST .../rotate-auth) as the direct mode does:
    a service account of its own (``account``), so no other test's token is revoked."""
    cluster = both_of("cluster")
    dev = str(testbed_handle.clusters["dev"].kubeconfig)
    added = cluster.api("add", "dev", "--service-account", "deployer", "--system-namespace",
                        account, "--upsert", kubeconfig=dev)  # fmt: skip
    assert added.returncode == 0, added.stderr
    want = (
        f"cluster 'dev' credentials rotated (system:serviceaccount:{account}:deployer;"
        " old tokens revoked)\n"
    )
    over_api = cluster.api("rotate-auth", "dev")
    assert (over_api.returncode, over_api.stdout) == (0, want), over_api.stderr
    direct = cluster.direct("rotate-auth", "dev")
    assert (direct.returncode, direct.stdout) == (0, want), direct.stderr
    assert cluster.same("get", "dev", "-o", "json").returncode == 0  # still reachable
