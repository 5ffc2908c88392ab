"""From spec.source.plugin to the render request: options, candidate plugins, cache keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from tidegate import render
from tidegate.controller import sourcing
from tidegate.model import application, errors
from tidegate.model import source as model_source
from tidegate.render import plugin_config


def _def(name: str, discover: str = "") -> render.PluginDefinition:
    spec = (
        "{generate: {command: [cat]}"
        + (f", discover: {{fileName: '{discover}'}}" if discover else "")
        + "}"
    )
    text = f"kind: ConfigManagementPlugin\nmetadata: {{name: {name}}}\nspec: {spec}\n"
    return plugin_config.parse_plugin(text, file=f"{name}.yaml")


REGISTERED = (_def("cue", "*.cue"), _def("named"), _def("tanka", "jsonnetfile.json"))


def _src(**fields: object) -> model_source.ApplicationSource:
    base: dict[str, object] = {"repoURL": "https://git/r", "path": "app", "targetRevision": "main"}
    return model_source.ApplicationSource.model_validate(base | fields)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"plugin": {"name": "named"}}, ["named"]),
        ({"plugin": {"name": "missing"}}, []),
        ({"plugin": {}}, ["cue", "tanka"]),  # discovery: only plugins with rules
        ({}, ["cue", "tanka"]),  # untyped: discovery first, as Argo CD
        ({"directory": {"recurse": True}}, []),
        ({"helm": {}}, []),
        ({"kustomize": {}}, []),
    ],
)
def test_candidate_plugins(fields: dict[str, object], expected: list[str]) -> None:
    found = sourcing.candidate_plugins(_src(**fields), REGISTERED)
    assert [p.name for p in found] == expected


def _request(
    src: model_source.ApplicationSource, plugins: tuple[render.PluginDefinition, ...]
) -> render.RenderRequest:
    return sourcing.render_request(
        src,
        root=Path("/r"),
        commit="c" * 40,
        app_name="web",
        namespace="ns",
        tracking="annotation",
        plugins=plugins,
        project="proj",
    )


def test_request_carries_options_build_context_and_definitions() -> None:
    src = _src(
        plugin={
            "name": "named",
            "env": [{"name": "FOO", "value": "bar"}, {"name": "EMPTY"}],
            "parameters": [
                {"name": "s", "string": "v"},
                {"name": "a", "array": ["x", "y"]},
                {"name": "m", "map": {"k2": "2", "k1": "1"}},
            ],
        }
    )
    req = _request(src, REGISTERED)
    assert req.source_type is render.SourceType.PLUGIN
    assert req.plugin == render.PluginOptions(
        name="named",
        env=(("FOO", "bar"), ("EMPTY", "")),
        parameters=(
            render.PluginParameter("s", string="v"),
            render.PluginParameter("a", array=("x", "y")),
            render.PluginParameter("m", map=(("k1", "1"), ("k2", "2"))),
        ),
    )
    assert [p.name for p in req.plugins] == ["named"]
    assert (req.project, req.repo_url, req.target_revision) == ("proj", "https://git/r", "main")
    edited = (_def("named", "*.x"),)
    other = _request(src, edited)
    assert other.cache_key() != req.cache_key()  # the definition is part of the key


def test_directory_apps_keep_their_cache_key_when_plugins_are_registered() -> None:
    src = _src(directory={"recurse": True})
    args = {
        "root": Path("/r"),
        "commit": "c",
        "app_name": "a",
        "namespace": "n",
        "tracking": "annotation",
    }
    bare = sourcing.render_request(src, **args)  # type: ignore[arg-type]
    with_plugins = sourcing.render_request(src, plugins=REGISTERED, project="p", **args)  # type: ignore[arg-type]
    assert bare.cache_key() == with_plugins.cache_key()


def test_plugin_parameters_must_be_strings() -> None:
    source = {"repoURL": "r", "path": "p", "plugin": {"parameters": [{"name": "n", "string": {}}]}}
    app = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": "a", "namespace": "tg"},
        "spec": {"project": "default", "source": source, "destination": {"name": "dev"}},
    }
    with pytest.raises(errors.SpecError, match=r"spec\.source\.plugin\.parameters\[0\]\.string"):
        application.parse_application(app)
