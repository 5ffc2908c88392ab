from __future__ import annotations

import datetime as dt
import pathlib
from typing import Any

import pytest
import yaml

from tidegate.model import durations, errors
from tidegate.sync import retry, windows

CASES = yaml.safe_load((pathlib.Path(__file__).parent / "testdata/windows.yaml").read_text())
DEFAULT_APP = {"name": "web", "namespace": "shop", "server": "https://kubernetes.default.svc"}


def _time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_sync_windows(case: dict[str, Any]) -> None:
    specs = [windows.SyncWindow.from_spec(w) for w in case["windows"]]
    app = windows.AppRef(**case.get("app", DEFAULT_APP))
    started = _time(case["started"]) if "started" in case else None
    verdict = windows.evaluate(
        specs, app, _time(case["now"]), manual=case.get("manual", False), started=started
    )
    expected = case["expected"]
    assert verdict.allowed is expected["allowed"]
    if "matched" in expected:
        assert len(verdict.matched) == expected["matched"]
    if "active" in expected:
        assert len(verdict.active) == expected["active"]
    if "next_change" in expected:
        want = expected["next_change"]
        assert verdict.next_change == (_time(want) if want else None)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"kind": "maybe", "schedule": "* * * * *", "duration": "1h"}, "allow or deny"),
        ({"kind": "deny", "schedule": "61 * * * *", "duration": "1h"}, "not a valid cron"),
        ({"kind": "deny", "schedule": "* * * * *", "duration": "1 hour"}, "invalid duration"),
        ({"kind": "deny", "schedule": "* * * * *", "duration": "1h", "timeZone": "Mars/Base"},
         "timeZone 'Mars/Base' is unknown"),
    ],
)  # fmt: skip
def test_invalid_windows_name_the_cause(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(errors.SpecError, match=message):
        windows.SyncWindow.from_spec(spec)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("5s", 5), ("2m", 120), ("1h", 3600), ("1h30m", 5400), ("250ms", 0.25), ("10", 10),
     ("1.5h", 5400), ("0", 0)],
)  # fmt: skip
def test_parse_duration(text: str, seconds: float) -> None:
    assert durations.parse(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "5x", "m", "5 s", "-5s"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(errors.SpecError, match="invalid duration"):
        durations.parse(text)


@pytest.mark.parametrize(
    ("spec", "delays"),
    [
        (None, [5, 10, 20, 40, 80, 160, 180, 180]),
        ({"duration": "1m", "factor": 3, "maxDuration": "10m"}, [60, 180, 540, 600]),
        ({"duration": "30s", "factor": 1}, [30, 30, 30]),
    ],
)
def test_next_retry_delay(spec: dict[str, Any] | None, delays: list[float]) -> None:
    backoff = retry.Backoff.from_spec(spec)
    assert [retry.next_retry_delay(i, backoff) for i in range(len(delays))] == delays


def test_retry_limit() -> None:
    assert retry.should_retry(0, 2) and retry.should_retry(1, 2) and not retry.should_retry(2, 2)
    assert retry.should_retry(100, -1)
    with pytest.raises(errors.SpecError, match="factor must be at least 1"):
        retry.Backoff.from_spec({"factor": 0.5})
