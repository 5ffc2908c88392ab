"""Render a Jsonnet app of 500 objects (one program, a TLA and an extVar) against the same 500
objects as a plain-YAML directory, cold (no render cache). Prints medians and the ratio, and how
much of the Jsonnet time is the worker process's start (an empty program).

Run: ``.venv/bin/python bench/jsonnet_bench.py [--rounds 5]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path

import yaml
from common import header, row, spread
from render_bench import OBJECTS, deployment

from tidegate import render

# Names built with ``+``; FORMATTED below builds the same strings with ``%`` (std.format), which
# Jsonnet implements in its own standard library and which dominates a program that uses it a lot.
PROGRAM = """
function(count) [
  {
    apiVersion: 'apps/v1', kind: 'Deployment',
    metadata: { name: 'svc-' + i, labels: { app: 'svc-' + i, tier: 'backend' },
                annotations: { 'argocd.argoproj.io/sync-wave': std.toString(i % 3) } },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: 'svc-' + i } },
      template: {
        metadata: { labels: { app: 'svc-' + i, tier: 'backend' } },
        spec: { containers: [{
          name: 'app', image: std.extVar('registry') + '/svc-' + i + ':1.' + i + '.0',
          ports: [{ containerPort: 8080, name: 'http' }],
          env: [{ name: 'VAR_' + k, value: 'value-' + k } for k in std.range(0, 4)],
          resources: { requests: { cpu: '100m', memory: '128Mi' },
                       limits: { cpu: '500m', memory: '256Mi' } },
          readinessProbe: { httpGet: { path: '/healthz', port: 'http' } },
        }] },
      },
    },
  }
  for i in std.range(0, count - 1)
]
"""
FORMATTED = (
    PROGRAM.replace("'svc-' + i + ':1.' + i + '.0'", "'svc-%d:1.%d.0' % [i, i]")
    .replace("'svc-' + i", "'svc-%d' % i")
    .replace("'VAR_' + k", "'VAR_%d' % k")
    .replace("'value-' + k", "'value-%d' % k")
)


async def _time(req: render.RenderRequest, rounds: int) -> list[float]:
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        result = await render.render(req)
        samples.append(time.perf_counter() - started)
    assert result.objects
    return samples


async def main(rounds: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "jn").mkdir()
        (root / "jn" / "main.jsonnet").write_text(PROGRAM)
        (root / "fmt").mkdir()
        (root / "fmt" / "main.jsonnet").write_text(FORMATTED)
        (root / "empty").mkdir()
        (root / "empty" / "main.jsonnet").write_text("[{apiVersion: 'v1', kind: 'A'}]")
        (root / "yaml").mkdir()
        docs = [deployment(i) for i in range(OBJECTS)]
        (root / "yaml" / "all.yaml").write_text(yaml.safe_dump_all(docs))
        options = render.DirectoryOptions(
            jsonnet=render.JsonnetOptions(
                tlas=(render.JsonnetVar("count", str(OBJECTS), code=True),),
                ext_vars=(render.JsonnetVar("registry", "registry.example.com"),),
            )
        )
        base = {"commit": "", "app_name": "bench", "namespace": "ns"}
        jn = render.RenderRequest(root=root, path="jn", directory=options, **base)  # type: ignore[arg-type]
        fmt = render.RenderRequest(root=root, path="fmt", directory=options, **base)  # type: ignore[arg-type]
        empty = render.RenderRequest(root=root, path="empty", **base)  # type: ignore[arg-type]
        plain = render.RenderRequest(root=root, path="yaml", **base)  # type: ignore[arg-type]
        result = await render.render(jn)
        assert len(result.objects) == OBJECTS, len(result.objects)
        size = len(json.dumps(result.copy_objects()))
        jn_s = await _time(jn, rounds)
        fmt_s = await _time(fmt, max(1, rounds // 2))
        empty_s = await _time(empty, rounds)
        plain_s = await _time(plain, rounds)
    header(f"Jsonnet app of {OBJECTS} objects ({size // 1024} KiB of JSON), cold, {rounds} rounds")
    row("jsonnet render", spread(jn_s))
    row("  of which worker start (empty program)", spread(empty_s))
    row("same program with std.format ('%')", spread(fmt_s))
    row("same objects as plain YAML", spread(plain_s))
    ratio = statistics.median(jn_s) / statistics.median(plain_s)
    row("ratio jsonnet / plain YAML (median)", f"{ratio:.2f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    asyncio.run(main(parser.parse_args().rounds))
