"""Benchmark of git sources against the test bed's git server (smart HTTP, basic auth).

A repository with 2,000 files and 200 commits; measures the first (cold, blob-less) fetch, ref
resolution, listing and reading files, checking out the tree, an incremental fetch, and that 100
Applications resolving concurrently cause exactly one fetch (counted by the server).

    .venv/bin/python bench/sources_bench.py [--files 2000] [--commits 200] [--apps 100]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pygit2

from tidegate.sources import RepoCache, RepoCredentials, refs
from tidegate.testenv import gitserver


def _seed(directory: Path, files: int) -> None:
    for index in range(files):
        path = directory / f"apps/app-{index // 20:03d}/manifest-{index % 20:02d}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{index}\n"
            f"data:\n  index: '{index}'\n  payload: {'x' * 200}\n"
        )


async def _timed(action: Callable[[], Awaitable[object]]) -> float:
    started = time.perf_counter()
    await action()
    return time.perf_counter() - started


async def main(files: int, commits: int, apps: int) -> None:
    with tempfile.TemporaryDirectory(prefix="tidegate-sources-bench-") as scratch:
        root = Path(scratch)
        seed = root / "seed"
        _seed(seed, files)
        server = gitserver.GitServer.start(root / "server", ssh=False)
        try:
            await _run(server, root, seed, files, commits, apps)
        finally:
            server.stop()


async def _run(
    server: gitserver.GitServer, root: Path, seed: Path, files: int, commits: int, apps: int
) -> None:
    started = time.perf_counter()
    repo = server.create_repo("bench/fleet", from_dir=seed)
    work = server.working_copy("bench/fleet")
    for number in range(1, commits):
        index = (number * 37) % files
        path = f"apps/app-{index // 20:03d}/manifest-{index % 20:02d}.yaml"
        work.commit({path: f"kind: ConfigMap\nrevision: {number}\n"}, f"c{number}", push=False)
    work.push()
    print(f"setup: {files} files, {commits} commits in {time.perf_counter() - started:.1f}s")

    creds = RepoCredentials(username=server.info.username, password=server.info.password)
    cache = RepoCache(root / "cache")
    url = repo.http_url
    rows: list[tuple[str, str]] = []

    head = ""

    async def first_fetch() -> None:
        nonlocal head
        head = await cache.resolve(url, "main", creds=creds, generation=1)

    rows.append(("first fetch + resolve (cold, blob:none)", f"{await _timed(first_fetch):.3f} s"))

    samples = []
    for _ in range(2000):
        t0 = time.perf_counter()
        await cache.resolve(url, "main", creds=creds, generation=1)
        samples.append(time.perf_counter() - t0)
    rows.append(
        ("resolve branch via RepoCache (warm)", f"{statistics.median(samples) * 1e6:.1f} µs")
    )
    local = pygit2.Repository(str(next((cache.root / "repos").iterdir()) / "git"))
    for revision in ("main", "HEAD", head[:10]):
        t0 = time.perf_counter()
        for _ in range(2000):
            refs.resolve_local(local, revision)
        per = (time.perf_counter() - t0) / 2000
        rows.append((f"pygit2 resolve_local({revision!r})", f"{per * 1e6:.1f} µs"))

    listing: list[str] = []

    async def list_all() -> None:
        nonlocal listing
        listing = await cache.list_files(url, head)

    rows.append((f"list_files ({files} paths, no blobs)", f"{await _timed(list_all) * 1e3:.1f} ms"))
    hundred = listing[:100]
    cold_read = await _timed(lambda: cache.read_files(url, head, hundred))
    warm_read = await _timed(lambda: cache.read_files(url, head, hundred))
    rows.append(("read 100 files, cold (1 blob fetch)", f"{cold_read * 1e3:.1f} ms"))
    rows.append(("read 100 files, warm", f"{warm_read * 1e3:.1f} ms"))
    cold_checkout = await _timed(lambda: cache.checkout(url, head))
    warm_checkout = await _timed(lambda: cache.checkout(url, head))
    rows.append((f"checkout {files} files, cold (blob fetch + write)", f"{cold_checkout:.3f} s"))
    rows.append(("checkout, reused", f"{warm_checkout * 1e6:.0f} µs"))

    new_head = work.commit({"apps/new.yaml": "kind: ConfigMap\n"}, "one more")
    before_fetches = server.fetches("bench/fleet")
    before_count = cache.fetch_count(url)
    t0 = time.perf_counter()
    results = await asyncio.gather(
        *(cache.resolve(url, "main", creds=creds, generation=2) for _ in range(apps))
    )
    elapsed = time.perf_counter() - t0
    server_fetches = server.fetches("bench/fleet") - before_fetches
    cache_fetches = cache.fetch_count(url) - before_count
    assert set(results) == {new_head}, "apps saw different commits"
    rows.append(
        (f"{apps} apps resolve concurrently (incremental fetch)", f"{elapsed * 1e3:.1f} ms")
    )
    rows.append(
        (f"fetches for {apps} apps (cache / server)", f"{cache_fetches} / {server_fetches}")
    )

    width = max(len(name) for name, _ in rows)
    print(f"\n{'measure'.ljust(width)}  value")
    for name, value in rows:
        print(f"{name.ljust(width)}  {value}")
    if cache_fetches != 1 or server_fetches != 1:
        raise SystemExit(f"expected exactly one fetch, got {cache_fetches}/{server_fetches}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--commits", type=int, default=200)
    parser.add_argument("--apps", type=int, default=100)
    options = parser.parse_args()
    asyncio.run(main(options.files, options.commits, options.apps))
