"""Plugin sources rendered for real: small shell-script plugins run by render.render."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

from tidegate import render
from tidegate.model import errors
from tidegate.render import plugin_config
from tidegate.testenv.wait import eventually

from .conftest import names, pid_alive, request

CM = (
    'printf \'{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"%s"},'
    '"data":{"foo":"%s","p":"%s"}}\' "$ARGOCD_APP_NAME-cm" "$ARGOCD_ENV_FOO" "$PARAM_TAGS_1"'
)


def _plugin(name: str, generate: list[str], **spec: Any) -> render.PluginDefinition:
    doc = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "ConfigManagementPlugin",
        "metadata": {"name": name},
        "spec": {"generate": {"command": generate}, **spec},
    }
    return plugin_config.parse_plugin(json.dumps(doc), file=f"{name}.yaml")


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "repo"
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def _plugin_request(root: Path, path: str, **kwargs: Any) -> render.RenderRequest:
    defaults: dict[str, Any] = {"source_type": render.SourceType.PLUGIN}
    return request(root, path, **(defaults | kwargs))


async def test_named_plugin_generates_with_env_and_parameters(tmp_path: Path) -> None:
    root = _tree(tmp_path, {"app/x.txt": "x"})
    gen = _plugin("gen", ["sh", "-c", CM])
    options = render.PluginOptions(
        name="gen",
        env=(("FOO", "bar-$ARGOCD_APP_NAMESPACE"),),
        parameters=(render.PluginParameter("tags", array=("a", "b")),),
    )
    result = await render.render(_plugin_request(root, "app", plugin=options, plugins=(gen,)))
    assert result.source_type is render.SourceType.PLUGIN
    assert names(result) == ["ConfigMap/demo-cm"]
    assert result.objects[0]["data"] == {"foo": "bar-ns1", "p": "b"}
    annotations = result.objects[0]["metadata"]["annotations"]
    assert annotations["argocd.argoproj.io/tracking-id"] == "demo:/ConfigMap:/demo-cm"


async def test_init_runs_first_in_a_writable_copy_and_yaml_streams_parse(tmp_path: Path) -> None:
    root = _tree(tmp_path, {"app/base.yaml": "kind: ConfigMap\n", "other/o.txt": "o"})
    os.chmod(root / "app", 0o555)  # the shared cache is read-only: the copy is not
    gen = _plugin(
        "two",
        [
            "sh",
            "-c",
            "for n in one two; do printf -- '---\\napiVersion: v1\\nkind: ConfigMap\\n"
            'metadata: {name: %s}\\ndata: {pwd: "%s"}\\n\' "$n" "$(cat made)"; done',
        ],
        init={"command": ["sh", "-c", "pwd | sed 's|.*/repo/|repo/|' > made && ls ../other"]},
    )
    try:
        result = await render.render(
            _plugin_request(root, "app", plugin=render.PluginOptions(name="two"), plugins=(gen,))
        )
    finally:
        os.chmod(root / "app", 0o755)
    assert names(result) == ["ConfigMap/one", "ConfigMap/two"]
    assert result.objects[0]["data"] == {"pwd": "repo/app"}  # cwd: the source path in the copy
    assert not (root / "app" / "made").exists()  # the original tree is untouched


async def test_json_stream_output(tmp_path: Path) -> None:
    root = _tree(tmp_path, {"app/a": ""})
    text = '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"}}\n' * 1
    text += '[{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"b"}}]'
    gen = _plugin("js", ["printf", "%s", text])
    result = await render.render(
        _plugin_request(root, "app", plugin=render.PluginOptions(name="js"), plugins=(gen,))
    )
    assert names(result) == ["ConfigMap/a", "ConfigMap/b"]


async def test_discovery_picks_the_first_matching_plugin_by_name(tmp_path: Path) -> None:
    root = _tree(tmp_path, {"app/main.cue": "", "app/env.txt": "dev"})
    by_command = _plugin(
        "a-cmd",
        ["printf", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: from-a}\n"],
        discover={"find": {"command": ["sh", "-c", "test -f env.txt && echo yes"]}},
    )
    by_glob = _plugin(
        "b-cue",
        ["printf", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: from-b}\n"],
        discover={"fileName": "*.cue"},
    )
    never = _plugin("c-never", ["false"], discover={"find": {"glob": "**/*.nothing"}})
    plugins = (by_command, by_glob, never)
    result = await render.render(
        _plugin_request(root, "app", plugin=render.PluginOptions(), plugins=plugins)
    )
    assert names(result) == ["ConfigMap/from-a"]
    (root / "app" / "env.txt").unlink()  # a-cmd's command now prints nothing
    result = await render.render(
        _plugin_request(root, "app", plugin=render.PluginOptions(), plugins=plugins)
    )
    assert names(result) == ["ConfigMap/from-b"]


async def test_a_discovery_command_gets_its_own_copy(tmp_path: Path) -> None:
    root = _tree(tmp_path, {"app/a.txt": ""})
    writer = _plugin(
        "writer",
        [
            "sh",
            "-c",
            "printf 'apiVersion: v1\\nkind: ConfigMap\\nmetadata: {name: x}\\n"
            "data: {ls: \"%s\"}\\n' \"$(ls | tr '\\n' ' ')\"",
        ],
        discover={"find": {"command": ["sh", "-c", "mkdir ro && chmod 555 ro && touch f; echo y"]}},
    )
    result = await render.render(
        _plugin_request(root, "app", plugin=render.PluginOptions(), plugins=(writer,))
    )
    assert names(result) == ["ConfigMap/x"]
    assert result.objects[0]["data"] == {"ls": "a.txt "}  # not the find command's files
    assert sorted(p.name for p in (root / "app").iterdir()) == ["a.txt"]


async def test_untyped_sources_try_discovery_before_detection(tmp_path: Path) -> None:
    cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: plain}\n"
    root = _tree(tmp_path, {"cue/main.cue": "", "cue/cm.yaml": cm, "plain/cm.yaml": cm})
    cue = _plugin(
        "cue",
        ["printf", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: by-plugin}\n"],
        discover={"fileName": "*.cue"},
    )
    by_name_only = _plugin("named", ["false"])  # no discovery: never picked automatically
    plugins = (by_name_only, cue)
    found = await render.render(request(root, "cue", plugins=plugins))
    assert (found.source_type, names(found)) == (render.SourceType.PLUGIN, ["ConfigMap/by-plugin"])
    plain = await render.render(request(root, "plain", plugins=plugins))
    assert (plain.source_type, names(plain)) == (render.SourceType.DIRECTORY, ["ConfigMap/plain"])
    explicit = await render.render(
        request(root, "cue", plugins=plugins, source_type=render.SourceType.DIRECTORY)
    )
    assert names(explicit) == ["ConfigMap/plain"]


async def test_selection_errors(tmp_path: Path) -> None:
    root = _tree(tmp_path, {"app/a.yaml": ""})
    picky = _plugin("picky", ["true"], discover={"fileName": "*.cue"})
    with pytest.raises(errors.RenderError, match="no config management plugin named 'nope'"):
        await render.render(
            _plugin_request(root, "app", plugin=render.PluginOptions(name="nope"), plugins=())
        )
    with pytest.raises(errors.RenderError, match="plugin 'picky': its discovery rules do not"):
        await render.render(
            _plugin_request(
                root, "app", plugin=render.PluginOptions(name="picky"), plugins=(picky,)
            )
        )
    with pytest.raises(errors.RenderError, match="no registered config management plugin's"):
        await render.render(
            _plugin_request(root, "app", plugin=render.PluginOptions(), plugins=(picky,))
        )


async def test_failure_carries_the_stderr_tail(tmp_path: Path) -> None:
    root = _tree(tmp_path, {"app/a": ""})
    bad = _plugin("bad", ["sh", "-c", "echo 'cannot parse main.cue' >&2; exit 3"])
    with pytest.raises(errors.RenderError) as caught:
        await render.render(
            _plugin_request(root, "app", plugin=render.PluginOptions(name="bad"), plugins=(bad,))
        )
    message = str(caught.value)
    assert "app demo: plugin 'bad': generate command (sh -c echo" in message
    assert "exit code 3: cannot parse main.cue" in message


async def test_a_hanging_plugin_is_killed_with_its_children(tmp_path: Path) -> None:
    root = _tree(tmp_path, {"app/a": ""})
    child_pid = tmp_path / "child.pid"
    hang = _plugin("hang", ["sh", "-c", f"sleep 600 & echo $! > {child_pid}; wait"])
    started = time.monotonic()
    with pytest.raises(errors.RenderTimeoutError, match=r"within the render timeout of 0\.5s"):
        await render.render(
            _plugin_request(root, "app", plugin=render.PluginOptions(name="hang"), plugins=(hang,)),
            limits=render.RenderLimits(timeout_seconds=0.5),
        )
    assert time.monotonic() - started < 10
    pid = int(child_pid.read_text())
    await eventually(lambda: not pid_alive(pid), within=5)


async def test_a_flood_is_killed_at_the_output_limit(tmp_path: Path) -> None:
    root = _tree(tmp_path, {"app/a": ""})
    flood = _plugin("flood", ["sh", "-c", "yes | head -c 2000000000"])
    with pytest.raises(
        errors.ManifestError, match=r"plugin 'flood': generate .* exceeds the limit"
    ):
        await render.render(
            _plugin_request(
                root, "app", plugin=render.PluginOptions(name="flood"), plugins=(flood,)
            ),
            limits=render.RenderLimits(max_total_bytes=2_000_000),
        )


async def test_the_plugin_sees_none_of_our_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TIDEGATE_TEST_SECRET", "hunter2")
    monkeypatch.setenv("GIT_ASKPASS", "/bin/leak")
    root = _tree(tmp_path, {"app/a": ""})
    dump = _plugin(
        "dump",
        [
            "sh",
            "-c",
            'env | sort | awk -F= \'{printf "  %s: \\"%s\\"\\n", $1, $2}\' > e; '
            "printf 'apiVersion: v1\\nkind: ConfigMap\\nmetadata: {name: env}\\ndata:\\n'; cat e",
        ],
    )
    result = await render.render(
        _plugin_request(root, "app", plugin=render.PluginOptions(name="dump"), plugins=(dump,))
    )
    seen = set(result.objects[0]["data"])
    assert "TIDEGATE_TEST_SECRET" not in seen and "GIT_ASKPASS" not in seen
    allowed_prefixes = ("ARGOCD_", "KUBE_", "PARAM_")
    extra = {k for k in seen if not k.startswith(allowed_prefixes)}
    assert extra <= {"PATH", "HOME", "TMPDIR", "PWD", "SHLVL", "_"}  # the last three: sh's own


async def test_plugin_cache_key_follows_the_definition(tmp_path: Path) -> None:
    root = _tree(tmp_path, {"app/a": ""})
    one = _plugin("p", ["printf", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: one}\n"])
    two = _plugin("p", ["printf", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: two}\n"])
    cache = render.RenderCache()
    options = render.PluginOptions(name="p")
    first = await render.render(
        _plugin_request(root, "app", commit="c1", plugin=options, plugins=(one,)), cache=cache
    )
    second = await render.render(
        _plugin_request(root, "app", commit="c1", plugin=options, plugins=(two,)), cache=cache
    )
    assert (names(first), names(second)) == (["ConfigMap/one"], ["ConfigMap/two"])
    env = render.PluginOptions(name="p", env=(("A", "1"),))
    req = _plugin_request(root, "app", commit="c1", plugin=env, plugins=(one,))
    assert (
        req.cache_key()
        != _plugin_request(root, "app", commit="c1", plugin=options, plugins=(one,)).cache_key()
    )


async def test_parameters_announcement_dynamic_then_static(tmp_path: Path) -> None:
    root = _tree(tmp_path, {"app/values.yaml": "replicas: 2\n"})
    announcing = _plugin(
        "ann",
        ["true"],
        parameters={
            "static": [{"name": "env", "string": "dev", "title": "Environment"}],
            "dynamic": {
                "command": ["sh", "-c", 'echo "[{\\"name\\": \\"from-$ARGOCD_APP_NAME\\"}]"']
            },
        },
    )
    req = _plugin_request(
        root, "app", plugin=render.PluginOptions(name="ann"), plugins=(announcing,)
    )
    assert await render.plugin_parameters(req) == [
        {"name": "from-demo"},
        {"name": "env", "string": "dev", "title": "Environment"},
    ]
