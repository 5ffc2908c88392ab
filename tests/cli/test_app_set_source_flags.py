"""``app set --validate`` and ``--directory-disable-extension-filter`` (app create/set) against
the test bed's git server: a changed source is checked before anything is written, and a
directory source with the extension filter off renders files of other extensions."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from tests.cli.appcli import Cli, control_namespace, register_repo, unique

from tidegate.testenv import handle

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def control(testbed_handle: handle.TestBed) -> Iterator[str]:
    ns = control_namespace(testbed_handle, "tg-setsrc")
    yield ns
    with testbed_handle.admin_client("mgmt") as mgmt:
        mgmt.delete(f"/api/v1/namespaces/{ns}")


@pytest.fixture(scope="module")
def cli(
    testbed_handle: handle.TestBed, control: str, tmp_path_factory: pytest.TempPathFactory
) -> Cli:
    return Cli(testbed_handle, control, tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="module")
def repo_url(
    control: str,
    git_remote: handle.GitRemote,
    testbed_handle: handle.TestBed,
    tmp_path_factory: pytest.TempPathFactory,
) -> str:
    root = tmp_path_factory.mktemp("src")
    (root / "app").mkdir()
    (root / "app" / "plain.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: plain}\ndata: {a: b}\n"
    )
    (root / "app" / "sealed.yaml.sealed").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: from-sealed}\ndata: {c: d}\n"
    )
    (root / "app" / "NOTES.md").write_text("# notes, not a manifest: [\n")
    repo = git_remote.create_repo(from_dir=Path(root))
    register_repo(testbed_handle, control, git_remote, repo.http_url)
    return repo.http_url


def _flags(url: str, bed: handle.TestBed) -> list[str]:
    server = bed.clusters["dev"].server
    return ["--repo", url, "--path", "app", "--dest-server", server, "--dest-namespace", "x"]


def test_set_validates_a_changed_source_first(
    cli: Cli, repo_url: str, testbed_handle: handle.TestBed
) -> None:
    name = unique("val")
    assert cli("create", name, *_flags(repo_url, testbed_handle)).exit_code == 0
    version = cli.app(name)["metadata"]["resourceVersion"]

    missing = cli("set", name, "--path", "nowhere")
    assert missing.exit_code == 1, missing.output
    assert f"application '{name}'" in missing.stderr and "nowhere" in missing.stderr
    revision = cli("set", name, "--revision", "no-such-branch")
    assert revision.exit_code == 1
    assert "the revision does not exist" in revision.stderr
    assert cli.app(name)["metadata"]["resourceVersion"] == version  # nothing written

    bad = cli("set", name, "--path", "nowhere", "--validate=maybe")
    assert bad.exit_code == 2 and "--validate" in bad.stderr
    unchecked = cli("set", name, "--path", "nowhere", "--validate=false")
    assert unchecked.exit_code == 0, unchecked.output
    assert cli.app(name)["spec"]["source"]["path"] == "nowhere"
    back = cli("set", name, "--path", "app")  # exists: checked and written
    assert back.exit_code == 0, back.output
    # A change that moves no source (policy only) needs no repository.
    assert cli("set", name, "--sync-policy", "none").exit_code == 0


def test_directory_extension_filter_off_renders_other_extensions(
    cli: Cli, repo_url: str, testbed_handle: handle.TestBed
) -> None:
    name = unique("ext")
    made = cli("create", name, *_flags(repo_url, testbed_handle), "--directory-include", "*.sealed")
    assert made.exit_code == 0, made.output
    assert cli("manifests", name).stdout.strip() == ""  # the filter drops *.sealed first

    on = cli("set", name, "--directory-disable-extension-filter")
    assert on.exit_code == 0, on.output
    assert cli.app(name)["spec"]["source"]["directory"] == {
        "include": "*.sealed",
        "disableExtensionFilter": True,
    }
    rendered = list(yaml.safe_load_all(cli("manifests", name).stdout))
    assert [o["metadata"]["name"] for o in rendered if o] == ["from-sealed"]

    everything = cli("set", name, "--directory-include", "")
    assert everything.exit_code == 0, everything.output
    rendered = list(yaml.safe_load_all(cli("manifests", name).stdout))
    assert sorted(o["metadata"]["name"] for o in rendered if o) == ["from-sealed", "plain"]

    off = cli("set", name, "--no-directory-disable-extension-filter")
    assert off.exit_code == 0, off.output
    assert "disableExtensionFilter" not in cli.app(name)["spec"]["source"].get("directory", {})
