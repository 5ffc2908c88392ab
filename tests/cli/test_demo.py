"""The README's first command, end to end: `tidegate demo` brings the whole story up."""

from __future__ import annotations

import subprocess
import sys

from tidegate.testenv import demo, handle


def test_demo_reaches_synced_and_healthy(testbed_handle: handle.TestBed) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "tidegate",
            "demo",
            "--dir",
            str(testbed_handle.directory),
            "--keep",
            "--until-healthy",
            "--timeout",
            "240",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    assert "all demo apps are Synced and Healthy" in result.stderr
    state = demo.apps_state(testbed_handle)
    for name in demo.expected_apps():
        assert state[name] == ("Synced", "Healthy"), state
    # Only the production cluster got the seed's app.
    assert not any(name.endswith("-myapp") and name != "prod-myapp" for name in state)
    # The guestbook really runs on prod with the production overlay's replica count.
    deployment = (
        testbed_handle.admin_client("prod")
        .get("/apis/apps/v1/namespaces/guestbook/deployments/guestbook-ui")
        .json()
    )
    assert deployment["spec"]["replicas"] == 3
    assert deployment["status"].get("availableReplicas") == 3
