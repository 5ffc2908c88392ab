"""The server is stateless (issue 18, 3): two ``tidegate server`` processes of one control
namespace, with nothing between them, serve the same sessions. A session token is signed with
``server.secretkey`` of ``argocd-secret``, which both read from the API server (the first to
start generates it; the other finds it), so a token issued by one is accepted by the other,
and what one writes through the API the other serves at once."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest

from tidegate.testenv import handle, serverproc

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def two_servers(
    testbed_handle: handle.TestBed,
    control_namespace: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[serverproc.ServerProcess, serverproc.ServerProcess]]:
    workdir = tmp_path_factory.mktemp("servers")
    started: list[serverproc.ServerProcess] = []
    try:
        for name in ("a", "b"):
            started.append(
                serverproc.ServerProcess(
                    testbed_handle,
                    control_namespace,
                    log=workdir / f"server-{name}.log",
                    extra=["--metrics-port=-1"],
                ).start()
            )
        yield started[0], started[1]
    finally:
        for proc in started:
            proc.stop()


def test_a_token_from_one_server_is_a_session_on_the_other(
    two_servers: tuple[serverproc.ServerProcess, serverproc.ServerProcess],
) -> None:
    a, b = two_servers
    assert a.url != b.url
    token = a.login()
    with b.client(token=token) as client:
        info = client.get("/api/v1/session/userinfo")
        assert info.status_code == 200, info.text
        assert info.json()["loggedIn"] is True
        assert info.json()["username"] == "admin"
        assert client.get("/api/v1/applications").status_code == 200
    with b.client() as anonymous:  # the same request without the token is refused
        assert anonymous.get("/api/v1/applications").status_code == 401
    with b.client(token=token[:-4] + "AAAA") as forged:  # and a tampered token too
        assert forged.get("/api/v1/session/userinfo").status_code == 401


def test_what_one_server_writes_the_other_serves(
    two_servers: tuple[serverproc.ServerProcess, serverproc.ServerProcess],
    control_namespace: str,
) -> None:
    a, b = two_servers
    project = f"p-{secrets.token_hex(3)}"
    body = {
        "project": {
            "metadata": {"name": project, "namespace": control_namespace},
            "spec": {"sourceRepos": ["*"], "destinations": [{"server": "*", "namespace": "*"}]},
        }
    }
    with a.client(token=b.login()) as on_a:
        created = on_a.post("/api/v1/projects", json=body)
        assert created.status_code == 200, created.text
    with b.client(token=a.login()) as on_b:
        got = on_b.get(f"/api/v1/projects/{project}")
        assert got.status_code == 200, got.text
        assert got.json()["metadata"]["name"] == project
