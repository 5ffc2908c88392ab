"""``tidegate app diff``'s argocd comparison flags against the test bed: ``--refresh``,
``--server-side-generate`` with ``--local-include``, ``--server-side-diff*`` and
``--ignore-normalizer-jq-execution-timeout`` (docs/cli.md, cli/app_diff_opts.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from tests.cli.appcli import Cli, apply_rendered, register_repo, unique

from tidegate.testenv import gitrepos, handle

pytestmark = pytest.mark.e2e

EXTRA = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: extra}\ndata: {k: v}\n"


@pytest.fixture
def app_name(
    cli: Cli,
    source_dir: Path,
    git_remote: handle.GitRemote,
    testbed_handle: handle.TestBed,
    namespace: str,
) -> tuple[str, str]:
    """An app over a repository of its own (the test pushes to it), its objects applied."""
    repo = git_remote.create_repo(from_dir=source_dir)
    name = unique("dflags")
    register_repo(testbed_handle, cli.ns, git_remote, repo.http_url, name=f"repo-{name}")
    server = testbed_handle.clusters["dev"].server
    flags = ["--repo", repo.http_url, "--path", "app", "--dest-server", server]
    assert cli("create", name, *flags, "--dest-namespace", namespace).exit_code == 0
    apply_rendered(testbed_handle, source_dir, name, namespace)
    return name, repo.http_url


def test_server_side_generate_renders_the_included_files(
    cli: Cli,
    app_name: tuple[str, str],
    source_dir: Path,
    tmp_path: Path,
) -> None:
    name, _ = app_name
    local = tmp_path / "repo" / "app"
    shutil.copytree(source_dir / "app", local)
    config = local / "config.yaml"
    config.write_text(config.read_text().replace("blue", "green"))
    (local / "extra.yml").write_text(EXTRA)

    every = cli("diff", name, "--local", str(local), "--server-side-generate", "--no-color")
    assert every.exit_code == 1, every.output  # the defaults take *.yaml and *.yml
    assert "+  color: green" in every.stdout and "ConfigMap" in every.stdout
    assert "extra" in every.stdout

    yaml_only = cli("diff", name, "--local", str(local), "--server-side-generate",
                    "--local-include", "*.yaml", "--no-color")  # fmt: skip
    assert yaml_only.exit_code == 1 and "+  color: green" in yaml_only.stdout
    assert "extra" not in yaml_only.stdout

    # only the unchanged Secret is rendered: the changed ConfigMap is not a target
    root = ["--local-repo-root", str(local.parent)]
    secret_only = cli("diff", name, "--local", str(local), "--server-side-generate",
                      "--local-include", "secret.yaml", *root)  # fmt: skip
    assert secret_only.exit_code == 0, secret_only.output
    assert (local / "extra.yml").exists()  # the staging copy left the directory alone

    alone = cli("diff", name, "--local-include", "*.yaml", "--local", str(local))
    assert alone.exit_code == 2 and "--local-include" in alone.stderr
    assert "give both" in alone.stderr
    no_local = cli("diff", name, "--server-side-generate")
    assert no_local.exit_code == 2 and "goes with --local DIR" in no_local.stderr


def test_refresh_and_server_side_diff_flags(
    cli: Cli,
    app_name: tuple[str, str],
    git_remote: handle.GitRemote,
    source_dir: Path,
    tmp_path: Path,
) -> None:
    name, url = app_name
    assert cli("diff", name, "--server-side-diff-concurrency", "-1").exit_code == 0
    client_side = cli(
        "diff", name, "--server-side-diff=false", "--server-side-diff-max-batch-kb", "1"
    )
    assert client_side.exit_code == 0, client_side.output

    work = gitrepos.WorkingCopy.clone(url, tmp_path / "work", env=git_remote.client_env())
    changed = (source_dir / "app/config.yaml").read_text().replace("blue", "red")
    work.commit({"app/config.yaml": changed}, "red")
    refreshed = cli("diff", name, "--refresh", "--no-color")
    assert refreshed.exit_code == 1, refreshed.output
    assert "+  color: red" in refreshed.stdout

    for flag, value, said in (
        ("--server-side-diff-concurrency", "0", "not -1 (unlimited) or a positive number"),
        ("--server-side-diff-max-batch-kb", "0", "not a positive number"),
        ("--server-side-diff", "sometimes", "expected true or false"),
        ("--ignore-normalizer-jq-execution-timeout", "soon", "invalid duration 'soon'"),
    ):
        bad = cli("diff", name, f"{flag}={value}")
        assert bad.exit_code == 2 and said in bad.stderr, (flag, bad.output)


def test_jq_timeout_bounds_ignore_differences(
    cli: Cli,
    app_name: tuple[str, str],
) -> None:
    name, _ = app_name
    never = {"kind": "ConfigMap", "name": "web-config", "jqPathExpressions": ["def f: f; f"]}
    cli.patch(name, {"spec": {"ignoreDifferences": [never]}})
    bounded = cli("diff", name, "--ignore-normalizer-jq-execution-timeout", "200ms")
    assert bounded.exit_code == 2, bounded.output
    assert "jq expression 'def f: f; f'" in bounded.stderr
    assert "did not finish within the timeout of 0.2s" in bounded.stderr
    assert bounded.stdout == ""
