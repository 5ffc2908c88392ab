"""Find or build the test bed's binaries (Kubernetes control plane, etcd, kwok, helm).

Lookup order for every binary: the directory named by ``TIDEGATE_BIN_DIR``, then ``PATH``, then
the per-user cache (``<cache>/bin/<component>-<version>/``). A missing binary is built once from
the Go module proxy with the machine's Go toolchain and kept in the cache, keyed by version.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import platformdirs

from tidegate.model import errors
from tidegate.testenv import buildprogress

KUBERNETES_VERSION = "v1.36.3"
ETCD_VERSION = "v3.6.16"
KWOK_VERSION = "v0.8.0"
HELM_VERSION = "v3.19.0"
KUSTOMIZE_VERSION = "v5.7.1"
REGISTRY_VERSION = "v3.1.2"  # CNCF Distribution, the OCI registry of `testenv up --registry`
KUBESEAL_VERSION = "v0.27.1"  # the Sealed Secrets CLI and controller, for the compatibility tests
OIDCOP_VERSION = "v3.52.0"  # zitadel/oidc's example OpenID provider, for the SSO tests
GITEA_VERSION = "v1.27.3"  # a forge with a pull request API, for promotion's PR steps

BIN_DIR_ENV = "TIDEGATE_BIN_DIR"


def _k8s_ldflags(version: str) -> str:
    major, minor = version.lstrip("v").split(".")[:2]
    flags = ["-s", "-w"]
    for pkg in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        flags += [
            f"-X {pkg}.gitVersion={version}",
            f"-X {pkg}.gitMajor={major}",
            f"-X {pkg}.gitMinor={minor}",
            f"-X {pkg}.gitTreeState=clean",
            f"-X {pkg}.buildDate=1970-01-01T00:00:00Z",
        ]
    return " ".join(flags)


@dataclass(frozen=True)
class Component:
    """One buildable unit: a module shipped with Tidegate (``gosrc``), ``go install``, or a
    whole ``module`` downloaded and built in its own tree (so that its replace directives hold),
    whose ``assets`` directories are kept next to the binary (read at run time)."""

    name: str
    version: str
    binaries: tuple[str, ...]
    gosrc: str | None = None
    install: str | None = None
    ldflags: str = "-s -w"
    env: dict[str, str] = field(default_factory=dict)
    # (what go install writes, the name kept): for commands named too generally ("controller")
    renames: tuple[tuple[str, str], ...] = ()
    module: str | None = None
    assets: tuple[str, ...] = ()

    @property
    def cache_dir(self) -> Path:
        return cache_root() / f"{self.name}-{self.version}"


COMPONENTS: dict[str, Component] = {
    "kubernetes": Component(
        "kubernetes",
        KUBERNETES_VERSION,
        ("kube-apiserver", "kube-controller-manager", "kube-scheduler"),
        gosrc="k8s",
        ldflags=_k8s_ldflags(KUBERNETES_VERSION),
    ),
    "etcd": Component("etcd", ETCD_VERSION, ("etcd",), gosrc="etcd"),
    "kwok": Component("kwok", KWOK_VERSION, ("kwok", "kwok-stages"), gosrc="kwok"),
    "helm": Component("helm", HELM_VERSION, ("helm",), install="helm.sh/helm/v3/cmd/helm"),
    "kustomize": Component(
        "kustomize",
        KUSTOMIZE_VERSION,
        ("kustomize",),
        install="sigs.k8s.io/kustomize/kustomize/v5",
    ),
    "registry": Component(
        "registry",
        REGISTRY_VERSION,
        ("registry",),
        install="github.com/distribution/distribution/v3/cmd/registry",
    ),
    "kubeseal": Component(
        "kubeseal",
        KUBESEAL_VERSION,
        ("kubeseal",),
        install="github.com/bitnami-labs/sealed-secrets/cmd/kubeseal",
    ),
    "sealed-secrets-controller": Component(
        "sealed-secrets-controller",
        KUBESEAL_VERSION,
        ("sealed-secrets-controller",),
        install="github.com/bitnami-labs/sealed-secrets/cmd/controller",
        renames=(("controller", "sealed-secrets-controller"),),
    ),
    "oidcop": Component("oidcop", OIDCOP_VERSION, ("oidcop",), gosrc="oidcop"),
    # Built without `bindata`: templates, options and public are read from the kept source
    # directories (Gitea's STATIC_ROOT_PATH). Its default SQLite driver is pure Go (modernc), so
    # no cgo and no build tags; the Makefile's default GOEXPERIMENT (jsonv2) is optional.
    "gitea": Component(
        "gitea",
        GITEA_VERSION,
        ("gitea",),
        module="code.gitea.io/gitea",
        ldflags=f"-s -w -X main.Version={GITEA_VERSION.lstrip('v')}",
        env={"GOEXPERIMENT": ""},
        assets=("templates", "options", "public"),
    ),
}

_BINARY_COMPONENT = {b: c for c in COMPONENTS.values() for b in c.binaries}


def cache_root() -> Path:
    return Path(platformdirs.user_cache_dir("tidegate")) / "bin"


def find(binary: str) -> Path | None:
    """Where ``binary`` is, without building: configured dir, PATH, then the cache."""
    configured = os.environ.get(BIN_DIR_ENV)
    if configured and (Path(configured) / binary).is_file():
        return Path(configured) / binary
    on_path = shutil.which(binary)
    if on_path:
        return Path(on_path)
    component = _BINARY_COMPONENT.get(binary)
    if component is not None and (component.cache_dir / binary).is_file():
        return component.cache_dir / binary
    return None


Progress = Callable[[buildprogress.BuildStep], None]
"""Called when a component's build starts, every half second while it runs, and when it ends."""


def missing(binaries: list[str] | tuple[str, ...]) -> list[Component]:
    """The components to build so that all ``binaries`` are found, in build order."""
    out: list[Component] = []
    for binary in binaries:
        if find(binary) is not None:
            continue
        component = _BINARY_COMPONENT.get(binary)
        if component is None:
            raise errors.TestEnvError(
                f"{binary} not found on PATH or in ${BIN_DIR_ENV}, and Tidegate cannot build it"
            )
        if component not in out:
            out.append(component)
    return out


def ensure(
    binaries: list[str] | tuple[str, ...], *, progress: Progress | None = None
) -> dict[str, Path]:
    """Paths of all ``binaries``, building the components that are missing. Checks that a Go
    toolchain new enough is there before it builds anything."""
    to_build = missing(binaries)
    if to_build:
        go()
    names = tuple(c.name for c in to_build)
    for index, component in enumerate(to_build):
        build(
            component,
            progress=progress,
            position=(index + 1, len(to_build)),
            left=names[index + 1 :],
        )
    found: dict[str, Path] = {}
    for binary in binaries:
        path = find(binary)
        if path is None:  # built, yet not found: a configured directory shadows the cache
            raise errors.TestEnvError(f"{binary} was built but cannot be found")
        found[binary] = path
    return found


GO_FALLBACK_DIRS: tuple[str, ...] = ("/usr/local/go/bin", "/usr/lib/go/bin")


def required_go() -> str:
    """The newest Go release any of the shipped modules asks for (their ``go`` directives)."""
    root = resources.files("tidegate.testenv") / "gosrc"
    versions = []
    for module in root.iterdir():
        mod = module / "go.mod"
        if mod.is_file():
            found = re.search(r"^go (\d+(?:\.\d+)*)\s*$", mod.read_text(), re.MULTILINE)
            if found:
                versions.append(found.group(1))
    return max(versions, key=_version_key, default="1.26")


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", version)[:3])


def go() -> str:
    """The Go toolchain to build with, checked to be new enough, or a clear error saying what
    to install (before any build starts, so nothing fails after minutes of work)."""
    search = os.pathsep.join([os.environ.get("PATH", ""), *GO_FALLBACK_DIRS])
    found = shutil.which("go", path=search)
    need = required_go()
    alternative = (
        f"or set {BIN_DIR_ENV} to a directory holding kube-apiserver, kube-controller-manager, "
        "kube-scheduler, etcd, kwok, kwok-stages and helm"
    )
    if found is None:
        raise errors.TestEnvError(
            "the test bed needs Kubernetes binaries and none were found, and there is no Go "
            f"toolchain to build them: install Go {need} or newer (the official tarball from "
            "https://go.dev/dl into /usr/local/go, or your distribution's golang-go if it is "
            f"that new) {alternative}"
        )
    try:
        reported = subprocess.run(
            [found, "env", "GOVERSION"], capture_output=True, text=True, timeout=60, check=True
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError) as exc:
        raise errors.TestEnvError(f"{found} does not run ({exc}); install Go {need}") from exc
    have = reported.removeprefix("go") or "of an unknown (old) version"
    if _version_key(have) < _version_key(need):
        raise errors.TestEnvError(
            f"{found} is Go {have}, and building the test bed's binaries needs Go {need} or "
            "newer: install it (the official tarball from https://go.dev/dl into /usr/local/go, "
            f"which is searched even when not on PATH) {alternative}"
        )
    return found


def build(
    component: Component,
    *,
    progress: Progress | None = None,
    position: tuple[int, int] = (1, 1),
    left: tuple[str, ...] = (),
) -> Path:
    """Build ``component`` into its cache directory (atomically) and return that directory.
    ``position`` (number, of how many) and ``left`` (the components after it) only shape the
    progress reported."""
    toolchain = go()
    root = cache_root()
    root.mkdir(parents=True, exist_ok=True)
    log_path = root / "logs" / f"{component.name}-{component.version}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "GOTOOLCHAIN": "local",
        "GOFLAGS": "-mod=mod -buildvcs=false",
        "GOEXPERIMENT": "nojsonv2",
        "CGO_ENABLED": "0",
        **component.env,
    }
    with tempfile.TemporaryDirectory(prefix=f".build-{component.name}-", dir=root) as tmp:
        out = Path(tmp) / "out"
        out.mkdir()
        if component.module is not None:
            env["GOFLAGS"] = "-buildvcs=false"  # the module's own go.mod and go.sum decide
            cwd = _module_source(component, toolchain, Path(tmp), env)
            cmd = _go_build(toolchain, component, str(out / component.binaries[0]), ["."])
        elif component.gosrc is not None:
            src = Path(tmp) / "src"
            shutil.copytree(
                Path(str(resources.files("tidegate.testenv") / "gosrc" / component.gosrc)), src
            )
            several = (src / "cmd").is_dir()
            target = str(out) + "/" if several else str(out / component.binaries[0])
            cmd = _go_build(toolchain, component, target, ["./cmd/..."] if several else ["."])
            cwd = src
        else:
            assert component.install is not None
            cmd = [
                toolchain,
                "install",
                "-trimpath",
                "-ldflags",
                component.ldflags,
                f"{component.install}@{component.version}",
            ]
            env["GOBIN"] = str(out)
            env["GOFLAGS"] = "-buildvcs=false"
            cwd = Path(tmp)
        report = _reporter(component, position, left, progress)
        _run_build(component, cmd, cwd=cwd, env=env, log_path=log_path, report=report)
        for asset in component.assets:
            shutil.copytree(cwd / asset, out / asset)
        for built, kept in component.renames:
            if (out / built).is_file():
                (out / built).rename(out / kept)
        absent = [b for b in component.binaries if not (out / b).is_file()]
        if absent:
            raise errors.TestEnvError(
                f"building {component.name} {component.version} produced no {', '.join(absent)}; "
                f"full log: {log_path}"
            )
        final = component.cache_dir
        if final.exists():
            shutil.rmtree(final)
        out.rename(final)
    report(buildprogress.Event.DONE, "")
    return final


def _go_build(toolchain: str, component: Component, output: str, targets: list[str]) -> list[str]:
    return [toolchain, "build", "-trimpath", "-ldflags", component.ldflags, "-o", output, *targets]


def _module_source(component: Component, toolchain: str, tmp: Path, env: dict[str, str]) -> Path:
    """A writable copy of ``component.module`` at its version, from the Go module proxy."""
    assert component.module is not None
    wanted = f"{component.module}@{component.version}"
    try:
        result = subprocess.run(
            [toolchain, "mod", "download", "-json", wanted],
            cwd=tmp,
            env=env,
            capture_output=True,
            text=True,
            timeout=1800,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise errors.TestEnvError(f"downloading {wanted} failed: {exc}") from exc
    try:
        info = json.loads(result.stdout or "{}")
    except ValueError:
        info = {}
    if result.returncode != 0 or not info.get("Dir"):
        said = info.get("Error") or result.stderr.strip()[-2000:] or f"exit {result.returncode}"
        raise errors.TestEnvError(f"downloading {wanted} from the Go module proxy failed: {said}")
    src = tmp / "src"
    # The module cache is read-only; the copy must be writable so that it can be removed.
    shutil.copytree(info["Dir"], src, copy_function=shutil.copyfile)
    for directory, _dirs, _files in os.walk(src):
        os.chmod(directory, 0o755)
    return src


Report = Callable[[buildprogress.Event, str], None]


def _reporter(
    component: Component,
    position: tuple[int, int],
    left: tuple[str, ...],
    progress: Progress | None,
) -> Report:
    started = time.monotonic()

    def report(event: buildprogress.Event, detail: str) -> None:
        if progress is not None:
            progress(
                buildprogress.BuildStep(
                    event=event,
                    index=position[0],
                    total=position[1],
                    component=component.name,
                    binaries=component.binaries,
                    left=left,
                    elapsed=time.monotonic() - started,
                    detail=detail,
                )
            )

    return report


def _run_build(
    component: Component,
    cmd: list[str],
    *,
    cwd: Path,
    env: dict[str, str],
    log_path: Path,
    report: Report,
) -> None:
    started = time.monotonic()
    report(buildprogress.Event.START, "")
    with log_path.open("w") as log:
        log.write(f"$ {' '.join(cmd)}\n")
        log.flush()
        proc = subprocess.Popen(
            [*cmd[:2], "-v", *cmd[2:]],
            cwd=cwd,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        while proc.poll() is None:
            report(buildprogress.Event.RUNNING, _last_line(log_path))
            time.sleep(0.5)
    if proc.returncode != 0:
        tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-20:])
        raise errors.TestEnvError(
            f"building {component.name} {component.version} failed (exit {proc.returncode}) after "
            f"{time.monotonic() - started:.0f}s; last lines:\n{tail}\nfull log: {log_path}"
        )


def _last_line(path: Path) -> str:
    try:
        with path.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - 512))
            lines = fh.read().decode(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return lines[-1] if lines else ""
