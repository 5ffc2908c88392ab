"""Render a 500-object plain-YAML directory, cold and cached; plus Helm and Kustomize cold.

Cold: a fresh render (walk, read, parse, track). Cached: the same request through a warm
``RenderCache`` (must cost under 1% of cold). Run: ``.venv/bin/python bench/render_bench.py``
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import yaml

from tidegate import render

OBJECTS = 500
PER_FILE = 10


# Synthetic but realistic manifests (also used by parse_bench.py).
def deployment(i: int, *, shared_labels: bool = False) -> dict[str, Any]:
    labels = {"app": f"svc-{i}", "tier": "backend", "team": f"team-{i % 7}"}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": f"svc-{i}",
            "labels": labels,
            "annotations": {"argocd.argoproj.io/sync-wave": str(i % 3)},
        },
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": f"svc-{i}"}},
            "template": {
                "metadata": {"labels": labels if shared_labels else dict(labels)},
                "spec": {
                    "containers": [
                        {
                            "name": "app",
                            "image": f"registry.example.com/svc-{i}:1.{i}.0",
                            "ports": [{"containerPort": 8080, "name": "http"}],
                            "env": [{"name": f"VAR_{k}", "value": f"value-{k}"} for k in range(5)],
                            "resources": {
                                "requests": {"cpu": "100m", "memory": "128Mi"},
                                "limits": {"cpu": "500m", "memory": "256Mi"},
                            },
                            "readinessProbe": {"httpGet": {"path": "/healthz", "port": "http"}},
                        }
                    ]
                },
            },
        },
    }


def service(i: int) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": f"svc-{i}", "labels": {"app": f"svc-{i}"}},
        "spec": {
            "selector": {"app": f"svc-{i}"},
            "ports": [{"port": 80, "targetPort": "http", "name": "http"}],
        },
    }


def config_map(i: int) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": f"cfg-{i}"},
        "data": {f"key-{k}": f"some configuration value {k} for {i}" for k in range(8)},
    }


def make_objects(count: int, *, shared_labels: bool = False) -> list[dict[str, Any]]:
    """``shared_labels``: Deployments reuse one labels mapping, so YAML dumps use an anchor and
    an alias (exercises the alias guard)."""
    out: list[dict[str, Any]] = []
    for i in range(count):
        if i % 3 == 0:
            out.append(deployment(i, shared_labels=shared_labels))
        else:
            out.append(service(i) if i % 3 == 1 else config_map(i))
    return out


def write_directory(root: Path) -> None:
    app = root / "app"
    app.mkdir()
    objects = make_objects(OBJECTS)
    for n in range(0, OBJECTS, PER_FILE):
        text = yaml.dump_all(objects[n : n + PER_FILE], Dumper=yaml.CSafeDumper, sort_keys=False)
        (app / f"part-{n // PER_FILE:03d}.yaml").write_text(text)


def write_chart(root: Path) -> None:
    chart = root / "chart"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: bench\nversion: 0.1.0\n")
    (chart / "values.yaml").write_text("replicas: 2\n")
    objects = make_objects(OBJECTS)
    for n in range(0, OBJECTS, PER_FILE):
        text = yaml.dump_all(objects[n : n + PER_FILE], Dumper=yaml.CSafeDumper, sort_keys=False)
        text = text.replace("replicas: 2", "replicas: {{ .Values.replicas }}")
        (chart / "templates" / f"part-{n // PER_FILE:03d}.yaml").write_text(text)


def write_kustomization(root: Path) -> None:
    base = root / "kbase"
    base.mkdir()
    names = []
    for path in sorted((root / "app").iterdir()):
        (base / path.name).write_text(path.read_text())
        names.append(path.name)
    (base / "kustomization.yaml").write_text(yaml.safe_dump({"resources": names}))


async def timed(fn: Callable[[], Awaitable[object]], repeat: int) -> tuple[float, float]:
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        await fn()
        runs.append(time.perf_counter() - started)
    return statistics.median(runs), min(runs)


async def main() -> None:
    with tempfile.TemporaryDirectory() as temp:
        root = Path(temp)
        write_directory(root)
        write_chart(root)
        write_kustomization(root)
        request = render.RenderRequest(
            root=root, path="app", commit="c0ffee", app_name="bench", namespace="bench"
        )
        found = render.discover()
        print(f"render of a {OBJECTS}-object plain-YAML directory ({OBJECTS // PER_FILE} files)")
        cold, cold_best = await timed(lambda: render.render(request), 20)
        cache = render.RenderCache()
        await render.render(request, cache=cache)
        cached, cached_best = await timed(lambda: render.render(request, cache=cache), 2000)
        print(f"  cold   median {cold * 1000:9.3f} ms   best {cold_best * 1000:9.3f} ms")
        print(f"  cached median {cached * 1000:9.3f} ms   best {cached_best * 1000:9.3f} ms")
        ratio = cached / cold
        verdict = "OK" if ratio < 0.01 else "OVER TARGET"
        print(f"  cached/cold = {ratio * 100:.4f}% (target < 1%: {verdict})")
        for label, path in (("helm template", "chart"), ("kubectl/kustomize build", "kbase")):
            req = render.RenderRequest(
                root=root, path=path, commit="", app_name="bench", namespace="bench"
            )
            result = await render.render(req, found=found)
            assert len(result.objects) == OBJECTS, len(result.objects)
            median, best = await timed(lambda req=req: render.render(req, found=found), 5)
            print(
                f"{label} of the same {OBJECTS} objects, cold: median {median * 1000:.0f} ms,"
                f" best {best * 1000:.0f} ms"
            )


if __name__ == "__main__":
    asyncio.run(main())
