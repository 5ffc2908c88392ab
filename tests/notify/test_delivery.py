"""Deliveries against a real local receiver: bounded retries with backoff, counted; a receiver
that never answers in time; a recipient list too long to accept."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tidegate.metrics import families
from tidegate.notify import config, services, subscriptions
from tidegate.testenv.receiver import Recorder


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    rec = Recorder(slow_seconds=3.0)
    try:
        yield rec
    finally:
        rec.close()


def _service(url: str, **options: object) -> config.Service:
    return config.Service(name="hook", type="webhook", options={"url": url, **options})


def _retries() -> float:
    return families.NOTIFICATIONS_RETRIES.labels("webhook").value  # type: ignore[no-any-return]


async def test_a_failing_receiver_is_retried_with_backoff_then_given_up(recorder: Recorder) -> None:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    sender = services.Sender(sleep=sleep, scrub=lambda s: s.replace("tok3n", "******"))
    before = _retries()
    service = _service(
        f"{recorder.url}/fail", retryMax=3, retryWaitMin="100ms", retryWaitMax="300ms"
    )
    note = {"message": "m", "webhook": {"hook": {"method": "POST", "path": "/x?t=tok3n"}}}
    try:
        with pytest.raises(services.DeliveryError) as failed:
            await sender.send(service, note, "")
    finally:
        await sender.aclose()
    assert len(recorder.at("/fail")) == 4
    assert waits == [0.1, 0.2, 0.3]
    assert _retries() - before == 3
    message = str(failed.value)
    assert "answered 500" in message and "after 4 attempts" in message
    assert "tok3n" not in message and "/x" not in message  # the host only, never the path


async def test_a_receiver_that_never_answers_in_time_is_bounded(recorder: Recorder) -> None:
    sender = services.Sender()
    started = time.monotonic()
    try:
        with pytest.raises(services.DeliveryError, match=r"no answer within 0\.3s"):
            await sender.send(_service(f"{recorder.url}/slow", timeout="300ms", retryMax=0), {}, "")
    finally:
        await sender.aclose()
    assert time.monotonic() - started < 3.0


def test_ten_thousand_recipients_in_an_annotation_are_refused() -> None:
    conf = config.load({"service.webhook.hook": "url: http://127.0.0.1:9"})
    app = {"metadata": {"name": "a", "namespace": "argocd", "annotations": {
        "notifications.argoproj.io/subscribe.on-sync-succeeded.hook": ";".join(
            f"r{i}" for i in range(10_000))}}}  # fmt: skip
    subs, problems = subscriptions.for_app(app, None, conf)
    assert subs == []
    assert problems == [
        "Application argocd/a: annotation notifications.argoproj.io/subscribe.on-sync-succeeded"
        ".hook: 10000 recipients; at most 1000 are accepted"
    ]
