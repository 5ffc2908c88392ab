"""The plugin environment as Argo CD builds it: build variables, ARGOCD_ENV_*, parameters."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tidegate import render
from tidegate.model import errors
from tidegate.render import plugin_env


def _req(**kwargs: object) -> render.RenderRequest:
    base: dict[str, object] = {
        "root": Path("/nowhere"),
        "path": "apps/web",
        "commit": "0123456789abcdef0123456789abcdef01234567",
        "app_name": "web",
        "namespace": "team",
        "project": "proj",
        "repo_url": "https://git.example/org/repo.git",
        "target_revision": "main",
        "kube_version": "1.31.0+k3s1",
        "api_versions": ("v1", "apps/v1"),
    }
    return render.RenderRequest(**(base | kwargs))  # type: ignore[arg-type]


def test_build_env_has_argo_cds_variables() -> None:
    assert plugin_env.build_env(_req()) == {
        "ARGOCD_APP_NAME": "web",
        "ARGOCD_APP_NAMESPACE": "team",
        "ARGOCD_APP_PROJECT_NAME": "proj",
        "ARGOCD_APP_REVISION": "0123456789abcdef0123456789abcdef01234567",
        "ARGOCD_APP_REVISION_SHORT": "0123456",
        "ARGOCD_APP_REVISION_SHORT_8": "01234567",
        "ARGOCD_APP_SOURCE_REPO_URL": "https://git.example/org/repo.git",
        "ARGOCD_APP_SOURCE_PATH": "apps/web",
        "ARGOCD_APP_SOURCE_TARGET_REVISION": "main",
        "KUBE_VERSION": "1.31.0k3s1",
        "KUBE_API_VERSIONS": "v1,apps/v1",
    }


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("plain", "plain"),
        ("rev-$ARGOCD_APP_NAME", "rev-web"),
        ("${ARGOCD_APP_NAME}x", "webx"),
        ("$ARGOCD_APP_NAMEx", ""),  # the name runs on: unknown variable, empty
        ("cost $$5", "cost $5"),
        ("$UNKNOWN-", "-"),
        ("trailing $", "trailing $"),
        ("$ alone", "$ alone"),
        ("bad ${} syntax", "bad  syntax"),
        ("open ${ARGOCD", "open ARGOCD"),
        ("digit $1x", "digit x"),
    ],
)
def test_envsubst_follows_go_os_expand(value: str, expected: str) -> None:
    assert plugin_env.envsubst(value, {"ARGOCD_APP_NAME": "web"}) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [("values-files", "VALUES_FILES"), ("image.tag", "IMAGE_TAG"), ("a b/c", "A_B_C")],
)
def test_parameter_names_are_upper_cased_and_escaped(name: str, expected: str) -> None:
    assert plugin_env.param_name(name) == expected


def test_parameters_env_as_documented() -> None:
    params = (
        render.PluginParameter("values-files", array=("values-dev.yaml", "b.yaml")),
        render.PluginParameter("helm-parameters", map=(("image.tag", "v1.2.3"),)),
        render.PluginParameter("some-string-param", string="a<b"),
        render.PluginParameter("empty", array=()),
    )
    env = plugin_env.parameters_env(params)
    assert json.loads(env["ARGOCD_APP_PARAMETERS"]) == [
        {"name": "values-files", "array": ["values-dev.yaml", "b.yaml"]},
        {"name": "helm-parameters", "map": {"image.tag": "v1.2.3"}},
        {"name": "some-string-param", "string": "a<b"},
        {"name": "empty", "array": []},
    ]
    assert "\\u003c" in env["ARGOCD_APP_PARAMETERS"]  # Go's json.Marshal escapes HTML
    assert env["PARAM_VALUES_FILES_0"] == "values-dev.yaml"
    assert env["PARAM_VALUES_FILES_1"] == "b.yaml"
    assert env["PARAM_HELM_PARAMETERS_IMAGE_TAG"] == "v1.2.3"
    assert env["PARAM_SOME_STRING_PARAM"] == "a<b"
    assert not any(k.startswith("PARAM_EMPTY") for k in env)


def test_plugin_env_is_minimal_and_prefixes_user_variables() -> None:
    options = render.PluginOptions(
        name="p", env=(("FOO", "bar"), ("REV", "test-$ARGOCD_APP_REVISION_SHORT"), ("PATH", "x"))
    )
    env = plugin_env.plugin_env(_req(), options, home="/s/home", tmp="/s/tmp")
    assert env["ARGOCD_ENV_FOO"] == "bar"
    assert env["ARGOCD_ENV_REV"] == "test-0123456"
    assert env["ARGOCD_ENV_PATH"] == "x"
    assert env["PATH"] == plugin_env.PATH  # a user variable never replaces ours
    assert env["HOME"] == "/s/home" and env["TMPDIR"] == "/s/tmp"
    allowed = {"PATH", "HOME", "TMPDIR", "ARGOCD_APP_PARAMETERS"}
    unexpected = {
        k for k in env if k not in allowed and not k.startswith(("ARGOCD_", "KUBE_", "PARAM_"))
    }
    assert unexpected == set()


@pytest.mark.parametrize("name", ["", "A=B", "NUL\x00"])
def test_bad_env_names_are_refused(name: str) -> None:
    options = render.PluginOptions(env=((name, "v"),))
    with pytest.raises(errors.RenderError, match="plugin env"):
        plugin_env.plugin_env(_req(), options, home="h", tmp="t")
