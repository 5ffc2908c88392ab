"""A real Prometheus for tests and benchmarks (Debian's ``prometheus`` package).

``Prometheus.start(workdir, targets=[...])`` writes a scrape configuration for the given
``host:port`` targets, starts ``prometheus`` on a free loopback port with its storage under
``workdir`` and returns once it answers ``/-/ready``. It is a context manager: leaving the
``with`` block stops the process. Queries go through the HTTP API (``/api/v1/query``).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
import yaml

from tidegate.model import errors
from tidegate.testenv import prereqs, procs

MARKER = "--web.listen-address=127.0.0.1:"


def scrape_config(
    targets: Sequence[str], *, scrape_interval: str, metrics_path: str, job: str
) -> dict[str, Any]:
    """Prometheus' configuration: one job scraping ``targets`` every ``scrape_interval``."""
    return {
        "global": {"scrape_interval": scrape_interval, "evaluation_interval": scrape_interval},
        "scrape_configs": [
            {
                "job_name": job,
                "metrics_path": metrics_path,
                "scrape_interval": scrape_interval,
                "scrape_timeout": scrape_interval,
                "static_configs": [{"targets": list(targets)}],
            }
        ],
    }


@dataclass
class Prometheus:
    """A running Prometheus; ``url`` is its HTTP base (``http://127.0.0.1:PORT``)."""

    url: str
    pid: int
    log: Path

    @classmethod
    def start(
        cls,
        workdir: Path,
        targets: Sequence[str],
        *,
        scrape_interval: str = "1s",
        metrics_path: str = "/metrics",
        job: str = "tidegate",
        timeout: float = 60.0,
    ) -> Prometheus:
        binary = prereqs.require("prometheus")
        workdir.mkdir(parents=True, exist_ok=True)
        config = workdir / "prometheus.yml"
        config.write_text(
            yaml.safe_dump(
                scrape_config(
                    targets, scrape_interval=scrape_interval, metrics_path=metrics_path, job=job
                )
            )
        )
        port = procs.free_port()
        log = workdir / "prometheus.log"
        pid = procs.spawn(
            [
                str(binary),
                f"--config.file={config}",
                f"--storage.tsdb.path={workdir / 'data'}",
                f"{MARKER}{port}",
                "--storage.tsdb.retention.time=1h",
                "--log.level=warn",
            ],
            log=log,
            cwd=workdir,
        )
        prom = cls(url=f"http://127.0.0.1:{port}", pid=pid, log=log)
        prom._wait_ready(timeout)
        return prom

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and procs.alive(self.pid):
            try:
                if httpx.get(f"{self.url}/-/ready", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise errors.TestEnvError(
            f"prometheus did not become ready at {self.url}; last log lines:\n"
            f"{procs.tail(self.log)}\nfull log: {self.log}"
        )

    def query(self, promql: str) -> list[dict[str, Any]]:
        """The result vector of an instant query; a query Prometheus refuses raises."""
        reply = httpx.get(f"{self.url}/api/v1/query", params={"query": promql}, timeout=10)
        body = reply.json()
        if reply.status_code != 200 or body.get("status") != "success":
            raise errors.TestEnvError(
                f"prometheus refused {promql!r}: {body.get('error') or reply.text[:200]}"
            )
        result = body["data"]["result"]
        return result if isinstance(result, list) else [{"value": result}]

    def wait_for(self, promql: str, *, timeout: float = 30.0) -> list[dict[str, Any]]:
        """Poll ``promql`` until it returns a non-empty result (scrapes take an interval)."""
        deadline = time.monotonic() + timeout
        while True:
            result = self.query(promql)
            if result:
                return result
            if time.monotonic() > deadline:
                raise errors.TestEnvError(f"{promql!r} returned nothing within {timeout:g}s")
            time.sleep(0.2)

    def stop(self) -> None:
        procs.stop([self.pid], marker=MARKER)

    def __enter__(self) -> Prometheus:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
