"""Render a chart from a Helm repository, cold and warm, against the same chart as a directory.

The repository is served by a stdlib HTTP server on loopback with basic auth (the same code path
as any chart repository: index.yaml, then the archive); no test bed is needed. The chart has
``--objects`` ConfigMaps and Deployments, and the index ``--index-charts`` other charts (real
indexes are large: parsing them is part of the cold cost).

- cold: a new ChartCache and RenderCache: index download + parse, archive download + unpack,
  ``helm template``; each phase timed on its own;
- warm, chart cached: a new RenderCache, the ChartCache kept (index fresh): ``helm template``
  plus the cache lookups;
- warm, all cached: the RenderCache hit;
- directory: the same chart as a checked-out directory, ``helm template`` (cold) and cached.

Run: ``.venv/bin/python bench/helm_bench.py [--rounds 5] [--objects 100] [--index-charts 2000]``
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import http.server
import io
import statistics
import sys
import tarfile
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).parent))
import common

from tidegate import render
from tidegate.sources import charts, credentials

USER, PASSWORD = "bench", "bench-password"

TEMPLATE = """{{- range $i := until (int .Values.count) }}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ $.Release.Name }}-cm-{{ $i }}
data:
  index: {{ $i | quote }}
  greeting: {{ $.Values.greeting | quote }}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ $.Release.Name }}-app-{{ $i }}
spec:
  replicas: 1
  selector: {matchLabels: {app: "{{ $.Release.Name }}-{{ $i }}"}}
  template:
    metadata: {labels: {app: "{{ $.Release.Name }}-{{ $i }}"}}
    spec:
      containers:
      - name: app
        image: registry.example.com/app:{{ $i }}
{{- end }}
"""


def make_chart(root: Path, objects: int) -> Path:
    chart = root / "bench"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: bench\nversion: 1.0.0\n")
    (chart / "values.yaml").write_text(f"count: {objects // 2}\ngreeting: hello\n")
    (chart / "templates" / "all.yaml").write_text(TEMPLATE)
    return chart


def archive(chart: Path) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as tar:
        tar.add(str(chart), arcname="bench")
    return raw.getvalue()


def index(extra: int) -> bytes:
    entries: dict[str, Any] = {
        "bench": [{"name": "bench", "version": "1.0.0", "urls": ["bench-1.0.0.tgz"]}]
    }
    for i in range(extra):
        entries[f"other-{i}"] = [
            {
                "name": f"other-{i}",
                "version": f"1.{v}.0",
                "description": "another chart in the repository",
                "urls": [f"other-{i}-1.{v}.0.tgz"],
                "digest": "0" * 64,
            }
            for v in range(5)
        ]
    return yaml.safe_dump({"apiVersion": "v1", "entries": entries}).encode()


def serve(files: dict[str, bytes]) -> http.server.ThreadingHTTPServer:
    token = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = files.get(self.path)
            if self.headers.get("Authorization") != token:
                self.send_response(401)
                body = b""
            else:
                self.send_response(200 if body is not None else 404)
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def request(root: Path, path: str, commit: str) -> render.RenderRequest:
    return render.RenderRequest(
        root=root,
        path=path,
        commit=commit,
        app_name="bench",
        namespace="bench",
        source_type=render.SourceType.HELM,
    )


async def run(rounds: int, objects: int, extra: int) -> None:
    found = render.discover()
    found.require_helm()
    with tempfile.TemporaryDirectory(prefix="tidegate-helm-bench-") as temp:
        base = Path(temp)
        chart = make_chart(base / "src", objects)
        index_bytes = index(extra)
        server = serve({"/index.yaml": index_bytes, "/bench-1.0.0.tgz": archive(chart)})
        url = f"http://127.0.0.1:{server.server_address[1]}"
        creds = credentials.RepoCredentials(username=USER, password=PASSWORD)
        req = charts.ChartRequest(url, "bench", "^1.0", creds)
        phases: dict[str, list[float]] = {
            k: [] for k in ("index", "pull", "template", "cold", "warm-chart", "warm-all")
        }
        directory: dict[str, list[float]] = {"cold": [], "cached": []}
        rendered = 0
        for number in range(rounds):
            cache = charts.ChartCache(base / f"charts-{number}")
            render_cache = render.RenderCache()
            started = time.perf_counter()
            await cache.index(url, creds, max_age=None)
            indexed = time.perf_counter()
            fetched = await cache.fetch(req)
            pulled = time.perf_counter()
            result = await render.render(
                request(fetched.root, fetched.path, fetched.digest), cache=render_cache, found=found
            )
            done = time.perf_counter()
            rendered = len(result.objects)
            phases["index"].append(indexed - started)
            phases["pull"].append(pulled - indexed)
            phases["template"].append(done - pulled)
            phases["cold"].append(done - started)

            started = time.perf_counter()
            fetched = await cache.fetch(req)
            await render.render(
                request(fetched.root, fetched.path, fetched.digest),
                cache=render.RenderCache(),
                found=found,
            )
            phases["warm-chart"].append(time.perf_counter() - started)

            started = time.perf_counter()
            fetched = await cache.fetch(req)
            await render.render(
                request(fetched.root, fetched.path, fetched.digest), cache=render_cache, found=found
            )
            phases["warm-all"].append(time.perf_counter() - started)

            dir_cache = render.RenderCache()
            started = time.perf_counter()
            await render.render(request(base / "src", "bench", "c1"), cache=dir_cache, found=found)
            directory["cold"].append(time.perf_counter() - started)
            started = time.perf_counter()
            await render.render(request(base / "src", "bench", "c1"), cache=dir_cache, found=found)
            directory["cached"].append(time.perf_counter() - started)
        server.shutdown()
        server.server_close()

    common.header(
        f"Helm repository chart vs directory: {rendered} objects, "
        f"index {len(index_bytes) / 1e6:.1f} MB ({extra + 1} charts), {rounds} rounds"
    )
    for label, samples in phases.items():
        common.row(f"repository {label}", common.spread(samples))
    for label, samples in directory.items():
        common.row(f"directory {label}", common.spread(samples))
    cold = statistics.median(phases["cold"])
    dir_cold = statistics.median(directory["cold"])
    common.row("ratio cold repository / directory", f"{cold / dir_cold:.2f}x")
    warm = statistics.median(phases["warm-chart"])
    common.row("ratio warm (chart cached) / directory", f"{warm / dir_cold:.2f}x")
    share = {k: statistics.median(phases[k]) / cold for k in ("index", "pull", "template")}
    common.row(
        "cold time goes to (medians)",
        ", ".join(f"{k} {v:.0%}" for k, v in share.items()),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--objects", type=int, default=100)
    parser.add_argument("--index-charts", type=int, default=2000)
    args = parser.parse_args()
    asyncio.run(run(args.rounds, args.objects, args.index_charts))


if __name__ == "__main__":
    main()
