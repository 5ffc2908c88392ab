"""Benchmark: ApplicationSet generation and a no-change reconcile at fleet scale.

A matrix of a git directory generator (100 directories) x a cluster generator (50 clusters)
with the default fasttemplate makes 5,000 Applications. Prints the time to generate them and
the time of a no-change reconcile (desired vs identical existing: nothing to do).

Run: .venv/bin/python bench/appset_bench.py [--dirs 100] [--clusters 50] [--repeat 3]
     [--go-template]
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time
from typing import Any

from tidegate.appset import applications, paths, policy


class _Git:
    def __init__(self, dirs: list[str]) -> None:
        self.dirs = dirs

    def list_dirs(self, repo: str, revision: str) -> list[str]:
        return list(self.dirs)

    def read_files(self, repo: str, revision: str, glob: str) -> dict[str, bytes]:
        return {d + "/config.json": b"{}" for d in self.dirs if paths.glob_match(glob, d)}


_GO = {
    "{{path.basename}}-{{name}}": "{{ .path.basename }}-{{ .name }}",
    "{{path.basename}}": "{{ .path.basename | lower }}",
    "{{metadata.labels.env}}": '{{ index .metadata.labels "env" }}',
    "{{path}}": "{{ .path.path }}",
    "{{server}}": "{{ .server }}",
}


def _go(value: Any) -> Any:
    if isinstance(value, str):
        return _GO.get(value, value)
    if isinstance(value, dict):
        return {k: _go(v) for k, v in value.items()}
    return value


def _appset(*, go_template: bool) -> dict[str, Any]:
    appset = _fast_appset()
    if go_template:
        appset["spec"]["template"] = _go(appset["spec"]["template"])
        appset["spec"]["goTemplate"] = True
        appset["spec"]["goTemplateOptions"] = ["missingkey=error"]
    return appset


def _fast_appset() -> dict[str, Any]:
    return {
        "metadata": {"name": "fleet", "namespace": "argocd", "uid": "uid-fleet"},
        "spec": {
            "generators": [
                {
                    "matrix": {
                        "generators": [
                            {
                                "git": {
                                    "repoURL": "https://git.example/apps.git",
                                    "revision": "HEAD",
                                    "directories": [{"path": "apps/*"}],
                                }
                            },
                            {"clusters": {"selector": {"matchLabels": {"fleet": "yes"}}}},
                        ]
                    }
                }
            ],
            "template": {
                "metadata": {
                    "name": "{{path.basename}}-{{name}}",
                    "labels": {"app": "{{path.basename}}", "env": "{{metadata.labels.env}}"},
                },
                "spec": {
                    "project": "default",
                    "source": {
                        "repoURL": "https://git.example/apps.git",
                        "targetRevision": "HEAD",
                        "path": "{{path}}",
                    },
                    "destination": {"server": "{{server}}", "namespace": "{{path.basename}}"},
                    "syncPolicy": {"automated": {"prune": True}},
                },
            },
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dirs", type=int, default=100)
    parser.add_argument("--clusters", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--go-template", action="store_true", help="use goTemplate: true")
    args = parser.parse_args()

    git = _Git([f"apps/app-{i:03d}" for i in range(args.dirs)] + ["apps", "other/x"])
    clusters = [
        {
            "name": f"cluster-{i:02d}",
            "server": f"https://10.0.{i // 250}.{i % 250}:6443",
            "labels": {"fleet": "yes", "env": "prod" if i % 2 else "staging"},
        }
        for i in range(args.clusters)
    ]
    appset = _appset(go_template=args.go_template)

    generate_times, reconcile_times = [], []
    desired: list[dict[str, Any]] = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        desired = applications.generate_applications(appset, clusters=clusters, git=git)
        generate_times.append(time.perf_counter() - start)

        existing = copy.deepcopy(desired)  # what the cluster would return (plus status)
        for app in existing:
            app["metadata"]["resourceVersion"] = "1"
            app["status"] = {"sync": {"status": "Synced"}, "health": {"status": "Healthy"}}
        start = time.perf_counter()
        plan = policy.plan_changes(appset, desired, existing)
        reconcile_times.append(time.perf_counter() - start)
        assert plan.empty and len(plan.unchanged) == len(desired), "expected a no-change plan"

    expected = args.dirs * args.clusters
    assert len(desired) == expected, f"generated {len(desired)}, expected {expected}"
    engine = "Go templates" if args.go_template else "fasttemplate"
    print(
        f"applications generated: {len(desired)} "
        f"({args.dirs} dirs x {args.clusters} clusters, {engine})"
    )
    print(
        f"generate:            best {min(generate_times):.3f} s, "
        f"median {statistics.median(generate_times):.3f} s"
    )
    print(
        f"no-change reconcile: best {min(reconcile_times):.3f} s, "
        f"median {statistics.median(reconcile_times):.3f} s (target < 1 s)"
    )


if __name__ == "__main__":
    main()
