"""The webhook endpoint over real HTTP: uvicorn on 127.0.0.1, port 0, driven with httpx."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tidegate.controller import webhook, webhook_server
from tidegate.model import errors

TESTDATA = Path(__file__).parent / "testdata" / "webhooks"
LIMIT = 64 * 1024
SECRET = "s3cr3t-hook-value"


def fixture(name: str) -> tuple[dict[str, str], bytes]:
    data = yaml.safe_load((TESTDATA / f"{name}.yaml").read_text())
    return dict(data["headers"]), json.dumps(data["payload"]).encode()


def github_signature(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class Recorder:
    """The controller's on_push stand-in: records events, answers a count or raises."""

    def __init__(self) -> None:
        self.events: list[webhook.PushEvent] = []
        self.answer = 2
        self.error: BaseException | None = None

    async def __call__(self, event: webhook.PushEvent) -> int:
        self.events.append(event)
        if self.error is not None:
            raise self.error
        return self.answer


class Endpoint:
    def __init__(self) -> None:
        self.recorder = Recorder()
        self.secrets = webhook.WebhookSecrets()
        self.server: webhook_server.Server | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return self.server.url + webhook_server.WEBHOOK_PATH


@pytest.fixture
async def endpoint() -> AsyncIterator[Endpoint]:
    state = Endpoint()
    app = webhook_server.create_app(
        on_push=state.recorder, secrets=lambda: state.secrets, max_body_bytes=LIMIT
    )
    async with await webhook_server.serve(app, "127.0.0.1", 0) as server:
        state.server = server
        yield state


async def post(url: str, headers: dict[str, str], content: Any) -> httpx.Response:
    async with httpx.AsyncClient(timeout=30) as client:
        return await client.post(url, headers=headers, content=content)


async def test_push_refreshes_through_the_callback(
    endpoint: Endpoint, caplog: pytest.LogCaptureFixture
) -> None:
    headers, body = fixture("github-push-branch")
    with caplog.at_level(logging.INFO, logger=webhook_server.__name__):
        resp = await post(endpoint.url, headers, body)
    assert (resp.status_code, resp.json()) == (200, {"refreshed": 2})
    [event] = endpoint.recorder.events
    assert (event.provider, event.revision) == (webhook.Provider.GITHUB, "main")
    assert "apps/guestbook/deployment.yaml" in event.changed_files
    [record] = [r for r in caplog.records if "refreshed" in r.getMessage()]
    assert record.getMessage() == (
        "webhook github push to 'github.com/acme/deploy-config' 'main'"
        " (delivery '6f1c2a90-4b0e-11ef-8a4e-2f9f1a3c0b11'): 2 application(s) refreshed"
    )
    assert record.__dict__["refreshed"] == 2 and record.__dict__["provider"] == "github"


async def test_each_provider_fixture_is_accepted(endpoint: Endpoint) -> None:
    names = [
        "gitlab-push",
        "bitbucket-push",
        "bitbucketserver-refs-changed",
        "gitea-push",
        "gogs-push",
    ]
    for name in names:
        headers, body = fixture(name)
        resp = await post(endpoint.url, headers, body)
        assert (name, resp.status_code) == (name, 200)
    assert [e.provider.value for e in endpoint.recorder.events] == [
        "gitlab", "bitbucket", "bitbucketserver", "gitea", "gogs"
    ]  # fmt: skip


async def test_ping_answers_without_refreshing(endpoint: Endpoint) -> None:
    headers, body = fixture("github-ping")
    resp = await post(endpoint.url, headers, body)
    assert (resp.status_code, resp.json()) == (200, {"refreshed": 0, "ping": True})
    assert endpoint.recorder.events == []


async def test_signatures_with_hot_reloaded_secret(
    endpoint: Endpoint, caplog: pytest.LogCaptureFixture
) -> None:
    headers, body = fixture("github-push-branch")
    endpoint.secrets = webhook.WebhookSecrets(github=SECRET)
    with caplog.at_level(logging.DEBUG):
        missing = await post(endpoint.url, headers, body)
        wrong = await post(
            endpoint.url, headers | {"X-Hub-Signature-256": github_signature(body, "nope")}, body
        )
        good = await post(
            endpoint.url, headers | {"X-Hub-Signature-256": github_signature(body)}, body
        )
        endpoint.secrets = webhook.WebhookSecrets(github="rotated")
        stale = await post(
            endpoint.url, headers | {"X-Hub-Signature-256": github_signature(body)}, body
        )
    assert [r.status_code for r in (missing, wrong, good, stale)] == [401, 401, 200, 401]
    assert missing.json() == {
        "error": "github delivery has no X-Hub-Signature-256 header,"
        " but a webhook secret is configured"
    }
    assert wrong.json() == {
        "error": "github delivery: the X-Hub-Signature-256 signature does not match the body"
        " signed with the configured secret"
    }
    assert len(endpoint.recorder.events) == 1
    everything = caplog.text + missing.text + wrong.text + stale.text
    for secret_text in (
        SECRET,
        "rotated",
        github_signature(body)[7:],
        github_signature(body, "rotated")[7:],
    ):
        assert secret_text not in everything
    assert "netpol" not in caplog.text  # nothing of the body is logged


async def test_refused_deliveries(endpoint: Endpoint) -> None:
    unsupported = await post(endpoint.url, {"X-GitHub-Event": "issues"}, b"{}")
    malformed = await post(
        endpoint.url, {"X-Gitlab-Event": "Push Hook"}, b'{"ref": "refs/heads/main",}'
    )
    unknown = await post(endpoint.url, {}, b"{}")
    assert (unsupported.status_code, unsupported.json()) == (
        400,
        {
            "error": "unsupported github event: X-GitHub-Event='issues'"
            " (only push events are handled)"
        },
    )
    assert (malformed.status_code, malformed.json()) == (
        400,
        {
            "error": "gitlab delivery: malformed JSON: Expecting property name enclosed in double"
            " quotes at line 1 column 27 (char 26)"
        },
    )
    assert unknown.status_code == 400 and "X-GitHub-Event" in unknown.json()["error"]
    assert endpoint.recorder.events == []


async def test_callback_failures_are_500(endpoint: Endpoint) -> None:
    headers, body = fixture("gitlab-push")
    endpoint.recorder.error = errors.KubeServerError("patching Application argocd/guestbook: 503")
    known = await post(endpoint.url, headers, body)
    endpoint.recorder.error = RuntimeError("boom: internal detail")
    unknown = await post(endpoint.url, headers, body)
    assert (known.status_code, known.json()) == (
        500,
        {"error": "refresh failed: patching Application argocd/guestbook: 503"},
    )
    assert (unknown.status_code, unknown.json()) == (
        500,
        {"error": "refresh failed: internal error"},
    )


async def test_body_at_the_limit_is_accepted(endpoint: Endpoint) -> None:
    headers, body = fixture("gogs-push")
    padded = body + b" " * (LIMIT - len(body))
    assert len(padded) == LIMIT
    resp = await post(endpoint.url, headers, padded)
    assert resp.status_code == 200


async def test_declared_oversize_is_413(endpoint: Endpoint) -> None:
    headers, _ = fixture("gogs-push")
    resp = await post(endpoint.url, headers, b" " * (LIMIT + 1))
    assert (resp.status_code, resp.json()) == (
        413,
        {"error": f"webhook body of {LIMIT + 1} bytes exceeds the limit of {LIMIT} bytes"},
    )
    assert resp.headers["connection"] == "close"


async def test_streamed_oversize_is_413(endpoint: Endpoint) -> None:
    """No Content-Length (chunked): the limit is enforced on the bytes as they arrive."""
    sent = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal sent
        for _ in range(24):  # 1.5 x LIMIT
            sent += 4096
            yield b" " * 4096

    headers, _ = fixture("gogs-push")
    resp = await post(endpoint.url, headers, body())
    assert (resp.status_code, resp.json()) == (
        413,
        {"error": f"webhook body exceeds the limit of {LIMIT} bytes"},
    )
    assert endpoint.recorder.events == []


async def test_huge_stream_is_not_read_to_the_end(endpoint: Endpoint) -> None:
    """A 64 MiB upload: the server stops reading long before the end and drops the connection."""
    chunk, total = b" " * 65536, 1024
    produced = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal produced
        for _ in range(total):
            produced += 1
            yield chunk

    headers, _ = fixture("gogs-push")
    try:
        resp = await post(endpoint.url, headers, body())
    except httpx.TransportError:
        pass  # the server closed while the client was still sending: expected
    else:
        assert resp.status_code == 413
    # Socket buffers let the client push a few MiB ahead; the server read at most 2 x LIMIT.
    assert produced < total // 4


async def test_unfinished_chunked_body_gets_413(endpoint: Endpoint) -> None:
    """The request never ends (no final chunk), yet the answer comes: nothing waited for the end."""
    assert endpoint.server is not None
    reader, writer = await asyncio.open_connection("127.0.0.1", endpoint.server.port)
    writer.write(
        b"POST /api/webhook HTTP/1.1\r\nHost: localhost\r\nX-Gogs-Event: push\r\n"
        b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    )

    async def send_chunks() -> None:
        piece = b" " * 8192
        with contextlib.suppress(ConnectionError):
            for _ in range(4 * LIMIT // len(piece)):
                writer.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                await writer.drain()

    sender = asyncio.create_task(send_chunks())
    try:
        status_line = await asyncio.wait_for(reader.readline(), timeout=10)
    finally:
        await sender
        writer.close()
    assert status_line.startswith(b"HTTP/1.1 413 ")


async def test_healthz_and_method(endpoint: Endpoint) -> None:
    assert endpoint.server is not None
    async with httpx.AsyncClient() as client:
        health = await client.get(endpoint.server.url + "/healthz")
        wrong_method = await client.get(endpoint.url)
    assert (health.status_code, health.text) == (200, "ok")
    assert wrong_method.status_code == 405


async def test_serve_reports_port_and_stops() -> None:
    app = webhook_server.create_app(on_push=Recorder(), secrets=webhook.WebhookSecrets())
    server = await webhook_server.serve(app, "127.0.0.1", 0)
    assert server.port > 0 and server.url == f"http://127.0.0.1:{server.port}"
    with pytest.raises(errors.ConfigError, match=rf"cannot listen on 127.0.0.1:{server.port}"):
        await webhook_server.serve(app, "127.0.0.1", server.port)
    async with httpx.AsyncClient() as client:
        assert (await client.get(server.url + "/healthz")).status_code == 200
    await server.stop()
    await server.stop()  # idempotent
    with (
        pytest.raises(ConnectionRefusedError),
        socket.create_connection(("127.0.0.1", server.port), 2),
    ):
        pass
