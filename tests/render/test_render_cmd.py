"""``tidegate render`` end to end: plain directory, local git repository, errors, exit codes."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from tidegate.cli import main

runner = CliRunner()


@pytest.fixture
def git_repo(repo: Path) -> Path:
    """The fixture tree committed to a real git repository, plus a `v2` tag changing a file."""

    def git(*args: str) -> None:
        subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
            cwd=repo,
            check=True,
            capture_output=True,
        )

    git("init", "-q", "-b", "main")
    git("add", ".")
    git("commit", "-q", "-m", "one")
    (repo / "helm" / "chart" / "values.yaml").write_text("replicas: 4\ngreeting: v2\nimage: x\n")
    git("commit", "-q", "-am", "two")
    git("tag", "v2")
    git("checkout", "-q", "HEAD~1")
    return repo


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(main.app, ["render", *args])
    return result.exit_code, result.stdout, result.stderr


def test_plain_directory_yaml(repo: Path) -> None:
    code, out, _ = invoke("--repo", str(repo), "--path", "plain", "--app-name", "demo")
    assert code == 0
    docs = list(yaml.safe_load_all(out))
    assert [d["metadata"]["name"] for d in docs][:2] == ["a-one", "a-two"]
    assert docs[0]["metadata"]["annotations"]["argocd.argoproj.io/tracking-id"] == (
        "demo:/ConfigMap:/a-one"
    )


def test_no_app_name_means_no_tracking(repo: Path) -> None:
    code, out, _ = invoke("--repo", str(repo), "--path", "plain/sub", "-o", "json")
    assert code == 0
    document = json.loads(out)
    assert document["kind"] == "List"
    assert document["items"] == [
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": "sub-c"},
        }
    ]


def test_git_repository_at_a_revision(git_repo: Path, tmp_path: Path) -> None:
    args = [
        "--repo",
        str(git_repo),
        "--path",
        "helm/chart",
        "-o",
        "json",
        "--helm-set",
        "image=nginx:2",
        "--release-name",
        "r1",
        "--dest-namespace",
        "team",
        "--cache-dir",
        str(tmp_path / "cache"),
    ]
    code, out, err = invoke(*args, "--revision", "v2")
    assert code == 0, err
    items = json.loads(out)["items"]
    cm = next(i for i in items if i["kind"] == "ConfigMap")
    assert (cm["metadata"]["name"], cm["metadata"]["namespace"]) == ("r1-config", "team")
    assert cm["data"]["greeting"] == "v2"
    deployment = next(i for i in items if i["kind"] == "Deployment")
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:2"
    first = subprocess.run(
        ["git", "rev-parse", "main~1"], cwd=git_repo, check=True, capture_output=True, text=True
    ).stdout.strip()
    code, out, _ = invoke(*args, "--revision", first)
    assert code == 0
    cm = next(i for i in json.loads(out)["items"] if i["kind"] == "ConfigMap")
    assert cm["data"]["greeting"] == "hello"


def test_kustomize_options(repo: Path) -> None:
    code, out, _ = invoke(
        "--repo",
        str(repo),
        "--path",
        "kustomize/overlay",
        "--nameprefix",
        "p-",
        "--kustomize-image",
        "nginx:9",
        "--kustomize-namespace",
        "k",
    )
    assert code == 0
    docs = list(yaml.safe_load_all(out))
    assert sorted(d["metadata"]["name"] for d in docs) == ["p-web", "p-web"]
    assert {d["metadata"]["namespace"] for d in docs} == {"k"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--path", "../.."], "error: source path '../..' resolves outside the repository"),
        (["--path", "nope"], "error: source path 'nope' is not a directory"),
        (["--path", "helm/chart", "--values", "/etc/passwd"], "is absolute"),
    ],
)
def test_bad_input_exits_1(repo: Path, args: list[str], message: str) -> None:
    code, out, err = invoke("--repo", str(repo), *args)
    assert code == 1
    assert out == ""
    assert message in err


def test_unknown_revision_exits_1(git_repo: Path, tmp_path: Path) -> None:
    code, _, err = invoke(
        "--repo",
        str(git_repo),
        "--revision",
        "nope",
        "--path",
        "plain",
        "--cache-dir",
        str(tmp_path / "c"),
    )
    assert code == 1
    assert "revision 'nope' not found" in err


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["--helm-set", "no-equals-sign"],
        ["-o", "table"],
        ["--revision", "v1"],  # a plain directory has no revisions
    ],
)
def test_usage_errors_exit_2(repo: Path, args: list[str]) -> None:
    full = args if not args else ["--repo", str(repo), *args]
    code, _, _ = invoke(*full)
    assert code == 2


def test_file_url_reference_is_refused(git_repo: Path, tmp_path: Path) -> None:
    # the CLI may read local git directories itself, but a kustomization may not name one
    plain = tmp_path / "plain-app"
    (plain / "base").mkdir(parents=True)
    (plain / "base" / "kustomization.yaml").write_text(f"resources: ['file://{git_repo}//plain']\n")
    code, out, err = invoke("--repo", str(plain), "--path", "base")
    assert code == 1 and out == ""
    assert "base/kustomization.yaml: resources[0]" in err
    assert "file:// URLs are refused" in err


def test_deprecated_namespace_flag_still_works(repo: Path) -> None:
    # -n/--namespace is the control namespace in every other command; render keeps it as a
    # warned alias of --dest-namespace for existing scripts.
    outputs = []
    for args in (["-n", "team"], ["--dest-namespace", "team"]):
        code, out, err = invoke("--repo", str(repo), "--path", "plain", "-o", "json", *args)
        assert code == 0, err
        assert ("deprecated" in err) == (args[0] == "-n")
        outputs.append(out)
    assert outputs[0] == outputs[1]
    code, _, err = invoke("--repo", str(repo), "-n", "a", "--dest-namespace", "b")
    assert code == 2 and "disagree" in err
