"""``tidegate server`` serves each registered cluster's sealing certificate
(``/api/v1/sealedsecrets/cert.pem``), under the same RBAC as reading the cluster; the real
``kubeseal`` seals with it and the management-wide controller unseals on that cluster."""

from __future__ import annotations

import json
import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.api.access_helpers import rbac_cm
from tests.api.conftest import (  # noqa: F401 - the module's server and controller
    control_namespace,
    controller,
    server,
    server_extra,
    token,
)
from tests.api.polling import until
from tests.sealedsecrets.e2e.conftest import KEYS, get, make_secret, plain, tidegate

from tidegate.testenv import binaries, handle, scenario, serverproc

pytestmark = pytest.mark.e2e
PATH = "/api/v1/sealedsecrets/cert.pem"


@pytest.fixture(scope="module")
def controller_extra() -> list[str]:
    """The management-wide unsealer is what this module tests (test controllers run without)."""
    return ["--sealed-secrets"]


@pytest.fixture(scope="module")
def app_ns(testbed_handle: handle.TestBed) -> Iterator[str]:
    name = f"sss-{secrets.token_hex(3)}"
    with testbed_handle.admin_client("dev") as c:
        c.post("/api/v1/namespaces", json={"metadata": {"name": name}}).raise_for_status()
    yield name
    with testbed_handle.admin_client("dev") as c:
        c.delete(f"/api/v1/namespaces/{name}")


def test_served_certificate_is_devs_and_kubeseal_seals_with_it(
    testbed_handle: handle.TestBed,
    server: serverproc.ServerProcess,  # noqa: F811
    token: str,  # noqa: F811
    controller: scenario.ControllerProcess,  # noqa: F811
    app_ns: str,
    tmp_path: Path,
) -> None:
    bed = testbed_handle
    until(lambda: (get(bed, "dev", KEYS) or {}).get("items"), within=60)
    with server.client(token=token) as api:
        by_name = api.get(PATH, params={"name": "dev"})
        assert by_name.status_code == 200, by_name.text
        assert by_name.headers["content-type"].startswith("application/x-pem-file")
        by_server = api.get(PATH, params={"server": bed.clusters["dev"].server})
        assert by_server.content == by_name.content
        assert b"PRIVATE" not in by_name.content
        assert api.get(PATH, params={"name": "nowhere"}).status_code == 404
        assert api.get(PATH).status_code == 400
    with server.client() as anonymous:
        assert anonymous.get(PATH, params={"name": "dev"}).status_code == 401
    # The same certificate as the cluster's newest key (what the controller seals with).
    fetched = tidegate("seal", f"--kubeconfig={bed.clusters['dev'].kubeconfig}", "--fetch-cert")
    assert fetched.returncode == 0, fetched.stderr
    assert fetched.stdout.encode() == by_name.content

    kubeseal = binaries.find("kubeseal")
    if kubeseal is None:
        pytest.fail("kubeseal is not built: ./dev test builds it (tidegate testenv build)")
    cert = tmp_path / "dev.pem"
    cert.write_bytes(by_name.content)
    done = subprocess.run(
        [str(kubeseal), "--cert", str(cert), "-o", "json"],
        input=json.dumps(make_secret(app_ns, "via-server", token="srv-tok-4")),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    sealed: dict[str, Any] = json.loads(done.stdout)
    scenario.apply_manifests(bed, "dev", [sealed])
    secret = until(
        lambda: get(bed, "dev", f"/api/v1/namespaces/{app_ns}/secrets/via-server"), within=60
    )
    assert plain(secret) == {"token": "srv-tok-4"}
    assert "srv-tok-4" not in controller.log.read_text()


def test_certificate_needs_clusters_get(
    testbed_handle: handle.TestBed,
    server: serverproc.ServerProcess,  # noqa: F811
    token: str,  # noqa: F811
    control_namespace: str,  # noqa: F811
) -> None:
    dev = testbed_handle.clusters["dev"].server
    policy = f"p, admin, clusters, get, {dev}, deny\n"
    scenario.apply_manifests(
        testbed_handle, "mgmt", [rbac_cm(control_namespace, **{"policy.csv": policy})]
    )
    with server.client(token=token) as api:
        until(lambda: api.get(PATH, params={"name": "dev"}).status_code == 403, within=30)
        refused = api.get(PATH, params={"name": "dev"})
        assert f"permission denied: clusters, get, {dev}" in refused.json()["message"]
