"""Render results on disk (render/persist.py): a restart reuses them, keyed by everything the
render depends on; anything unreadable is rendered again; the directory stays bounded."""

from __future__ import annotations

import json
import logging
import os
import stat
from pathlib import Path

import pytest
from tests.render.conftest import request

from tidegate import render
from tidegate.render import persist


def _result(n: int = 1, pins: tuple[tuple[str, str, str], ...] = ()) -> render.RenderResult:
    objs = tuple(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"cm-{i}"}} for i in range(n)
    )
    return render.RenderResult(objs, render.SourceType.DIRECTORY, 100 * n, pins)


def test_a_saved_result_loads_back_equal_from_a_new_store(tmp_path: Path) -> None:
    result = _result(3, pins=(("https://git/x", "main", "abc"),))
    persist.RenderStore(tmp_path, salt="s").save("key-1", result)
    again = persist.RenderStore(tmp_path, salt="s")  # a restarted process
    assert again.load("key-1") == result
    assert again.load("key-2") is None


def test_files_are_private_and_never_left_half_written(tmp_path: Path) -> None:
    store = persist.RenderStore(tmp_path, salt="s")
    store.save("k", _result())
    files = list(tmp_path.iterdir())
    assert [f.name for f in files] == [store.file_name("k")]  # no temporary file left
    assert stat.S_IMODE(files[0].stat().st_mode) == 0o600


@pytest.mark.parametrize("other", [{"salt": "upgraded helm"}, {"key": "k2"}])
def test_another_salt_or_key_finds_nothing(tmp_path: Path, other: dict[str, str]) -> None:
    persist.RenderStore(tmp_path, salt="s").save("k", _result())
    store = persist.RenderStore(tmp_path, salt=other.get("salt", "s"))
    assert store.load(other.get("key", "k")) is None


def test_a_file_renamed_to_another_key_is_not_used(tmp_path: Path) -> None:
    store = persist.RenderStore(tmp_path, salt="s")
    store.save("k1", _result(1))
    os.replace(tmp_path / store.file_name("k1"), tmp_path / store.file_name("k2"))
    assert persist.RenderStore(tmp_path, salt="s").load("k2") is None


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"{not json",
        b"[]",
        b'{"format": "r0"}',
        b"\xff\xfe",
    ],
)
def test_a_corrupt_file_is_ignored_logged_and_removed(
    tmp_path: Path, content: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    store = persist.RenderStore(tmp_path, salt="s")
    store.save("k", _result())
    path = tmp_path / store.file_name("k")
    path.write_bytes(content)
    with caplog.at_level(logging.WARNING, logger="tidegate.render"):
        assert persist.RenderStore(tmp_path, salt="s").load("k") is None
    assert f"ignoring {path}" in caplog.text
    assert not path.exists()


@pytest.mark.parametrize(
    "field, value",
    [
        ("objects", "nope"),
        ("objects", [1, 2]),
        ("remotePins", [["a", "b"]]),
        ("sizeBytes", -1),
        ("sizeBytes", True),
        ("sourceType", "Ksonnet"),
    ],
)
def test_a_file_of_the_wrong_shape_is_ignored(tmp_path: Path, field: str, value: object) -> None:
    store = persist.RenderStore(tmp_path, salt="s")
    store.save("k", _result())
    path = tmp_path / store.file_name("k")
    doc = json.loads(path.read_bytes())
    doc[field] = value
    path.write_text(json.dumps(doc))
    assert store.load("k") is None
    assert store.rejected == 1


def test_an_unwritable_directory_is_logged_not_raised(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    store = persist.RenderStore(blocker / "renders", salt="s")  # below a file: cannot exist
    with caplog.at_level(logging.WARNING, logger="tidegate.render"):
        store.save("k", _result())
    assert "cannot write" in caplog.text
    assert store.load("k") is None


def test_bounded_in_entries_least_recently_used_first(tmp_path: Path) -> None:
    store = persist.RenderStore(tmp_path, salt="s", max_entries=2)
    store.save("a", _result())
    store.save("b", _result())
    assert store.load("a") is not None  # a used again: b is now the oldest
    store.save("c", _result())
    assert len(store) == 2
    assert store.load("b") is None
    assert store.load("a") is not None and store.load("c") is not None


def test_bounded_in_bytes_also_across_a_restart(tmp_path: Path) -> None:
    one = len(persist._encode("s\0k0", _result(5)))
    store = persist.RenderStore(tmp_path, salt="s", max_bytes=3 * one)
    for i in range(3):
        store.save(f"k{i}", _result(5))
    assert len(store) == 3
    again = persist.RenderStore(tmp_path, salt="s", max_bytes=3 * one)  # scans what is there
    again.save("k3", _result(5))
    assert len(again) == 3 and again.size_bytes <= 3 * one
    assert len(list(tmp_path.iterdir())) == 3


def test_a_result_larger_than_the_bound_is_not_kept(tmp_path: Path) -> None:
    store = persist.RenderStore(tmp_path, salt="s", max_bytes=10)
    store.save("k", _result(3))
    assert len(store) == 0 and not any(tmp_path.iterdir())


def test_salt_names_the_binaries_and_changes_with_them(tmp_path: Path) -> None:
    helm = tmp_path / "helm"
    helm.write_text("1")
    first = persist.salt([str(helm), None])
    helm.write_text("two")  # another size: an upgraded binary
    assert persist.salt([str(helm), None]) != first
    assert persist.salt([str(tmp_path / "missing")]).endswith(":?")


async def test_the_render_cache_restores_from_disk_after_a_restart(
    repo: Path, tmp_path: Path
) -> None:
    disk = tmp_path / "renders"
    first_cache = render.RenderCache(disk=persist.RenderStore(disk, salt="s"))
    first = await render.render(request(repo, "plain", commit="c1"), cache=first_cache)
    (repo / "plain" / "a.yaml").unlink()  # a restore must not read the tree again
    restarted = render.RenderCache(disk=persist.RenderStore(disk, salt="s"))
    again = await render.render(request(repo, "plain", commit="c1"), cache=restarted)
    assert again == first
    assert (restarted.misses, restarted.restored, len(restarted)) == (1, 1, 1)
    # Another commit is another key: rendered from the tree (now without a.yaml), not restored.
    other = render.RenderCache(disk=persist.RenderStore(disk, salt="s"))
    moved = await render.render(request(repo, "plain", commit="c2"), cache=other)
    assert other.restored == 0
    assert len(moved.objects) < len(first.objects)


async def test_discarding_a_result_forgets_it_on_disk(repo: Path, tmp_path: Path) -> None:
    store = persist.RenderStore(tmp_path / "renders", salt="s")
    cache = render.RenderCache(disk=store)
    req = request(repo, "plain", commit="c1")
    result = await render.render(req, cache=cache)
    cache.discard(req.cache_key(), result)  # as when a remote reference moved
    assert store.load(req.cache_key()) is None


def test_a_temporary_file_left_by_a_crash_is_removed_once_old(tmp_path: Path) -> None:
    old = tmp_path / ".tmp-crashed.part"
    fresh = tmp_path / ".tmp-writing.part"  # another process may be writing it right now
    for path in (old, fresh):
        path.write_text("{half")
    os.utime(old, (1, 1))
    store = persist.RenderStore(tmp_path, salt="s")
    assert len(store) == 0
    assert not old.exists() and fresh.exists()
