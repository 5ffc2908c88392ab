"""Charts from the test bed's Helm repository and OCI registry, deployed by the real controller
with the real helm; and the bad inputs of such sources, each a clear condition on the app with
nothing applied and nothing pruned."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import http.server
import io
import secrets
import subprocess
import sys
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tidegate.model import constants
from tidegate.testenv import binaries, registry, scenario, testbed

pytestmark = pytest.mark.e2e

TEMPLATE = """apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-{{ .Chart.Name }}
data:
  greeting: {{ .Values.greeting | quote }}
  version: {{ .Chart.Version | quote }}
"""


def _chart(
    root: Path, name: str, version: str, *, deps: list[dict[str, Any]] | None = None
) -> Path:
    chart = root / f"{name}-{version}" / name
    (chart / "templates").mkdir(parents=True, exist_ok=True)
    meta: dict[str, Any] = {"apiVersion": "v2", "name": name, "version": version}
    if deps:
        meta["dependencies"] = deps
    (chart / "Chart.yaml").write_text(yaml.safe_dump(meta))
    (chart / "values.yaml").write_text("greeting: hello\n")
    (chart / "templates" / "cm.yaml").write_text(TEMPLATE)
    return chart


@pytest.fixture(scope="module")
def bed_registry(gitops: scenario.GitOps) -> registry.RegistryInfo:
    """The test bed's OCI registry (started if this bed runs none yet)."""
    testbed.up(gitops.bed.directory, [], registry=True)
    return registry.RegistryInfo.load(gitops.bed.directory)


@pytest.fixture(scope="module")
def chart_repo(gitops: scenario.GitOps, bed_registry: registry.RegistryInfo) -> str:
    """The chart repository URL, registered (type helm) with the OCI registry (a template)."""
    git = gitops.bed.git
    assert git is not None
    url = f"{git.info.http_base}/charts"
    secret = scenario.repo_secret(git, url, namespace=gitops.namespace, name="helm-repo")
    secret["stringData"] |= {"type": "helm", "name": "bed-charts"}
    oci_creds = scenario.repo_creds_secret(git, namespace=gitops.namespace)
    oci_creds["metadata"]["name"] = "bed-registry"
    oci_creds["stringData"] = {
        "type": "oci",
        "url": f"oci://{bed_registry.address}/",
        "username": bed_registry.username,
        "password": bed_registry.password,
        "insecureOCIForceHttp": "true",
    }
    scenario.apply_manifests(gitops.bed, "mgmt", [secret, oci_creds])
    return url


def _push(gitops: scenario.GitOps, chart: Path, *, oci: bool = False) -> None:
    if oci:
        registry.push_chart_oci(registry.RegistryInfo.load(gitops.bed.directory), chart)
    else:
        helm = binaries.ensure(["helm"])["helm"]
        registry.push_chart_repo(gitops.bed.directory / "git" / "charts", helm, chart)


def _app(name: str, source: dict[str, Any], gitops: scenario.GitOps, ns: str) -> dict[str, Any]:
    app = scenario.application(
        name, repo_url="x", path="x", server=gitops.bed.clusters["dev"].server, namespace=ns
    )
    app["spec"]["source"] = source
    return app


def _configmap(gitops: scenario.GitOps, ns: str, name: str) -> dict[str, Any] | None:
    out = scenario.kubectl(
        gitops.bed, "dev", "-n", ns, "get", "configmap", name, "-o", "yaml", check=False
    )
    if "NotFound" in out or "not found" in out:
        return None
    loaded: dict[str, Any] = yaml.safe_load(out)
    return loaded


def _condition(app: dict[str, Any]) -> str:
    for cond in (app.get("status") or {}).get("conditions") or []:
        if cond.get("type") in ("ComparisonError", "InvalidSpecError"):
            return str(cond.get("message"))
    return ""


def _hard_refresh(gitops: scenario.GitOps, name: str) -> None:
    gitops.patch_app(name, {"metadata": {"annotations": {constants.ANNOTATION_REFRESH: "hard"}}})


def test_repository_chart_pinned_then_range_picks_up_a_new_version(
    gitops: scenario.GitOps, chart_repo: str
) -> None:
    name = f"demo-{secrets.token_hex(3)}"
    _push(gitops, _chart(gitops.workdir, name, "1.0.0"))
    ns = f"chart-{gitops.namespace}"
    source = {
        "repoURL": chart_repo,
        "chart": name,
        "targetRevision": "1.0.0",
        "helm": {"valuesObject": {"greeting": "hi"}, "releaseName": "rel"},
    }
    gitops.create_app(_app("pinned", source, gitops, ns))
    gitops.wait_app(
        "pinned", lambda a: scenario.synced_healthy(a, "1.0.0"), timeout=90, what="1.0.0"
    )
    cm = _configmap(gitops, ns, f"rel-{name}")
    assert cm is not None and cm["data"] == {"greeting": "hi", "version": "1.0.0"}

    gitops.patch_app("pinned", {"spec": {"source": {"targetRevision": "^1.0"}}})
    _push(gitops, _chart(gitops.workdir, name, "1.1.0"))
    _push(gitops, _chart(gitops.workdir, name, "2.0.0"))  # outside the range
    _hard_refresh(gitops, "pinned")
    gitops.wait_app(
        "pinned", lambda a: scenario.synced_healthy(a, "1.1.0"), timeout=90, what="1.1.0"
    )
    cm = _configmap(gitops, ns, f"rel-{name}")
    assert cm is not None and cm["data"]["version"] == "1.1.0"


def test_oci_chart_and_oci_source(
    gitops: scenario.GitOps, chart_repo: str, bed_registry: registry.RegistryInfo
) -> None:
    name = f"ocidemo-{secrets.token_hex(3)}"
    _push(gitops, _chart(gitops.workdir, name, "0.3.0"), oci=True)
    _push(gitops, _chart(gitops.workdir, name, "0.3.1"), oci=True)
    ns = f"oci-{gitops.namespace}"
    source = {
        "repoURL": f"oci://{bed_registry.address}/charts",
        "chart": name,
        "targetRevision": "~0.3.0",
    }
    gitops.create_app(_app("oci-chart", source, gitops, ns))
    gitops.wait_app("oci-chart", lambda a: scenario.synced_healthy(a, "0.3.1"), timeout=90)
    assert _configmap(gitops, ns, f"oci-chart-{name}") is not None

    # The older spelling: no scheme, the repository Secret says enableOCI (here the oci
    # credential template of the registry covers it).
    ns_old = f"ocihelm-{gitops.namespace}"
    source = {"repoURL": f"{bed_registry.address}/charts", "chart": name, "targetRevision": "0.3.0"}
    gitops.create_app(_app("oci-helm", source, gitops, ns_old))
    gitops.wait_app("oci-helm", lambda a: scenario.synced_healthy(a, "0.3.0"), timeout=90)

    # Argo CD's OCI source: the artifact itself, path "." inside the chart it holds.
    ns2 = f"ocisrc-{gitops.namespace}"
    source = {
        "repoURL": f"oci://{bed_registry.address}/charts/{name}",
        "path": ".",
        "targetRevision": "0.3.0",
    }
    gitops.create_app(_app("oci-source", source, gitops, ns2))
    gitops.wait_app("oci-source", lambda a: scenario.synced_healthy(a, "0.3.0"), timeout=90)
    cm = _configmap(gitops, ns2, f"oci-source-{name}")
    assert cm is not None and cm["data"]["version"] == "0.3.0"


def test_chart_with_a_dependency(gitops: scenario.GitOps, chart_repo: str) -> None:
    sub = f"sub-{secrets.token_hex(3)}"
    parent = f"parent-{secrets.token_hex(3)}"
    _push(gitops, _chart(gitops.workdir, sub, "1.4.0"))
    deps = [{"name": sub, "version": "^1.0.0", "repository": chart_repo}]
    _push(gitops, _chart(gitops.workdir, parent, "0.1.0", deps=deps))
    ns = f"deps-{gitops.namespace}"
    source = {"repoURL": chart_repo, "chart": parent, "targetRevision": "0.1.0"}
    gitops.create_app(_app("with-deps", source, gitops, ns))
    gitops.wait_app("with-deps", lambda a: scenario.synced_healthy(a, "0.1.0"), timeout=120)
    assert _configmap(gitops, ns, f"with-deps-{parent}") is not None
    sub_cm = _configmap(gitops, ns, f"with-deps-{sub}")
    assert sub_cm is not None and sub_cm["data"]["version"] == "1.4.0"


def test_oci_chart_with_an_oci_dependency(
    gitops: scenario.GitOps, chart_repo: str, bed_registry: registry.RegistryInfo
) -> None:
    sub = f"osub-{secrets.token_hex(3)}"
    parent = f"oparent-{secrets.token_hex(3)}"
    oci_repo = f"oci://{bed_registry.address}/charts"
    _push(gitops, _chart(gitops.workdir, sub, "2.0.1"), oci=True)
    deps = [{"name": sub, "version": "2.0.1", "repository": oci_repo}]
    _push(gitops, _chart(gitops.workdir, parent, "0.2.0", deps=deps), oci=True)
    ns = f"odeps-{gitops.namespace}"
    source = {"repoURL": oci_repo, "chart": parent, "targetRevision": "0.2.0"}
    gitops.create_app(_app("oci-deps", source, gitops, ns))
    gitops.wait_app("oci-deps", lambda a: scenario.synced_healthy(a, "0.2.0"), timeout=120)
    sub_cm = _configmap(gitops, ns, f"oci-deps-{sub}")
    assert sub_cm is not None and sub_cm["data"]["version"] == "2.0.1"


def test_repository_chart_with_value_files_from_a_git_source(
    gitops: scenario.GitOps, chart_repo: str
) -> None:
    name = f"vals-{secrets.token_hex(3)}"
    _push(gitops, _chart(gitops.workdir, name, "1.0.0"))
    values_repo, _ = gitops.repo({"env/prod.yaml": "greeting: from-git\n"})
    ns = f"vals-{gitops.namespace}"
    app = _app("multi", {}, gitops, ns)
    del app["spec"]["source"]
    app["spec"]["sources"] = [
        {
            "repoURL": chart_repo,
            "chart": name,
            "targetRevision": "1.*",
            "helm": {
                "valueFiles": ["$values/env/prod.yaml", "$values/env/missing.yaml"],
                "ignoreMissingValueFiles": True,
            },
        },
        {"repoURL": values_repo.http_url, "targetRevision": "main", "ref": "values"},
    ]
    gitops.create_app(app)
    gitops.wait_app("multi", scenario.synced_healthy, timeout=90, what="multi-source sync")
    cm = _configmap(gitops, ns, f"multi-{name}")
    assert cm is not None and cm["data"]["greeting"] == "from-git"


def _tidegate(gitops: scenario.GitOps, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "tidegate", *args,
         f"--kubeconfig={gitops.bed.clusters['mgmt'].kubeconfig}",
         f"--namespace={gitops.namespace}"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_cli_helm_flags_and_hard_refresh(gitops: scenario.GitOps, chart_repo: str) -> None:
    """argocd's flags on `app create`/`app set`; after `app get --hard-refresh` the range
    picks up a version published a moment ago. (The hard refresh re-downloading the index
    whatever its age is covered in tests/sources/test_charts_http.py.)"""
    name = f"cli-{secrets.token_hex(3)}"
    _push(gitops, _chart(gitops.workdir, name, "1.0.0"))
    ns = f"cli-{gitops.namespace}"
    values = gitops.workdir / f"{name}-values.yaml"
    values.write_text("greeting: literal\n")
    _tidegate(
        gitops, "app", "create", "from-cli", "--repo", chart_repo, "--helm-chart", name,
        "--revision", "1.0.0", "--dest-server", gitops.bed.clusters["dev"].server,
        "--dest-namespace", ns, "--sync-policy", "automated",
        "--sync-option", "CreateNamespace=true", "--values-literal-file", str(values),
        "--release-name", "r", "--helm-skip-crds",
    )  # fmt: skip
    app = gitops.wait_app("from-cli", lambda a: scenario.synced_healthy(a, "1.0.0"), timeout=90)
    assert app["spec"]["source"]["chart"] == name and "path" not in app["spec"]["source"]
    cm = _configmap(gitops, ns, f"r-{name}")
    assert cm is not None and cm["data"]["greeting"] == "literal"
    _tidegate(gitops, "app", "set", "from-cli", "--revision", "~1.0", "--helm-set", "greeting=set")
    app = gitops.get_app("from-cli")
    assert app["spec"]["source"]["helm"]["parameters"] == [{"name": "greeting", "value": "set"}]
    _push(gitops, _chart(gitops.workdir, name, "1.0.5"))
    _tidegate(gitops, "app", "get", "from-cli", "--hard-refresh")
    gitops.wait_app("from-cli", lambda a: scenario.synced_healthy(a, "1.0.5"), timeout=90)
    cm = _configmap(gitops, ns, f"r-{name}")
    assert cm is not None and cm["data"] == {"greeting": "set", "version": "1.0.5"}


# -- bad input ----------------------------------------------------------------------------


def _tgz(members: list[tuple[tarfile.TarInfo, bytes | None]]) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as tar:
        for info, data in members:
            if data is not None:
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return raw.getvalue()


def _member(name: str, *, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    if link:
        info.type = tarfile.SYMTYPE
        info.linkname = link
    return info


@contextlib.contextmanager
def _static_server(files: dict[str, bytes], root: Path) -> Iterator[str]:
    """A plain HTTP server on loopback serving ``files`` (a hostile chart repository)."""
    root.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (root / name).write_bytes(data)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _index(entries: dict[str, tuple[str, bytes]]) -> bytes:
    out: dict[str, Any] = {"apiVersion": "v1", "entries": {}}
    for name, (file, data) in entries.items():
        out["entries"][name] = [
            {
                "name": name,
                "version": "1.0.0",
                "urls": [file],
                "digest": hashlib.sha256(data).hexdigest(),
            }
        ]
    return yaml.safe_dump(out).encode()


def test_bad_chart_sources_are_conditions_and_nothing_is_applied_or_pruned(
    gitops: scenario.GitOps, chart_repo: str, bed_registry: registry.RegistryInfo
) -> None:
    chart_yaml = b"apiVersion: v2\nname: evil\nversion: 1.0.0\n"
    escape = _tgz([(_member("evil/Chart.yaml"), chart_yaml), (_member("evil/../../x.yaml"), b"x")])
    link = _tgz(
        [
            (_member("link/Chart.yaml"), chart_yaml),
            (_member("link/templates/a.yaml", link="/etc/passwd"), None),
        ]
    )
    files = {
        "index.yaml": _index(
            {"evil": ("evil-1.0.0.tgz", escape), "link": ("link-1.0.0.tgz", link)}
        ),
        "evil-1.0.0.tgz": escape,
        "link-1.0.0.tgz": link,
    }
    big = gitops.workdir / "big"
    big.mkdir()
    entry = "  - {name: big, version: 0.0.%d, urls: [big.tgz]}\n"
    with (big / "index.yaml").open("w") as fh:
        fh.write("apiVersion: v1\nentries:\n  big:\n")
        number = 0
        while fh.tell() < 50 * 1024 * 1024:
            fh.write(entry % number)
            number += 1

    # An app that synced, then points at a version that does not exist: nothing is pruned.
    name = f"kept-{secrets.token_hex(3)}"
    _push(gitops, _chart(gitops.workdir, name, "1.0.0"))
    ns_kept = f"kept-{gitops.namespace}"
    kept = {"repoURL": chart_repo, "chart": name, "targetRevision": "1.0.0"}
    gitops.create_app(_app("kept", kept, gitops, ns_kept))
    gitops.wait_app("kept", lambda a: scenario.synced_healthy(a, "1.0.0"), timeout=90)
    gitops.patch_app("kept", {"spec": {"source": {"targetRevision": "9.9.9"}}})
    app = gitops.wait_app("kept", lambda a: "9.9.9" in _condition(a), timeout=60)
    assert "has no version matching '9.9.9' (newest: 1.0.0)" in _condition(app)
    assert _configmap(gitops, ns_kept, f"kept-{name}") is not None

    image = f"team-{secrets.token_hex(3)}"
    registry.push_image(bed_registry, f"{image}/web", "1.0.0")
    with (
        _static_server(files, gitops.workdir / "hostile") as hostile,
        _static_server({}, big) as huge,
    ):
        cases = {
            "escape": ({"repoURL": hostile, "chart": "evil"}, "escapes the archive's root"),
            "symlink": ({"repoURL": hostile, "chart": "link"}, "is a symbolic link"),
            "huge-index": ({"repoURL": huge, "chart": "big"}, "larger than the limit"),
            "not-a-chart": (
                {"repoURL": f"oci://{bed_registry.address}/{image}", "chart": "web"},
                "not a Helm chart",
            ),
        }
        for app_name, (source, _) in cases.items():
            source["targetRevision"] = "1.0.0"
            gitops.create_app(_app(app_name, source, gitops, f"{app_name}-{gitops.namespace}"))
        for app_name, (_, expected) in cases.items():
            app = gitops.wait_app(
                app_name, lambda a, e=expected: e in _condition(a), timeout=90, what=expected
            )
            status = app.get("status") or {}
            assert not status.get("resources"), status.get("resources")
            assert (status.get("sync") or {}).get("status") != "Synced"
            assert bed_registry.password not in _condition(app)
