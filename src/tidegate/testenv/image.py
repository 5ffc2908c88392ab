"""Tidegate's container image, built on this machine: no daemon, no Docker Hub, no get.helm.sh.

``tidegate testenv image build`` builds the repository's ``Containerfile`` with ``podman build
--isolation chroot`` (buildah inside: RUN steps need no OCI runtime) into podman's local storage
as ``localhost/tidegate:<version>``. What the public build pulls or downloads comes from here:

- the base (``BASE_IMAGE``) is made by ``debootstrap --variant=minbase bookworm`` from the
  machine's Debian mirror, with the apt sources and dpkg excludes of ``debian:bookworm-slim``
  (which is the same minbase root filesystem); its tarball is cached in the user's cache
  directory and imported into podman's storage when missing;
- helm is the test bed's binary (:mod:`tidegate.testenv.binaries`), mounted for the build's
  helm stage and named by ``HELM_BINARY``;
- pip uses this machine's index settings and CA bundle: a ``pip.conf`` and the bundle, mounted
  for the RUN steps only and named by ``PIP_CONFIG_FILE``, so none of it lands in a layer.

Podman's layer cache makes a second build with unchanged inputs take seconds.
:func:`run_argv` is how tests start the image (``podman run`` with what this kind of sandbox
needs); :func:`push` copies it to the test bed's registry.
"""

from __future__ import annotations

import base64
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import platformdirs

import tidegate
from tidegate.model import errors
from tidegate.testenv import binaries, prereqs, procs, registry

SUITE = "bookworm"
BASE_REVISION = 1
"""Bump when :func:`make_base` changes, so cached bases made the old way are not reused."""
BASE_REFERENCE = f"localhost/tidegate-base:{SUITE}-minbase-r{BASE_REVISION}"
REPOSITORY = "localhost/tidegate"
HOME = "/home/tidegate"
DEFAULT_MIRROR = "http://deb.debian.org/debian"
MIRROR_ENV = "TIDEGATE_DEBIAN_MIRROR"
BUILD_TIMEOUT = 1800.0

# What debian:bookworm-slim (debuerreotype) leaves out of every package it installs.
SLIM_EXCLUDES = """\
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/info/*
path-exclude /usr/share/man/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
"""

PIP_KEYS = ("index-url", "extra-index-url", "trusted-host", "cert", "default-timeout", "retries")
"""pip settings carried into the build: where packages come from and how to trust it (local
``find-links`` directories are not, they do not exist inside the build)."""
MOUNT = "/mnt"
"""Where the build's RUN steps see this machine's helm, pip.conf and CA bundle (a directory
every Debian image has, so the mount leaves no empty mount point behind in a layer)."""

STEP_LINE = re.compile(r"(\[\d+/\d+\] )?STEP \d+/\d+: ")

Say = Callable[[str], None]


@dataclass(frozen=True)
class Built:
    reference: str
    image_id: str
    seconds: float


def cache_dir() -> Path:
    return Path(platformdirs.user_cache_dir("tidegate")) / "image"


def mirror_of(sources: str) -> str | None:
    """The main Debian archive named in an apt sources text (one-line or deb822), if any."""
    for match in re.finditer(r"^(?:URIs:|deb(?:\s+\[[^\]]*\])?)\s+(\S+)", sources, re.MULTILINE):
        uri = match.group(1).rstrip("/")
        if uri.endswith("/debian"):
            return uri
    return None


def debian_mirror() -> str:
    """``$TIDEGATE_DEBIAN_MIRROR``, else the mirror apt uses here, else deb.debian.org."""
    configured = os.environ.get(MIRROR_ENV)
    if configured:
        return configured.rstrip("/")
    for path in (Path("/etc/apt/sources.list.d/debian.sources"), Path("/etc/apt/sources.list")):
        found = mirror_of(path.read_text()) if path.is_file() else None
        if found:
            return found
    return DEFAULT_MIRROR


def slim_sources(mirror: str) -> str:
    """debian:bookworm-slim's ``debian.sources``, on ``mirror``."""
    entry = "Types: deb\nURIs: {}\nSuites: {}\nComponents: main\n"
    entry += "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"
    return (
        entry.format(mirror, f"{SUITE} {SUITE}-updates")
        + "\n"
        + entry.format(f"{mirror}-security", f"{SUITE}-security")
    )


def pip_conf(settings: Mapping[str, str], cert: str | None) -> str:
    """A ``pip.conf`` with ``settings`` (pip's option names) and ``cert`` as its CA bundle."""
    lines = ["[global]"]
    for key in PIP_KEYS:
        if key == "cert":
            if cert is not None:
                lines.append(f"cert = {cert}")
        elif settings.get(key):
            lines.append(f"{key} = {settings[key]}")
    return "\n".join(lines) + "\n"


def pip_settings() -> dict[str, str]:
    """This interpreter's effective pip settings (files and ``PIP_*`` variables), by option."""
    out = subprocess.run(
        [sys.executable, "-m", "pip", "config", "list"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    settings: dict[str, str] = {}
    for line in out.stdout.splitlines():
        key, sep, value = line.partition("=")
        if sep:  # "global.cert='/path'" or ":env:.cert='/path'"; a variable overrides a file
            option = key.rpartition(".")[2]
            if key.startswith(":env:") or option not in settings:
                settings[option] = value.strip().strip("'\"")
    return settings


def _run(cmd: Sequence[str], *, log: Path, timeout: float = BUILD_TIMEOUT) -> None:
    with log.open("ab") as out:
        try:
            done = subprocess.run(
                list(cmd), stdout=out, stderr=subprocess.STDOUT, timeout=timeout, check=False
            )
        except subprocess.TimeoutExpired as exc:
            raise errors.TestEnvError(f"{cmd[0]} {cmd[1]} timed out; see {log}") from exc
    if done.returncode != 0:
        raise errors.TestEnvError(
            f"{cmd[0]} {cmd[1]} failed (exit {done.returncode}):\n{procs.tail(log, 25)}"
        )


def make_base(tarball: Path, *, mirror: str, say: Say) -> None:
    """Debootstrap a minbase root filesystem shaped like debian:bookworm-slim into ``tarball``."""
    debootstrap = prereqs.require("debootstrap")
    tarball.parent.mkdir(parents=True, exist_ok=True)
    log = tarball.with_suffix(".log")
    log.write_text("")
    say(f"making the base image: debootstrap --variant=minbase {SUITE} from {mirror}")
    with tempfile.TemporaryDirectory(dir=tarball.parent) as tmp:
        root = Path(tmp) / "rootfs"
        _run([str(debootstrap), "--variant=minbase", SUITE, str(root), mirror], log=log)
        apt = root / "etc" / "apt"
        (apt / "sources.list").unlink(missing_ok=True)
        (apt / "sources.list.d" / "debian.sources").write_text(slim_sources(mirror))
        (root / "etc" / "dpkg" / "dpkg.cfg.d" / "docker").write_text(SLIM_EXCLUDES)
        for leftover in ("var/lib/apt/lists", "var/cache/apt"):
            shutil.rmtree(root / leftover)
            (root / leftover).mkdir()
        (root / "var/lib/apt/lists/partial").mkdir()
        for host_file in ("etc/resolv.conf", "etc/hostname"):  # the runtime provides these
            (root / host_file).unlink(missing_ok=True)
        scratch = tarball.with_suffix(".part")
        _run(["tar", "-C", str(root), "--numeric-owner", "-cf", str(scratch), "."], log=log)
        scratch.replace(tarball)


def ensure_base(podman: Path, *, say: Say) -> str:
    """The base image's reference, made (or imported from the cached tarball) when missing."""
    exists = subprocess.run(
        [str(podman), "image", "exists", BASE_REFERENCE], timeout=60, check=False
    )
    if exists.returncode == 0:
        return BASE_REFERENCE
    tarball = cache_dir() / f"debian-{SUITE}-minbase-r{BASE_REVISION}.tar"
    if not tarball.is_file():
        make_base(tarball, mirror=debian_mirror(), say=say)
    say(f"importing the base image {BASE_REFERENCE}")
    _run(
        [str(podman), "import", "--change", 'CMD ["bash"]', str(tarball), BASE_REFERENCE],
        log=tarball.with_suffix(".log"),
    )
    return BASE_REFERENCE


def build_argv(
    podman: Path,
    context: Path,
    *,
    reference: str,
    base: str,
    mount: Path,
    iidfile: Path,
) -> list[str]:
    """The ``podman build`` command line (``mount`` holds ``helm`` and maybe ``pip.conf``)."""
    pip = ["--build-arg", f"PIP_CONFIG_FILE={MOUNT}/pip.conf"]
    return [
        str(podman),
        "build",
        "--isolation",
        "chroot",
        "--network",
        "host",
        "--pull=never",
        "--layers",
        "--volume",
        f"{mount}:{MOUNT}:ro",
        *(pip if (mount / "pip.conf").is_file() else []),
        "--build-arg",
        f"BASE_IMAGE={base}",
        "--build-arg",
        f"HELM_BINARY={MOUNT}/helm",
        "--build-arg",
        f"HELM_VERSION={binaries.HELM_VERSION}",
        "--iidfile",
        str(iidfile),
        "-f",
        str(context / "Containerfile"),
        "-t",
        reference,
        str(context),
    ]


def build(context: Path, *, tag: str | None = None, say: Say = lambda _: None) -> Built:
    """Build ``context``'s Containerfile into ``localhost/tidegate:<tag>`` (default: the
    package's version); progress (each build step) goes to ``say``."""
    if not (context / "Containerfile").is_file():
        raise errors.TestEnvError(f"{context}: no Containerfile (give the repository's root)")
    podman = prereqs.require("podman")
    started = time.monotonic()
    base = ensure_base(podman, say=say)
    helm = binaries.ensure(["helm"])["helm"]
    reference = f"{REPOSITORY}:{tag or tidegate.__version__}"
    log = cache_dir() / "build.log"
    log.write_text("")
    with tempfile.TemporaryDirectory() as tmp:
        mount = Path(tmp) / "mount"
        mount.mkdir()
        shutil.copy2(helm, mount / "helm")
        settings = pip_settings()
        cert = settings.get("cert")
        if cert and Path(cert).is_file():
            shutil.copy2(cert, mount / "ca.pem")
        (mount / "pip.conf").write_text(
            pip_conf(settings, f"{MOUNT}/ca.pem" if (mount / "ca.pem").is_file() else None)
        )
        iidfile = Path(tmp) / "iid"
        argv = build_argv(
            podman, context, reference=reference, base=base, mount=mount, iidfile=iidfile
        )
        say(f"building {reference} (log: {log})")
        _stream(argv, log=log, say=say)
        image_id = iidfile.read_text().strip()
    return Built(reference, image_id, time.monotonic() - started)


def _stream(argv: list[str], *, log: Path, say: Say) -> None:
    """Run ``argv`` (killed after :data:`BUILD_TIMEOUT`), its output to ``log``; each build
    step's line also to ``say``."""
    with log.open("a") as out:
        proc = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace"
        )
        timer = threading.Timer(BUILD_TIMEOUT, proc.kill)
        timer.start()
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                out.write(line)
                if STEP_LINE.match(line):
                    say(line.rstrip())
            code = proc.wait()
        finally:
            timer.cancel()
    if code != 0:
        raise errors.TestEnvError(f"podman build failed (exit {code}):\n{procs.tail(log, 25)}")


def push(reference: str, info: registry.RegistryInfo, name: str) -> str:
    """Copy ``reference`` to ``<registry>/<name>`` on the test bed's registry; its digest."""
    podman = prereqs.require("podman")
    auth = base64.b64encode(f"{info.username}:{info.password}".encode()).decode()
    with tempfile.TemporaryDirectory() as tmp:
        authfile = Path(tmp) / "auth.json"
        authfile.touch(mode=0o600)
        authfile.write_text(json.dumps({"auths": {info.address: {"auth": auth}}}))
        digestfile = Path(tmp) / "digest"
        log = Path(tmp) / "push.log"
        _run(
            [
                str(podman),
                "push",
                f"--tls-verify={'false' if info.plain_http else 'true'}",
                "--authfile",
                str(authfile),
                "--digestfile",
                str(digestfile),
                reference,
                f"{info.address}/{name}",
            ],
            log=log,
            timeout=600,
        )
        return digestfile.read_text().strip()


def run_argv(
    reference: str,
    args: Sequence[str],
    *,
    volumes: Mapping[Path, str] | None = None,
    entrypoint: str | None = None,
    name: str | None = None,
    home: Path | None = None,
) -> list[str]:
    """``podman run`` of ``reference`` on the host's network, ``volumes`` (host path -> path
    inside) read-only. With ``home`` (a host directory anyone may write, as a pod's emptyDir),
    as the chart's pods run it: a read-only root filesystem, ``home`` as HOME and /tmp a tmpfs
    (podman's default). runc, not crun (crun refuses hosts with
    cgroup v1 and v2 mixed), and explicit limits (open files as this process has them): podman's
    defaults raise them, which a sandboxed host may refuse."""
    nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    argv = ["podman", "run", "--rm", "--network", "host"]
    if prereqs.find("runc") is not None:
        argv += ["--runtime", "runc"]
    argv += ["--ulimit", f"nofile={nofile}:{nofile}", "--ulimit", "nproc=4096:4096"]
    if home is not None:
        argv += ["--read-only", "--volume", f"{home}:{HOME}:rw"]
    for host, inside in (volumes or {}).items():
        argv += ["--volume", f"{host}:{inside}:ro"]
    if entrypoint is not None:
        argv += ["--entrypoint", entrypoint]
    if name is not None:
        argv += ["--name", name]
    return [*argv, reference, *args]
