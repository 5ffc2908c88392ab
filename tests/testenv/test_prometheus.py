"""The test bed's Prometheus scrapes a target the test controls and answers PromQL."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tidegate.model import errors
from tidegate.testenv import procs, prometheus


class _Metrics(BaseHTTPRequestHandler):
    value = 0.97

    def do_GET(self) -> None:
        body = f"# TYPE test_success_ratio gauge\ntest_success_ratio {self.value}\n".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def target() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Metrics)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_scrapes_the_target_and_answers_queries(tmp_path: Path, target: str) -> None:
    with prometheus.Prometheus.start(tmp_path, [target], job="probe") as prom:
        result = prom.wait_for('test_success_ratio{job="probe"}')
        assert float(result[0]["value"][1]) == pytest.approx(0.97)
        assert result[0]["metric"]["instance"] == target
        with pytest.raises(errors.TestEnvError, match="refused"):
            prom.query("sum(")
    assert not procs.alive(prom.pid)


def test_scrape_config_names_every_target() -> None:
    config = prometheus.scrape_config(
        ["a:1", "b:2"], scrape_interval="2s", metrics_path="/m", job="j"
    )
    job = config["scrape_configs"][0]
    assert job["static_configs"] == [{"targets": ["a:1", "b:2"]}]
    assert (job["metrics_path"], job["scrape_interval"]) == ("/m", "2s")
