"""``tidegate health -f FILE``, run through the installed console script."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

TESTDATA = Path(__file__).parent / "testdata"
TIDEGATE = Path(sys.executable).parent / "tidegate"
FIXTURES = [
    "deployment-healthy",
    "pod-crashloop",
    "configmap-no-check",
    "service-loadbalancer-pending",
]


def _run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(TIDEGATE), "health", *args],
        capture_output=True,
        text=True,
        input=stdin,
        timeout=60,
        check=False,
    )


@pytest.fixture
def manifest(tmp_path: Path) -> Path:
    path = tmp_path / "objects.yaml"
    docs = [(TESTDATA / f"{name}.yaml").read_text() for name in FIXTURES]
    path.write_text("---\n".join(docs) + "---\n")  # a trailing empty document is ignored
    return path


def test_json_output(manifest: Path) -> None:
    proc = _run("-f", str(manifest), "-o", "json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == [
        {"kind": "Deployment", "name": "web", "status": "Healthy", "message": ""},
        {
            "kind": "Pod",
            "name": "web-5d4-abc",
            "status": "Degraded",
            "message": "back-off 5m0s restarting failed container",
        },
        {"kind": "ConfigMap", "name": "settings", "status": None, "message": ""},
        {"kind": "Service", "name": "web", "status": "Progressing", "message": ""},
    ]


def test_table_output(manifest: Path) -> None:
    proc = _run("-f", str(manifest))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].split() == ["KIND", "NAME", "STATUS", "MESSAGE"]
    assert lines[1].split()[:3] == ["Deployment", "web", "Healthy"]
    assert lines[2].split()[:3] == ["Pod", "web-5d4-abc", "Degraded"]
    assert lines[3].split() == ["ConfigMap", "settings", "-"]
    assert lines[4].split() == ["Service", "web", "Progressing"]
    assert len(lines) == 5


def test_stdin_and_list_kind() -> None:
    items = json.dumps(
        {
            "apiVersion": "v1",
            "kind": "List",
            "items": [
                {
                    "apiVersion": "v1",
                    "kind": "Namespace",
                    "metadata": {"name": "a"},
                    "status": {"phase": "Active"},
                },
                {
                    "apiVersion": "v1",
                    "kind": "PersistentVolumeClaim",
                    "metadata": {"name": "b"},
                    "status": {"phase": "Lost"},
                },
            ],
        }
    )
    proc = _run("-f", "-", "-o", "json", stdin=items)
    assert proc.returncode == 0, proc.stderr
    assert [(r["name"], r["status"]) for r in json.loads(proc.stdout)] == [
        ("a", None),  # Namespaces have no health, as in Argo CD
        ("b", "Degraded"),
    ]


@pytest.mark.parametrize(
    ("content", "error"),
    [
        ("kind: [unclosed\n", "is not valid YAML"),
        ("- just\n- a list\n", "document 1 is not a Kubernetes object"),
        ("apiVersion: v1\nkind: Pod\n---\n42\n", "document 2 is not a Kubernetes object"),
    ],
)
def test_invalid_files_exit_1(tmp_path: Path, content: str, error: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(content)
    proc = _run("-f", str(path))
    assert proc.returncode == 1
    assert error in proc.stderr
    assert proc.stdout == ""


def test_unreadable_file_exits_1(tmp_path: Path) -> None:
    proc = _run("-f", str(tmp_path / "absent.yaml"))
    assert proc.returncode == 1
    assert "cannot read" in proc.stderr and "absent.yaml" in proc.stderr


@pytest.mark.parametrize("args", [(), ("-f", "x.yaml", "-o", "xml"), ("--bogus",)])
def test_usage_errors_exit_2(args: tuple[str, ...]) -> None:
    assert _run(*args).returncode == 2


def test_alias_bomb_is_refused_quickly(tmp_path: Path) -> None:
    """A few hundred bytes of nested aliases would expand to millions of nodes."""
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    for prev, name in zip("abcdef", "bcdefg", strict=True):
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text("\n".join([*lines, "kind: Pod", ""]))
    assert len(bomb.read_bytes()) < 400
    result = _run("-f", str(bomb))
    assert result.returncode == 1
    assert "alias bomb" in result.stderr and str(bomb) in result.stderr


ARGOCD_CM = """apiVersion: v1
kind: ConfigMap
metadata:
  name: argocd-cm
data:
  resource.customizations.health.apps_Deployment: |
    if obj.spec.paused then return {status = "Suspended", message = "paused by Lua"} end
    return {status = "Degraded", message = "judged by Lua: " .. obj.metadata.name}
"""


def test_argocd_cm_customizations_override_builtins(manifest: Path, tmp_path: Path) -> None:
    cm = tmp_path / "argocd-cm.yaml"
    cm.write_text(ARGOCD_CM)
    result = _run("-f", str(manifest), "-o", "json", "--argocd-cm-path", str(cm))
    assert result.returncode == 0, result.stderr
    rows = {r["kind"]: r for r in json.loads(result.stdout)}
    assert rows["Deployment"]["status"] == "Degraded"
    assert rows["Deployment"]["message"].startswith("judged by Lua: ")
    assert rows["Pod"]["status"] == "Degraded"  # the built-in check still judges Pods


def test_argocd_cm_script_that_does_not_compile_exits_1(manifest: Path, tmp_path: Path) -> None:
    cm = tmp_path / "argocd-cm.yaml"
    cm.write_text(ARGOCD_CM.replace("return {status", "return {{status", 1))
    result = _run("-f", str(manifest), "--argocd-cm-path", str(cm))
    assert result.returncode == 1
    assert "argocd-cm Lua script resource.customizations.health.apps_Deployment: line 1" in (
        result.stderr
    )
