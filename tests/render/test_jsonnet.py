"""Jsonnet directory sources on a real tree, with the real evaluator: TLAs, extVars (string and
code), libs, arrays and order, and the bounds (imports confined to the repository, a program that
never ends, one that asks for gigabytes, syntax errors)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from tests.render.conftest import names, request

from tidegate import render
from tidegate.model import errors

CONFIGMAP = """
function(name, replicas=1) {
  apiVersion: 'v1', kind: 'ConfigMap',
  metadata: { name: name + '-' + std.extVar('env') },
  data: { replicas: std.toString(replicas), tier: std.extVar('tier').name },
}
"""


def _options(**kwargs: object) -> render.DirectoryOptions:
    return render.DirectoryOptions(jsonnet=render.JsonnetOptions(**kwargs))  # type: ignore[arg-type]


def _app(repo: Path, files: dict[str, str]) -> Path:
    app = repo / "jsonnet-app"
    for name, text in files.items():
        (app / name).parent.mkdir(parents=True, exist_ok=True)
        (app / name).write_text(text)
    return app


async def test_tlas_ext_vars_and_code(repo: Path) -> None:
    _app(repo, {"cm.jsonnet": CONFIGMAP})
    options = _options(
        tlas=(render.JsonnetVar("name", "web"), render.JsonnetVar("replicas", "1 + 2", code=True)),
        ext_vars=(
            render.JsonnetVar("env", "dev"),
            render.JsonnetVar("tier", "{name: 'front'}", code=True),
        ),
    )
    result = await render.render(request(repo, "jsonnet-app", directory=options))
    (obj,) = result.objects
    assert obj["metadata"]["name"] == "web-dev"
    assert obj["data"] == {"replicas": "3", "tier": "front"}


async def test_arrays_libs_and_file_order(repo: Path) -> None:
    (repo / "vendor" / "k").mkdir(parents=True)
    (repo / "vendor" / "k" / "k.libsonnet").write_text(
        "{ cm(n):: {apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: n}} }"
    )
    _app(
        repo,
        {
            "a.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a-yaml}\n",
            "b.jsonnet": "local k = import 'k/k.libsonnet'; [k.cm('b1'), k.cm('b2')]",
            "c.json": '{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c-json"}}',
            "d.jsonnet": "{apiVersion: 'v1', kind: 'List', items: [{apiVersion: 'v1', "
            "kind: 'Secret', metadata: {name: 'd'}, stringData: {x: importstr 'x.txt'}}]}",
            "x.txt": "from a file",
        },
    )
    result = await render.render(request(repo, "jsonnet-app", directory=_options(libs=("vendor",))))
    assert names(result) == [
        "ConfigMap/a-yaml",
        "ConfigMap/b1",
        "ConfigMap/b2",
        "ConfigMap/c-json",
        "Secret/d",
    ]
    assert result.objects[-1]["stringData"] == {"x": "from a file"}


@pytest.mark.parametrize(
    "program",
    [
        "import '/etc/passwd'",
        "importstr '/etc/passwd'",
        "importstr '../../../../../../../../etc/passwd'",
    ],
)
async def test_imports_outside_the_repository_are_refused(repo: Path, program: str) -> None:
    _app(repo, {"evil.jsonnet": program})
    with pytest.raises(errors.RenderError) as caught:
        await render.render(request(repo, "jsonnet-app"))
    message = str(caught.value)
    assert "jsonnet-app/evil.jsonnet" in message
    assert "outside the repository and is refused" in message
    assert "root:" not in message  # nothing of the file's content


async def test_a_symlink_out_of_the_repository_is_refused(repo: Path) -> None:
    _app(repo, {"evil.jsonnet": "importstr 'link'"})
    (repo / "jsonnet-app" / "link").symlink_to("/etc/hostname")
    with pytest.raises(errors.RenderError, match="outside the repository"):
        await render.render(request(repo, "jsonnet-app"))


async def test_a_program_that_never_ends_is_stopped(repo: Path) -> None:
    _app(repo, {"loop.jsonnet": "local f(n) = if n < 0 then 0 else f(n + 1); f(0)"})
    limits = render.RenderLimits(timeout_seconds=3.0)
    started = time.monotonic()
    with pytest.raises(errors.RenderError) as caught:
        await render.render(request(repo, "jsonnet-app"), limits=limits)
    assert time.monotonic() - started < 30  # stopped, not hung (the bound is the 3 s timeout)
    assert "jsonnet-app/loop.jsonnet" in str(caught.value)


async def test_a_program_that_asks_for_gigabytes_fails_cleanly(repo: Path) -> None:
    _app(repo, {"big.jsonnet": "std.makeArray(1000000000, function(i) 'xxxxxxxxxxxxxxxxxxx')"})
    limits = render.RenderLimits(timeout_seconds=60.0)
    with pytest.raises(errors.RenderError, match=r"jsonnet-app/big\.jsonnet"):
        await render.render(request(repo, "jsonnet-app"), limits=limits)


async def test_syntax_error_names_the_file(repo: Path) -> None:
    _app(repo, {"bad.jsonnet": "{ a: }"})
    with pytest.raises(
        errors.RenderError, match=r"jsonnet-app/bad\.jsonnet: Jsonnet: .*bad\.jsonnet"
    ):
        await render.render(request(repo, "jsonnet-app"))


async def test_a_tla_the_program_does_not_take_is_an_error(repo: Path) -> None:
    _app(repo, {"cm.jsonnet": CONFIGMAP})
    options = _options(
        tlas=(render.JsonnetVar("nope", "x"),),
        ext_vars=(
            render.JsonnetVar("env", "dev"),
            render.JsonnetVar("tier", "{name: 1}", code=True),
        ),
    )
    with pytest.raises(errors.RenderError, match="nope"):
        await render.render(request(repo, "jsonnet-app", directory=options))
