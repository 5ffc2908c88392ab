"""Application streams of a real ``tidegate server``: both framings, filters, keepalives."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tidegate.testenv import handle, scenario, serverproc

pytestmark = pytest.mark.e2e
JSON = {"Content-Type": "application/json"}
KEEPALIVE = 0.3


@pytest.fixture(scope="module")
def server(
    testbed_handle: handle.TestBed,
    control_namespace: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[serverproc.ServerProcess]:
    log = tmp_path_factory.mktemp("server") / "server.log"
    proc = serverproc.ServerProcess(
        testbed_handle, control_namespace, log=log, extra=[f"--stream-keepalive={KEEPALIVE}"]
    ).start()
    try:
        yield proc
    finally:
        proc.stop()


def _create(api: httpx.Client, bed: handle.TestBed, name: str, labels: dict[str, str]) -> None:
    app = scenario.application(
        name,
        repo_url="https://git.example/none.git",
        path="app",
        server=bed.clusters["dev"].server,
        namespace="streams",
        automated=False,
    )
    app["metadata"]["labels"] = labels
    resp = api.post(
        "/api/v1/applications", content=json.dumps(app), headers=JSON, params={"validate": "false"}
    )
    assert resp.status_code == 200, resp.text


def _label(api: httpx.Client, name: str, value: str) -> None:
    patch = json.dumps({"metadata": {"labels": {"step": value}}})
    resp = api.patch(
        f"/api/v1/applications/{name}",
        content=json.dumps({"patch": patch, "patchType": "merge"}),
        headers=JSON,
    )
    assert resp.status_code == 200, resp.text


def _ndjson(lines: Iterator[str]) -> dict[str, Any]:
    line = next(lines)
    message: dict[str, Any] = json.loads(line)
    return message["result"]


def _sse(lines: Iterator[str], keepalives: list[str]) -> dict[str, Any]:
    for line in lines:
        if line.startswith(":"):
            keepalives.append(line)
            continue
        if line.startswith("data: "):
            message: dict[str, Any] = json.loads(line[len("data: ") :])
            return message["result"]
    raise AssertionError("stream ended")


def test_ndjson_stream_delivers_changes(
    server: serverproc.ServerProcess, token: str, testbed_handle: handle.TestBed
) -> None:
    name = f"nd-{secrets.token_hex(3)}"
    with server.client(token=token) as api:
        _create(api, testbed_handle, name, {"stream": name})
        with api.stream("GET", "/api/v1/stream/applications", params={"name": name}) as resp:
            assert resp.status_code == 200
            assert resp.headers["content-type"].startswith("application/json")
            lines = resp.iter_lines()
            first = _ndjson(lines)
            assert first["type"] == "ADDED"
            assert first["application"]["metadata"]["name"] == name
            _label(api, name, "one")
            changed = _ndjson(lines)
            assert changed["type"] == "MODIFIED"
            assert changed["application"]["metadata"]["labels"]["step"] == "one"
            api.request(
                "DELETE", f"/api/v1/applications/{name}", params={"cascade": "false"}, headers=JSON
            )
            events = [_ndjson(lines)]
            while events[-1]["type"] != "DELETED":  # the finalizer change comes first
                events.append(_ndjson(lines))
            assert {e["type"] for e in events} <= {"MODIFIED", "DELETED"}


def test_sse_stream_filters_and_keeps_alive(
    server: serverproc.ServerProcess, token: str, testbed_handle: handle.TestBed
) -> None:
    tag = secrets.token_hex(3)
    watched, other = f"sse-a-{tag}", f"sse-b-{tag}"
    with server.client(token=token) as api:
        _create(api, testbed_handle, watched, {"group": f"in-{tag}"})
        _create(api, testbed_handle, other, {"group": f"out-{tag}"})
        headers = {"Accept": "text/event-stream"}
        params = {
            "selector": f"group=in-{tag}",
            "fields": "result.type,result.application.metadata",
        }
        keepalives: list[str] = []
        with api.stream(
            "GET", "/api/v1/stream/applications", params=params, headers=headers
        ) as resp:
            assert resp.headers["content-type"].startswith("text/event-stream")
            lines = resp.iter_lines()
            first = _sse(lines, keepalives)
            assert first["type"] == "ADDED" and first["application"]["metadata"]["name"] == watched
            assert set(first["application"]) == {"metadata"}  # fields applied
            _label(api, other, "ignored")  # filtered out by the selector
            _label(api, watched, "seen")
            changed = _sse(lines, keepalives)
            assert changed["application"]["metadata"]["name"] == watched
            assert changed["application"]["metadata"]["labels"]["step"] == "seen"
            while not keepalives:  # an idle stream gets ':' comment lines
                for line in lines:
                    if line.startswith(":"):
                        keepalives.append(line)
                        break
        tree_path = f"/api/v1/stream/applications/{watched}/resource-tree"
        with api.stream("GET", tree_path) as resp:
            assert _ndjson(resp.iter_lines()) == {"nodes": []}
        for name in (watched, other):
            api.request(
                "DELETE", f"/api/v1/applications/{name}", params={"cascade": "false"}, headers=JSON
            )


def _appset(name: str, labels: dict[str, str]) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "generators": [{"list": {"elements": [{"env": "dev"}]}}],
            "template": {
                "metadata": {"name": "{{env}}-" + name},
                "spec": {
                    "project": "default",
                    "source": {"repoURL": "https://git.example/x.git", "path": "x"},
                    "destination": {"server": "https://dev", "namespace": "x"},
                },
            },
        },
    }


def test_applicationset_stream(server: serverproc.ServerProcess, token: str) -> None:
    with server.client(token=token) as api:
        _appset_stream(api)


def _appset_stream(api: httpx.Client) -> None:
    group = secrets.token_hex(3)
    first, second = f"set-a-{group}", f"set-b-{group}"
    resp = api.post(
        "/api/v1/applicationsets", content=json.dumps(_appset(first, {"g": group})), headers=JSON
    )
    assert resp.status_code == 200, resp.text
    params = {"selector": f"g={group}"}
    with api.stream("GET", "/api/v1/stream/applicationsets", params=params) as stream:
        assert stream.status_code == 200
        lines = (line for line in stream.iter_lines() if line)
        added = _ndjson(lines)
        assert added["type"] == "ADDED" and added["applicationSet"]["metadata"]["name"] == first
        assert added["applicationSet"]["kind"] == "ApplicationSet"
        other = _appset(f"set-c-{group}", {"g": "someone-else"})
        assert (
            api.post("/api/v1/applicationsets", content=json.dumps(other), headers=JSON).status_code
            == 200
        )
        made = api.post(
            "/api/v1/applicationsets",
            content=json.dumps(_appset(second, {"g": group})),
            headers=JSON,
        )
        assert made.status_code == 200, made.text
        change = _ndjson(lines)  # the other set does not match the selector
        assert change["type"] == "ADDED" and change["applicationSet"]["metadata"]["name"] == second
        deleted = api.request("DELETE", f"/api/v1/applicationsets/{first}", headers=JSON)
        assert deleted.status_code == 200
        while (change := _ndjson(lines))["type"] != "DELETED":  # status updates of the sets
            assert change["applicationSet"]["metadata"]["name"] in (first, second)
        assert change["applicationSet"]["metadata"]["name"] == first
    bad = api.get("/api/v1/stream/applicationsets", params={"selector": "a in b"})
    assert bad.status_code == 400 and "selector" in bad.json()["message"]
    for n in (second, f"set-c-{group}"):
        api.request("DELETE", f"/api/v1/applicationsets/{n}", headers=JSON)
