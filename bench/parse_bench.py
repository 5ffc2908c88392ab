"""Parse 5,000 manifests: Tidegate's guarded libyaml parser vs the named baseline.

Baseline: PyYAML's pure-Python ``yaml.SafeLoader``. Also shown: plain ``yaml.CSafeLoader``
without the guard (the guard's overhead), and a stream with anchors (the guard's work).
Run: ``.venv/bin/python bench/parse_bench.py``
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).parent))

import render_bench

from tidegate.render import manifests

COUNT = 5000


def timed(label: str, fn: Callable[[], int], repeat: int) -> float:
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        produced = fn()
        runs.append(time.perf_counter() - started)
    assert produced == COUNT, produced
    best = min(runs)
    print(
        f"  {label:<44} {best * 1000:8.1f} ms   {COUNT / best:9.0f} objects/s "
        f"(median {statistics.median(runs) * 1000:.1f} ms, {repeat} runs)"
    )
    return best


def main() -> None:
    text = yaml.dump_all(render_bench.make_objects(COUNT), Dumper=yaml.CSafeDumper, sort_keys=False)
    anchored = yaml.dump_all(
        render_bench.make_objects(COUNT, shared_labels=True),
        Dumper=yaml.CSafeDumper,
        sort_keys=False,
    )
    assert "*id001" in anchored
    print(f"parse {COUNT} manifests ({len(text) / 1e6:.1f} MB of YAML)")
    ours = timed(
        "tidegate manifests.parse_yaml (CSafeLoader)",
        lambda: len(manifests.parse_yaml(text, where="bench", max_alias_expansion=100_000)),
        9,
    )
    plain = timed(
        "yaml.load_all CSafeLoader, no guard",
        lambda: sum(1 for _ in yaml.load_all(text, Loader=yaml.CSafeLoader)),
        9,
    )
    guarded = timed(
        "tidegate parse_yaml, with anchors+aliases",
        lambda: len(manifests.parse_yaml(anchored, where="bench", max_alias_expansion=100_000)),
        9,
    )
    baseline = timed(
        "baseline: yaml.load_all SafeLoader (pure Python)",
        lambda: sum(1 for _ in yaml.load_all(text, Loader=yaml.SafeLoader)),
        2,
    )
    print(f"speed-up over the pure-Python baseline: {baseline / ours:.1f}x")
    print(f"cost of validation vs bare CSafeLoader:  {ours / plain:.2f}x")
    print(f"cost of the alias guard (aliased text):    {guarded / ours:.2f}x")


if __name__ == "__main__":
    main()
