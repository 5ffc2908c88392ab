"""The render cache: hits are lookups of the same result; keys cover every parameter."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from tests.render.conftest import request, write_script

from tidegate import render
from tidegate.model import errors


async def test_hit_returns_the_same_result(repo: Path) -> None:
    cache = render.RenderCache()
    first = await render.render(request(repo, "plain", commit="c1"), cache=cache)
    (repo / "plain" / "a.yaml").unlink()  # a hit must not read the tree again
    second = await render.render(request(repo, "plain", commit="c1"), cache=cache)
    assert second is first
    assert (cache.hits, cache.misses, len(cache)) == (1, 1, 1)


async def test_key_ignores_the_checkout_location(repo: Path, tmp_path: Path) -> None:
    cache = render.RenderCache()
    first = await render.render(request(repo, "plain", commit="c1"), cache=cache)
    moved = tmp_path / "elsewhere"
    os.rename(repo, moved)
    assert await render.render(request(moved, "plain", commit="c1"), cache=cache) is first


@pytest.mark.parametrize(
    "change",
    [
        {"commit": "c2"},
        {"path": "plain/sub"},
        {"app_name": "other"},
        {"tracking": render.TrackingMethod.LABEL},
        {"directory": render.DirectoryOptions(recurse=True)},
        {"helm": render.HelmOptions(parameters=(render.HelmParameter("a", "b"),))},
        {"api_versions": ("x/v1",)},
    ],
)
async def test_any_parameter_change_misses(repo: Path, change: dict[str, object]) -> None:
    cache = render.RenderCache()
    base: dict[str, object] = {"path": "plain", "commit": "c1"}
    first = await render.render(request(repo, **base), cache=cache)  # type: ignore[arg-type]
    other = await render.render(request(repo, **(base | change)), cache=cache)  # type: ignore[arg-type]
    assert other is not first
    assert cache.misses == 2


async def test_empty_commit_is_never_cached(repo: Path) -> None:
    cache = render.RenderCache()
    await render.render(request(repo, "plain", commit=""), cache=cache)
    await render.render(request(repo, "plain", commit=""), cache=cache)
    assert len(cache) == 0 and cache.hits == 0


async def test_failures_are_not_cached(repo: Path) -> None:
    cache = render.RenderCache()
    (repo / "plain" / "bad.yaml").write_text("kind: [")
    with pytest.raises(errors.ManifestError):
        await render.render(request(repo, "plain", commit="c1"), cache=cache)
    (repo / "plain" / "bad.yaml").unlink()
    result = await render.render(request(repo, "plain", commit="c1"), cache=cache)
    assert result.objects and len(cache) == 1


async def test_lru_bounded_by_entries_and_bytes(repo: Path) -> None:
    cache = render.RenderCache(max_entries=2)
    for commit in ("c1", "c2", "c3"):
        await render.render(request(repo, "plain", commit=commit), cache=cache)
    assert len(cache) == 2
    await render.render(request(repo, "plain", commit="c1"), cache=cache)
    assert cache.misses == 4  # c1 was evicted
    one = (await render.render(request(repo, "plain", commit="c1"), cache=cache)).size_bytes
    by_bytes = render.RenderCache(max_bytes=one * 2)
    for commit in ("c1", "c2", "c3"):
        await render.render(request(repo, "plain", commit=commit), cache=by_bytes)
    assert len(by_bytes) == 2 and by_bytes.size_bytes == one * 2


async def test_concurrent_identical_renders_run_once(
    repo: Path, tools: render.Tools, tmp_path: Path
) -> None:
    calls = tmp_path / "calls"
    counting = write_script(
        tmp_path / "counting-helm",
        f'echo x >> {calls}\nexec {tools.helm[0]} "$@"\n',  # type: ignore[index]
    )
    found = render.Tools(kustomize_build=None, helm=(str(counting),))
    cache = render.RenderCache()
    results = await asyncio.gather(
        *(
            render.render(request(repo, "helm/chart", commit="c1"), cache=cache, found=found)
            for _ in range(5)
        )
    )
    assert all(r is results[0] for r in results)
    assert calls.read_text().count("x") == 1


async def test_a_fresh_render_drops_what_the_cache_holds(repo: Path, tmp_path: Path) -> None:
    """A hard refresh renders again: a plugin or a chart may read more than the commit."""
    from tidegate.render import persist

    cache = render.RenderCache(disk=persist.RenderStore(tmp_path / "renders"))
    first = await render.render(request(repo, "plain", commit="c1"), cache=cache)
    (repo / "plain" / "a.yaml").unlink()  # what the commit's tree says now (a plugin's input)
    cached = await render.render(request(repo, "plain", commit="c1"), cache=cache)
    assert cached is first
    fresh = await render.render(request(repo, "plain", commit="c1"), cache=cache, fresh=True)
    assert fresh is not first and 0 < len(fresh.objects) < len(first.objects)
    assert cache.restored == 0  # not read back from disk either
    assert await render.render(request(repo, "plain", commit="c1"), cache=cache) is fresh
