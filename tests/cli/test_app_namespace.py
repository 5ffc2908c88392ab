"""argocd's ``-N/--app-namespace`` on the ``app`` verbs, against the test bed: an Application
in a namespace other than the control namespace, named once with ``-N``."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator

import pytest
from tests.cli.appcli import BASIC, Cli, eventually

from tidegate.testenv import handle

pytestmark = pytest.mark.e2e


@pytest.fixture
def other_ns(testbed_handle: handle.TestBed) -> Iterator[str]:
    ns = f"tg-appns-{secrets.token_hex(3)}"
    with testbed_handle.admin_client("mgmt") as mgmt:
        mgmt.post("/api/v1/namespaces", json={"metadata": {"name": ns}}).raise_for_status()
        yield ns
        mgmt.delete(f"/api/v1/namespaces/{ns}")


def _exists(runner: Cli, ns: str, name: str) -> bool:
    path = f"/apis/argoproj.io/v1alpha1/namespaces/{ns}/applications/{name}"
    with runner.tb.admin_client("mgmt") as mgmt:
        return mgmt.get(path).status_code == 200


def test_app_namespace_names_the_application_everywhere(cli: Cli, other_ns: str) -> None:
    name = f"web-{secrets.token_hex(3)}"
    created = cli("create", name, "-N", other_ns, *BASIC)
    assert created.exit_code == 0, created.output
    assert _exists(cli, other_ns, name) and not cli.exists(name)

    got = json.loads(cli("get", name, "--app-namespace", other_ns, "-o", "json").stdout)
    assert got["metadata"]["namespace"] == other_ns
    assert cli("get", f"{other_ns}/{name}", "-N", other_ns).exit_code == 0  # the same, said twice
    patched = cli("patch", name, "-N", other_ns, "--type", "merge",
                  "--patch", '{"spec": {"source": {"targetRevision": "v3"}}}')  # fmt: skip
    assert patched.exit_code == 0, patched.output
    set_ = cli("set", name, "-N", other_ns, "--revision", "v4", "--validate=false")
    assert set_.exit_code == 0, set_.output
    got = json.loads(cli("get", name, "-N", other_ns, "-o", "json").stdout)
    assert got["spec"]["source"]["targetRevision"] == "v4"
    assert cli("history", name, "-N", other_ns).exit_code == 0
    added = cli("add-source", name, "-N", other_ns, "--repo", "https://git.example.com/v.git",
                "--path", "v", "--validate=false")  # fmt: skip
    assert added.exit_code == 0, added.output
    got = json.loads(cli("get", name, "-N", other_ns, "-o", "json").stdout)
    assert [s["repoURL"] for s in got["spec"]["sources"]][-1] == "https://git.example.com/v.git"

    # Without -N the name is looked up in the control namespace: not there.
    missing = cli("get", name)
    assert missing.exit_code == 1 and name in missing.stderr
    # A name that says another namespace, or -N with nothing to qualify: usage errors.
    clash = cli("get", f"elsewhere/{name}", "-N", other_ns)
    assert clash.exit_code == 2
    assert f"'{other_ns}' but the application is named 'elsewhere/{name}'" in clash.stderr
    no_name = cli("sync", "-N", other_ns, "-l", "team=web")
    assert no_name.exit_code == 2 and "--app-namespace" in no_name.stderr

    gone = cli("delete", name, "-N", other_ns, "-y", "--no-cascade", "--timeout", "20")
    assert gone.exit_code == 0, gone.output
    eventually(lambda: not _exists(cli, other_ns, name))
