"""``tidegate app wait --resource`` against the test bed's management cluster: the status the
controller would write is written by the test (as in test_app_cmd.py), and the CLI waits for
the chosen resources' sync and health, not the app's."""

from __future__ import annotations

import pytest
from tests.cli.appcli import BASIC, Cli, unique

pytestmark = pytest.mark.e2e

RESOURCES = [
    {"version": "v1", "kind": "ConfigMap", "namespace": "web", "name": "cfg", "status": "Synced"},
    {"group": "apps", "version": "v1", "kind": "Deployment", "namespace": "web", "name": "web",
     "status": "OutOfSync", "health": {"status": "Progressing"}},
]  # fmt: skip


def test_wait_for_chosen_resources(cli: Cli) -> None:
    name = unique("waitres")
    assert cli("create", name, *BASIC).exit_code == 0
    status = {"sync": {"status": "OutOfSync"}, "health": {"status": "Progressing"}}
    cli.patch(name, {"status": {**status, "resources": RESOURCES}})

    whole = cli("wait", name, "--sync", "--timeout", "1")
    assert whole.exit_code == 1 and "sync status OutOfSync (want: Synced)" in whole.stderr

    chosen = cli("wait", name, "--resource", ":ConfigMap:cfg", "--timeout", "5")
    assert chosen.exit_code == 0, chosen.output

    late = cli("wait", name, "--resource", "apps:Deployment:web", "--resource", ":ConfigMap:*",
               "--timeout", "1")  # fmt: skip
    assert late.exit_code == 1
    assert "Deployment/web: sync status OutOfSync (want: Synced)" in late.stderr
    assert "Deployment/web: health Progressing (want: Healthy)" in late.stderr
    assert "ConfigMap/cfg" not in late.stderr

    excluded = cli("wait", name, "--resource", "!apps:Deployment:*", "--timeout", "5")
    assert excluded.exit_code == 0, excluded.output

    nothing = cli("wait", name, "--resource", ":Secret:cfg", "--timeout", "1")
    assert nothing.exit_code == 1 and "no resource of the application matches" in nothing.stderr

    bad = cli("wait", name, "--resource", "Deployment/web")
    assert bad.exit_code == 2 and "'Deployment/web' is not GROUP:KIND:NAME" in bad.stderr
    deleting = cli("wait", name, "--delete", "--resource", ":ConfigMap:cfg")
    assert deleting.exit_code == 2 and "--delete waits for the app to be gone" in deleting.stderr

    done = [dict(r, status="Synced", health={"status": "Healthy"}) if r["kind"] == "Deployment"
            else r for r in RESOURCES]  # fmt: skip
    cli.patch(name, {"status": {"resources": done}})
    ready = cli("wait", name, "--resource", "apps:Deployment:web", "--timeout", "5")
    assert ready.exit_code == 0, ready.output
