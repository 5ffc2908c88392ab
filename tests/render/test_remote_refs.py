"""Remote and hostile references through the real renderers, a real git server (basic auth) and
the real repository cache: what a project permits renders, everything else is refused before
kustomize or helm runs, and never with another repository's content in the message."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.render.conftest import names, request

from tidegate import render
from tidegate.model import errors
from tidegate.render import kustomize, process
from tidegate.sources import RepoCache, RepoCredentials, remote, urls
from tidegate.testenv import gitserver

SECRET_VALUE = "s3cr3t-of-another-tenant"
CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  k: {value}\n"
SECRET = (
    "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n"
    f"stringData:\n  password: {SECRET_VALUE}\n"
)


@pytest.fixture(scope="module")
def git_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[gitserver.GitServer]:
    with gitserver.GitServer.start(tmp_path_factory.mktemp("render-git"), ssh=False) as server:
        yield server


@pytest.fixture
def cache(tmp_path: Path) -> RepoCache:
    return RepoCache(tmp_path / "cache", timeout=60)


@pytest.fixture
def repos(cache: RepoCache, git_server: gitserver.GitServer) -> remote.RemoteRepos:
    creds = RepoCredentials(username=git_server.info.username, password=git_server.info.password)
    return remote.RemoteRepos(cache, credentials=lambda _url: creds, max_age=0.0)


def serve(server: gitserver.GitServer, tmp_path: Path, files: dict[str, str]) -> str:
    """A new repository on the server holding ``files``; returns its HTTP URL."""
    name = f"tenants/r{secrets.token_hex(4)}"
    source = tmp_path / name
    for path, content in files.items():
        (source / path).parent.mkdir(parents=True, exist_ok=True)
        (source / path).write_text(content)
    return server.create_repo(name, from_dir=source).http_url


def app_tree(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / f"app-{secrets.token_hex(3)}"
    for path, content in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(content)
    return root


def permitted(server: gitserver.GitServer) -> tuple[str, ...]:
    return (server.info.http_base + "/tenants/*",)


def _data(result: render.RenderResult, name: str) -> dict[str, Any]:
    return dict(next(o for o in result.objects if o["metadata"]["name"].endswith(name))["data"])


async def test_https_remote_base_with_auth_renders(
    git_server: gitserver.GitServer,
    repos: remote.RemoteRepos,
    tools: render.Tools,
    tmp_path: Path,
) -> None:
    leaf = serve(
        git_server,
        tmp_path,
        {
            "cm/kustomization.yaml": "resources: [cm.yaml]\n",
            "cm/cm.yaml": CONFIGMAP.format(name="leaf", value="1"),
        },
    )
    # a remote base that itself names another remote repository (nested, walked too)
    base = serve(
        git_server,
        tmp_path,
        {
            "base/kustomization.yaml": f"resources: [cm.yaml, '{leaf}//cm?ref=main']\n",
            "base/cm.yaml": CONFIGMAP.format(name="base", value="2"),
        },
    )
    root = app_tree(tmp_path, {"app/kustomization.yaml": f"resources:\n- {base}//base?ref=main\n"})
    req = request(root, "app", source_repos=permitted(git_server))
    result = await render.render(req, found=tools, repos=repos)
    assert sorted(names(result)) == ["ConfigMap/base", "ConfigMap/leaf"]
    assert [pin[0] for pin in result.remote_pins] == [base, leaf]
    # with kustomize options the remote bases are rewritten in the same private copy
    options = render.KustomizeOptions(name_prefix="p-")
    req = request(root, "app", source_repos=permitted(git_server), kustomize=options)
    result = await render.render(req, found=tools, repos=repos)
    assert sorted(names(result)) == ["ConfigMap/p-base", "ConfigMap/p-leaf"]


async def test_cached_render_follows_a_moving_remote_ref(
    git_server: gitserver.GitServer,
    repos: remote.RemoteRepos,
    tools: render.Tools,
    tmp_path: Path,
) -> None:
    base = serve(
        git_server,
        tmp_path,
        {
            "b/kustomization.yaml": "resources: [cm.yaml]\n",
            "b/cm.yaml": CONFIGMAP.format(name="moving", value="v1"),
        },
    )
    root = app_tree(tmp_path, {"app/kustomization.yaml": f"resources: ['{base}//b?ref=main']\n"})
    cache = render.RenderCache()
    req = request(root, "app", commit="a" * 40, source_repos=permitted(git_server))
    first = await render.render(req, cache=cache, found=tools, repos=repos)
    assert _data(first, "moving") == {"k": "v1"}
    assert await render.render(req, cache=cache, found=tools, repos=repos) is first
    name = base.rsplit("/", 2)[-2] + "/" + base.rsplit("/", 1)[-1].removesuffix(".git")
    work = git_server.working_copy(name, tmp_path / "wc")
    work.commit({"b/cm.yaml": CONFIGMAP.format(name="moving", value="v2")}, "move")
    second = await render.render(req, cache=cache, found=tools, repos=repos)
    assert _data(second, "moving") == {"k": "v2"}


async def test_remote_base_outside_source_repos_is_refused_unfetched(
    git_server: gitserver.GitServer,
    cache: RepoCache,
    repos: remote.RemoteRepos,
    tools: render.Tools,
    tmp_path: Path,
) -> None:
    other = serve(git_server, tmp_path, {"x/kustomization.yaml": "resources: []\n"})
    root = app_tree(tmp_path, {"app/kustomization.yaml": f"resources: ['{other}//x']\n"})
    only = (git_server.info.http_base + "/team-a/*",)
    with pytest.raises(errors.ReferenceRefusedError) as caught:
        await render.render(request(root, "app", source_repos=only), found=tools, repos=repos)
    message = str(caught.value)
    assert message.startswith("app demo: app/kustomization.yaml: resources[0] ")
    assert other in message and "not permitted by the project's sourceRepos" in message
    assert cache.fetch_count(other) == 0
    # and without any repository access at all (a plain local render)
    with pytest.raises(errors.ReferenceRefusedError, match="remote repositories cannot be used"):
        await render.render(request(root, "app", source_repos=("*",)), found=tools)


@pytest.mark.parametrize("form", ["file", "git-file", "absolute", "dotdot", "ssh-localhost"])
async def test_reference_into_the_repository_cache_is_refused(
    git_server: gitserver.GitServer,
    cache: RepoCache,
    repos: remote.RemoteRepos,
    tools: render.Tools,
    tmp_path: Path,
    form: str,
) -> None:
    # Another tenant's repository, with a Secret, already fetched into the shared cache.
    victim = serve(
        git_server,
        tmp_path,
        {"app/kustomization.yaml": "resources: [s.yaml]\n", "app/s.yaml": SECRET},
    )
    commit = await repos.resolve(victim, "")
    tree = await repos.checkout(victim, commit)
    bare = cache.root / "repos" / urls.cache_dir_name(victim) / "git"
    assert bare.is_dir()
    # The attacker's repository is checked out in the same cache, next to the victim's.
    attacker = cache.root / "repos" / "attacker" / "trees" / "c0ffee"
    entry = {
        "file": f"file://{bare}//app",
        "git-file": f"git::file://{bare}//app",
        "absolute": f"{tree}/app",
        "dotdot": "../" * len((attacker / "app").relative_to(cache.root).parts)
        + str((tree / "app").relative_to(cache.root)),
        "ssh-localhost": f"ssh://git@localhost{bare}//app",
    }[form]
    (attacker / "app").mkdir(parents=True)
    (attacker / "app" / "kustomization.yaml").write_text(f"resources:\n- {entry}\n")
    req = request(attacker, "app", source_repos=("*",))
    with pytest.raises(errors.RenderError) as caught:
        await render.render(req, found=tools, repos=repos)
    message = str(caught.value)
    assert message.startswith("app demo: app/kustomization.yaml: resources[0] "), message
    assert SECRET_VALUE not in message
    rule = {
        "file": "file:// URLs are refused",
        "git-file": "file:// URLs are refused",
        "absolute": "absolute paths are refused",
        "dotdot": "resolves outside the repository",
        "ssh-localhost": "points into Tidegate's own directories",
    }[form]
    assert rule in message


@pytest.mark.parametrize(
    ("kustomization", "rule"),
    [
        ("patches:\n- path: https://example.com/p.yaml\n", "patches[0].path"),
        (
            "configMapGenerator:\n- name: c\n  files: [k=/etc/passwd]\n",
            "configMapGenerator[0].files[0]",
        ),
        (
            "secretGenerator:\n- name: c\n  envs: [../../../outside.env]\n",
            "secretGenerator[0].envs[0]",
        ),
        ("patchesStrategicMerge: [file:///etc/passwd]\n", "patchesStrategicMerge[0]"),
        ("helmCharts:\n- name: x\n  repo: file:///srv/charts\n", "helmCharts[0].repo"),
        ("components: [/srv/component]\n", "components[0]"),
    ],
)
async def test_file_fields_and_components_are_checked(
    tools: render.Tools, tmp_path: Path, kustomization: str, rule: str
) -> None:
    root = app_tree(
        tmp_path,
        {
            "app/kustomization.yaml": "resources: [../base]\n",
            "base/kustomization.yaml": kustomization,
        },
    )
    with pytest.raises(errors.RenderError) as caught:
        await render.render(request(root, "app", source_repos=("*",)), found=tools)
    assert f"app demo: base/kustomization.yaml: {rule}" in str(caught.value)


async def test_remote_repository_count_is_bounded(
    git_server: gitserver.GitServer,
    repos: remote.RemoteRepos,
    tools: render.Tools,
    tmp_path: Path,
) -> None:
    one = serve(git_server, tmp_path, {"a/kustomization.yaml": "resources: []\n"})
    two = serve(git_server, tmp_path, {"a/kustomization.yaml": "resources: []\n"})
    root = app_tree(tmp_path, {"app/kustomization.yaml": f"resources: ['{one}//a', '{two}//a']\n"})
    req = request(root, "app", source_repos=permitted(git_server))
    with pytest.raises(errors.ReferenceRefusedError, match="more than 1 remote repositories"):
        await render.render(
            req, found=tools, repos=repos, limits=render.RenderLimits(max_remote_repos=1)
        )


async def test_kustomize_itself_cannot_fetch(
    git_server: gitserver.GitServer, tools: render.Tools, tmp_path: Path
) -> None:
    # Defence in depth: even a remote base that reached kustomize unchecked fetches nothing.
    name = f"tenants/direct{secrets.token_hex(3)}"
    source = tmp_path / "direct"
    (source / "b").mkdir(parents=True)
    (source / "b" / "kustomization.yaml").write_text("resources: [cm.yaml]\n")
    (source / "b" / "cm.yaml").write_text(CONFIGMAP.format(name="direct", value="x"))
    url = git_server.create_repo(name, from_dir=source).http_url.replace(
        "://", f"://{git_server.info.username}:{git_server.info.password}@"
    )
    app = tmp_path / "app"
    app.mkdir()
    (app / "kustomization.yaml").write_text(f"resources: ['{url}//b?ref=main']\n")
    assert tools.kustomize_build is not None
    with pytest.raises(errors.RenderError, match="transport 'http' not allowed"):
        await process.run(
            [*tools.kustomize_build, str(app)],
            what="kustomize build",
            time_limit=60,
            max_stdout=1 << 20,
            max_stderr=1 << 16,
            env=kustomize._environment(),
        )
    assert git_server.fetches(name) == 0


async def test_helm_value_file_urls(
    git_server: gitserver.GitServer,
    repo: Path,
    repos: remote.RemoteRepos,
    tools: render.Tools,
    tmp_path: Path,
) -> None:
    values = serve(git_server, tmp_path, {"env/prod.yaml": "replicas: 7\n"})
    options = render.HelmOptions(value_files=(f"{values}//env/prod.yaml?ref=main",))
    req = request(repo, "helm/chart", helm=options, source_repos=permitted(git_server))
    result = await render.render(req, found=tools, repos=repos)
    cm = next(o for o in result.objects if o["kind"] == "ConfigMap")
    assert cm["data"]["replicas"] == "7"
    outside = request(repo, "helm/chart", helm=options, source_repos=("https://elsewhere/*",))
    with pytest.raises(errors.ReferenceRefusedError, match="not permitted by the project"):
        await render.render(outside, found=tools, repos=repos)
    local = render.HelmOptions(value_files=(f"file://{repo}/helm/chart/values-prod.yaml",))
    with pytest.raises(errors.ReferenceRefusedError, match="file:// URLs are refused"):
        await render.render(
            request(repo, "helm/chart", helm=local, source_repos=("*",)), found=tools, repos=repos
        )


@pytest.mark.parametrize(
    ("dependency", "rule"),
    [
        ("file://../../../outside", "resolves outside the repository"),
        ("file:///srv/charts/common", "absolute paths are refused"),
        ("https://charts.elsewhere.example", "not permitted by the project's sourceRepos"),
    ],
)
async def test_chart_dependencies_are_checked(
    repo: Path, repos: remote.RemoteRepos, tools: render.Tools, dependency: str, rule: str
) -> None:
    chart = repo / "helm" / "chart" / "Chart.yaml"
    chart.write_text(
        chart.read_text()
        + f"dependencies:\n- name: common\n  version: 1.0.0\n  repository: {dependency}\n"
    )
    req = request(repo, "helm/chart", source_repos=("https://charts.example/*",))
    with pytest.raises(errors.RenderError) as caught:
        await render.render(req, found=tools, repos=repos)
    message = str(caught.value)
    assert "helm/chart/Chart.yaml: dependencies[0].repository" in message and rule in message
