"""Benchmark: latency of healthy repositories while another repository hangs (issue 9, section 1).

20 repositories on a real git server (smart HTTP, basic auth) are refreshed concurrently, as a
controller's refresh cycle does: each sample is one ``resolve(main, max_age=0)`` (a real fetch)
followed by reading a few files at the commit found. Rounds alternate between two caches over
the same repositories: one calm, one with a hung repository whose fetches are retried back to
back the whole time (a loopback server that accepts connections and never answers, each attempt
ended by the low-speed check). Prints p50/p95 of both and the with/without ratio; the target is
within 10% (ratio <= 1.10).

    .venv/bin/python bench/git_isolation_bench.py [--repos 20] [--rounds 20] [--hung 1]
        [--low-speed-time 5]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import header, percentile, row, verdict

from tidegate.model import errors
from tidegate.sources import RepoCache, RepoCredentials, gitcmd
from tidegate.testenv import gitserver
from tidegate.testenv.faultproxy import FaultProxy, Mode

TARGET_RATIO = 1.10
FILES = [f"app/manifest-{index}.yaml" for index in range(10)]


def _seed(directory: Path, index: int) -> None:
    for path in FILES:
        target = directory / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(f"kind: ConfigMap\nmetadata:\n  name: repo-{index}\ndata: {{}}\n")


async def _sample(cache: RepoCache, url: str, creds: RepoCredentials) -> float:
    started = time.perf_counter()
    commit = await cache.resolve(url, "main", creds=creds, max_age=0)
    found = await cache.read_files(url, commit, FILES, creds=creds)
    assert len(found) == len(FILES)
    return time.perf_counter() - started


async def _rounds(
    cache: RepoCache, urls: list[str], creds: RepoCredentials, rounds: int
) -> list[float]:
    samples: list[float] = []
    for _ in range(rounds):
        samples += await asyncio.gather(*(_sample(cache, url, creds) for url in urls))
    return samples


async def _keep_hanging(cache: RepoCache, url: str, attempts: list[str]) -> None:
    """Fetch the hung repository back to back (each attempt ends at the low-speed limit)."""
    while True:
        with contextlib.suppress(errors.RepoUnreachableError):
            await cache.refresh(url)
        attempts.append(cache.health(url).last_error or "")


async def main(repos: int, rounds: int, hung: int, low_speed_time: int) -> None:
    with tempfile.TemporaryDirectory(prefix="tidegate-git-isolation-bench-") as scratch:
        root = Path(scratch)
        server = gitserver.GitServer.start(root / "server", ssh=False)
        try:
            with FaultProxy(Mode.HANG) as proxy:
                await _run(server, proxy, root, repos, rounds, hung, low_speed_time)
        finally:
            server.stop()


async def _run(
    server: gitserver.GitServer,
    proxy: FaultProxy,
    root: Path,
    repos: int,
    rounds: int,
    hung: int,
    low_speed_time: int,
) -> None:
    urls = []
    for index in range(repos):
        seed = root / f"seed-{index}"
        _seed(seed, index)
        urls.append(server.create_repo(f"bench/healthy-{index}", from_dir=seed).http_url)
    creds = RepoCredentials(username=server.info.username, password=server.info.password)
    limits = gitcmd.GitLimits(low_speed_time=low_speed_time)
    # Two caches over the same repositories, measured in alternate rounds (so drift on a shared
    # machine hits both alike); only the second one has hung repositories fetching all along.
    calm = RepoCache(root / "calm", limits=limits)
    troubled = RepoCache(root / "troubled", limits=limits)
    for cache in (calm, troubled):
        await _rounds(cache, urls, creds, 1)  # warm: first fetches and blobs

    header(f"{repos} healthy repositories, {rounds} rounds each, resolve(max_age=0) + read")
    row("git limits", f"{limits.max_processes} processes, low-speed {low_speed_time}s")
    hung_urls = [proxy.url(f"org/hung-{index}.git") for index in range(hung)]
    attempts: list[str] = []
    hangers = [asyncio.create_task(_keep_hanging(troubled, url, attempts)) for url in hung_urls]
    await asyncio.sleep(0.5)  # let the hung fetches start before measuring (not a sync point)
    assert all(troubled.health(url).operation for url in hung_urls), "hung fetch not in flight"
    baseline: list[float] = []
    during: list[float] = []
    for _ in range(rounds):
        baseline += await _rounds(calm, urls, creds, 1)
        during += await _rounds(troubled, urls, creds, 1)
    assert all(troubled.health(url).operation for url in hung_urls), "hung fetch not in flight"
    for task in hangers:
        task.cancel()
    await asyncio.gather(*hangers, return_exceptions=True)

    for label, samples in (("without a hung repository", baseline), ("with", during)):
        p50, p95 = percentile(samples, 0.50), percentile(samples, 0.95)
        row(label, f"p50 {p50 * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms (n={len(samples)})")
    for name, fraction in (("p50", 0.50), ("p95", 0.95)):
        ratio = percentile(during, fraction) / percentile(baseline, fraction)
        row(f"{name} ratio with/without", f"{ratio:.2f}x ({verdict(ratio, TARGET_RATIO)})")
    row("hung fetch attempts ended during the run", str(len(attempts)))
    for url in hung_urls:
        health = troubled.health(url)
        row("hung repository record", f"{health.consecutive_failures} failures in a row")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repos", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--hung", type=int, default=1, help="hung repositories")
    parser.add_argument("--low-speed-time", type=int, default=5)
    options = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)  # the hung repository's warnings are expected
    asyncio.run(main(options.repos, options.rounds, options.hung, options.low_speed_time))
