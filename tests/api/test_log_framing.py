"""Pod log lines in Argo CD's LogEntry framing (pure)."""

from __future__ import annotations

from tidegate.api import app_resources


def test_log_line_becomes_a_log_entry() -> None:
    entry = app_resources.log_entry("2026-12-06T12:00:00.123456789Z hello  world ", "web-1")
    assert entry == {
        "result": {
            "content": "hello  world ",
            "timeStampStr": "2026-12-06T12:00:00.123456789Z",
            "timeStamp": "2026-12-06T12:00:00.123456789Z",
            "podName": "web-1",
            "last": False,
        }
    }


def test_empty_log_line_keeps_its_timestamp() -> None:
    entry = app_resources.log_entry("2026-12-06T12:00:00Z", "web-1")
    assert entry["result"]["content"] == "" and entry["result"]["timeStampStr"]
