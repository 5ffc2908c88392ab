"""``helm dependency build`` for a fetched chart, with the registered repositories' credentials.

The build runs with a private Helm home (a 0700 temp dir removed after): a
``repositories.yaml`` listing every registered Helm repository with its credentials (and
certificate, key and CA files), and a registry config with the logins of OCI repositories and
OCI credential templates. Nothing goes in argv; the output is scrubbed of secret values.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import json
import os
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import yaml

from tidegate.model import errors
from tidegate.sources import credentials as creds_mod
from tidegate.sources import urls


@dataclasses.dataclass(frozen=True, repr=False)
class HelmRepo:
    """A registered Helm repository, for ``helm dependency build``."""

    url: str
    creds: creds_mod.RepoCredentials | None

    def __repr__(self) -> str:
        return f"HelmRepo({urls.display(self.url)!r})"


def needs_dependencies(chart_dir: Path) -> bool:
    """Whether ``Chart.yaml`` (or a v1 ``requirements.yaml``) names charts not in ``charts/``."""
    declared: list[Any] = []
    for name in ("Chart.yaml", "requirements.yaml"):
        path = chart_dir / name
        if path.is_file():
            with contextlib.suppress(yaml.YAMLError):
                raw = yaml.safe_load(path.read_text(encoding="utf-8", errors="replace"))
                if isinstance(raw, dict) and isinstance(raw.get("dependencies"), list):
                    declared += raw["dependencies"]
    vendored = {p.name for p in (chart_dir / "charts").glob("*")}
    for dep in declared:
        if not isinstance(dep, dict) or not dep.get("repository"):
            continue
        name = str(dep.get("name", ""))
        if name not in vendored and not any(v.startswith(f"{name}-") for v in vendored):
            return True
    return False


@contextlib.contextmanager
def _helm_home(registered: Sequence[HelmRepo]) -> Iterator[dict[str, str]]:
    """A private Helm home whose repositories.yaml and registry config hold ``registered``."""
    with tempfile.TemporaryDirectory(prefix="tidegate-helmhome-") as temp:
        home = Path(temp)
        os.chmod(home, 0o700)
        entries: list[dict[str, Any]] = []
        auths: dict[str, dict[str, str]] = {}
        for number, repo in enumerate(registered):
            c = repo.creds or creds_mod.RepoCredentials()
            if c.enable_oci or repo.url.startswith("oci://"):
                host = repo.url.removeprefix("oci://").split("/", 1)[0]
                if c.username:
                    token = base64.b64encode(f"{c.username}:{c.password}".encode()).decode()
                    auths[host] = {"auth": token}
                continue
            entry: dict[str, Any] = {"name": f"repo-{number}", "url": repo.url}
            if c.username:
                entry |= {"username": c.username, "password": c.password}
            if c.tls_client_cert and c.tls_client_key:
                (home / f"{number}.crt").write_text(c.tls_client_cert)
                (home / f"{number}.key").write_text(c.tls_client_key)
                entry |= {"certFile": str(home / f"{number}.crt")}
                entry |= {"keyFile": str(home / f"{number}.key")}
            if c.ca_data:
                (home / f"{number}-ca.crt").write_text(c.ca_data)
                entry["caFile"] = str(home / f"{number}-ca.crt")
            if c.insecure:
                entry["insecure_skip_tls_verify"] = True
            entries.append(entry)
        (home / "repositories.yaml").write_text(
            yaml.safe_dump({"apiVersion": "v1", "repositories": entries})
        )
        (home / "registry.json").write_text(json.dumps({"auths": auths}))
        env = {k: v for k, v in os.environ.items() if not k.startswith("HELM_")}
        env |= {
            "HELM_CACHE_HOME": str(home / "cache"),
            "HELM_CONFIG_HOME": str(home / "config"),
            "HELM_DATA_HOME": str(home / "data"),
            "HELM_REPOSITORY_CONFIG": str(home / "repositories.yaml"),
            "HELM_REPOSITORY_CACHE": str(home / "cache" / "repository"),
            "HELM_REGISTRY_CONFIG": str(home / "registry.json"),
        }
        yield env


async def build_dependencies(
    chart_dir: Path,
    *,
    helm: Sequence[str],
    registered: Sequence[HelmRepo],
    time_limit: float,
    what: str,
) -> None:
    secrets = [v for r in registered if r.creds for v in r.creds.secret_values()]
    # A registry registered with insecureOCIForceHttp: helm must use plain HTTP for OCI pulls.
    plain = ["--plain-http"] if any(r.creds and r.creds.oci_plain_http for r in registered) else []
    with _helm_home(registered) as env:
        proc = await asyncio.create_subprocess_exec(
            *helm,
            "dependency",
            "build",
            *plain,
            str(chart_dir),
            env=env,
            cwd=str(chart_dir),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            output, _ = await asyncio.wait_for(proc.communicate(), time_limit)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, 9)
            await proc.wait()
            raise errors.SourceError(
                f"{what}: helm dependency build took longer than {time_limit:.0f}s"
            ) from None
    if proc.returncode != 0:
        text = output.decode(errors="replace")[-4000:].replace(str(chart_dir), "<chart>")
        for value in secrets:
            text = text.replace(value, "<redacted>")
        raise errors.SourceError(
            f"{what}: helm dependency build failed (exit {proc.returncode}): {text.strip()}"
        )
