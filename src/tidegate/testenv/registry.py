"""The test bed's OCI registry (CNCF Distribution) and its Helm chart repository.

``tidegate testenv up --registry`` runs Distribution's ``registry serve`` on 127.0.0.1 with
htpasswd basic auth (bcrypt), plain HTTP (a loopback test server: clients register it with
``insecureOCIForceHttp``), storage under ``DIR/registry/data``. ``DIR/registry.json`` (owner
only) says where it is and the credentials, which are the git server's.

Publishing, for tests and demos:

- :func:`push_chart_oci` packages a chart directory (as ``helm package`` does) and pushes it
  as a Helm OCI artifact (config ``application/vnd.cncf.helm.config.v1+json``, one chart layer);
- :func:`push_chart_repo` packages it into the git server's ``charts/`` directory and rewrites
  ``index.yaml`` (``helm repo index``), served at ``<git http base>/charts``;
- :func:`push_image` pushes a tiny valid OCI image (a config and one layer holding one file)
  under any tag.

Pushing uses the distribution API (monolithic blob upload, manifest PUT) with httpx.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import io
import json
import secrets
import subprocess
import tarfile
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

from tidegate.model import errors
from tidegate.testenv import procs

INFO_FILE = "registry.json"
HELM_CONFIG = "application/vnd.cncf.helm.config.v1+json"
HELM_LAYER = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
IMAGE_CONFIG = "application/vnd.oci.image.config.v1+json"
IMAGE_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"


@dataclass(frozen=True)
class RegistryInfo:
    """Where the registry listens (``host:port``) and how to log in."""

    address: str
    username: str
    password: str
    pid: int
    plain_http: bool = True

    @property
    def oci_base(self) -> str:
        return f"oci://{self.address}"

    @classmethod
    def load(cls, directory: Path) -> RegistryInfo:
        try:
            raw = json.loads((directory / INFO_FILE).read_text())
        except OSError as exc:
            raise errors.TestEnvError(
                f"no registry runs in {directory} (start it with `tidegate testenv up --registry`)"
            ) from exc
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in raw.items() if k in names})

    def save(self, directory: Path) -> None:
        path = directory / INFO_FILE
        scratch = path.with_suffix(".tmp")
        scratch.touch(mode=0o600, exist_ok=True)
        scratch.write_text(json.dumps(asdict(self), indent=2) + "\n")
        scratch.replace(path)


def _htpasswd_line(username: str, password: str) -> str:
    import bcrypt

    return f"{username}:{bcrypt.hashpw(password.encode(), bcrypt.gensalt()).decode()}\n"


def write_config(directory: Path, *, port: int, username: str, password: str) -> Path:
    """The registry's config and htpasswd files under ``directory/registry``."""
    home = directory / "registry"
    (home / "data").mkdir(parents=True, exist_ok=True)
    htpasswd = home / "htpasswd"
    htpasswd.touch(mode=0o600, exist_ok=True)
    htpasswd.write_text(_htpasswd_line(username, password))
    config = {
        "version": 0.1,
        "log": {"level": "warn", "accesslog": {"disabled": True}},
        "storage": {
            "filesystem": {"rootdirectory": str(home / "data")},
            "delete": {"enabled": True},
        },
        "http": {"addr": f"127.0.0.1:{port}", "secret": secrets.token_hex(16)},
        "auth": {"htpasswd": {"realm": "tidegate-registry", "path": str(htpasswd)}},
    }
    path = home / "config.yml"
    path.touch(mode=0o600, exist_ok=True)
    path.write_text(yaml.safe_dump(config))
    return path


def wait_serving(address: str, pid: int, *, log: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not procs.alive(pid):
            break
        try:
            if httpx.get(f"http://{address}/v2/", timeout=2).status_code in (200, 401):
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise errors.TestEnvError(
        f"the registry did not start on {address}; last log lines:\n{procs.tail(log)}\n"
        f"full log: {log}"
    )


# -- pushing -------------------------------------------------------------------------------


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class _Pusher:
    def __init__(self, info: RegistryInfo, repository: str) -> None:
        scheme = "http" if info.plain_http else "https"
        self.base = f"{scheme}://{info.address}/v2/{repository}"
        self.client = httpx.Client(auth=(info.username, info.password), timeout=60)

    def blob(self, data: bytes) -> dict[str, Any]:
        digest = _digest(data)
        if self.client.head(f"{self.base}/blobs/{digest}").status_code != 200:
            start = self.client.post(f"{self.base}/blobs/uploads/")
            _ok(start, "start a blob upload")
            location = httpx.URL(self.base).join(start.headers["Location"])
            put = self.client.put(
                location.copy_merge_params({"digest": digest}),
                content=data,
                headers={"Content-Type": "application/octet-stream"},
            )
            _ok(put, f"upload blob {digest}")
        return {"digest": digest, "size": len(data)}

    def manifest(self, tag: str, manifest: dict[str, Any]) -> str:
        body = json.dumps(manifest).encode()
        response = self.client.put(
            f"{self.base}/manifests/{tag}", content=body, headers={"Content-Type": OCI_MANIFEST}
        )
        _ok(response, f"push manifest {tag}")
        return _digest(body)


def _ok(response: httpx.Response, what: str) -> None:
    if response.status_code >= 300:
        raise errors.TestEnvError(
            f"registry: cannot {what}: HTTP {response.status_code} {response.text[:300]}"
        )


def push_artifact(
    info: RegistryInfo,
    repository: str,
    tag: str,
    *,
    config: bytes,
    config_type: str,
    layer: bytes,
    layer_type: str,
) -> str:
    """Push a one-layer artifact; returns the manifest digest."""
    pusher = _Pusher(info, repository)
    with pusher.client:
        config_desc = {"mediaType": config_type, **pusher.blob(config)}
        layer_desc = {"mediaType": layer_type, **pusher.blob(layer)}
        return pusher.manifest(
            tag,
            {
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "config": config_desc,
                "layers": [layer_desc],
            },
        )


def package_chart(chart_dir: Path, dest: Path) -> Path:
    """``CHART_DIR`` as ``DEST/<name>-<version>.tgz`` with the chart under ``<name>/`` (what
    ``helm package`` makes, without its check that dependencies are vendored: a chart whose
    dependencies the consumer builds is a case the test bed must be able to publish)."""
    meta = chart_meta(chart_dir)
    dest.mkdir(parents=True, exist_ok=True)
    out = dest / f"{meta['name']}-{meta['version']}.tgz"
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as tar:
        for path in sorted(chart_dir.rglob("*")):
            if path.is_file() and not path.is_symlink():
                info = tar.gettarinfo(str(path), f"{meta['name']}/{path.relative_to(chart_dir)}")
                info.uid = info.gid = 0
                info.uname = info.gname = ""
                with path.open("rb") as fh:
                    tar.addfile(info, fh)
    out.write_bytes(raw.getvalue())
    return out


def _helm_env(scratch: Path) -> dict[str, str]:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("HELM_")}
    home = scratch.parent / ".helm-home"
    for name in ("CACHE", "CONFIG", "DATA"):
        env[f"HELM_{name}_HOME"] = str(home / name.lower())
    return env


def chart_meta(chart_dir: Path) -> dict[str, Any]:
    raw = yaml.safe_load((chart_dir / "Chart.yaml").read_text())
    if not isinstance(raw, dict) or not raw.get("name") or not raw.get("version"):
        raise errors.TestEnvError(f"{chart_dir}/Chart.yaml needs a name and a version")
    return raw


def push_chart_oci(info: RegistryInfo, chart_dir: Path, *, prefix: str = "charts") -> str:
    """Package and push ``chart_dir``; returns ``oci://ADDRESS/PREFIX`` (the repository URL
    that, with ``chart: NAME``, names it; the chart itself is at ``.../PREFIX/NAME``)."""
    meta = chart_meta(chart_dir)
    with tempfile.TemporaryDirectory(prefix="tidegate-chart-push-") as temp:
        tgz = package_chart(chart_dir, Path(temp) / "out")
        config = json.dumps(
            {k: meta[k] for k in ("apiVersion", "name", "version", "description") if k in meta}
        ).encode()
        push_artifact(
            info,
            f"{prefix}/{meta['name']}",
            str(meta["version"]),
            config=config,
            config_type=HELM_CONFIG,
            layer=tgz.read_bytes(),
            layer_type=HELM_LAYER,
        )
    return f"{info.oci_base}/{prefix}"


def push_chart_repo(charts_dir: Path, helm: Path, chart_dir: Path) -> None:
    """Package ``chart_dir`` into the chart repository directory and re-index it."""
    package_chart(chart_dir, charts_dir)
    done = subprocess.run(
        [str(helm), "repo", "index", str(charts_dir)],
        capture_output=True,
        text=True,
        timeout=120,
        env=_helm_env(charts_dir),
    )
    if done.returncode != 0:
        raise errors.TestEnvError(f"helm repo index failed: {done.stderr.strip()}")


def _tiny_layer(name: str, tag: str) -> bytes:
    """A gzip'd tar holding one small file (deterministic for a given name and tag)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        content = f"{name}:{tag}\n".encode()
        member = tarfile.TarInfo("etc/tidegate-image")
        member.size = len(content)
        member.mtime = 0
        tar.addfile(member, io.BytesIO(content))
    return gzip.compress(raw.getvalue(), mtime=0)


def push_image(info: RegistryInfo, name: str, tag: str) -> str:
    """Push a tiny valid OCI image ``name:tag``; returns its manifest digest."""
    layer = _tiny_layer(name, tag)
    diff_id = "sha256:" + hashlib.sha256(gzip.decompress(layer)).hexdigest()
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": {"Cmd": ["/bin/true"]},
            "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        }
    ).encode()
    return push_artifact(
        info,
        name,
        tag,
        config=config,
        config_type=IMAGE_CONFIG,
        layer=layer,
        layer_type=IMAGE_LAYER,
    )
