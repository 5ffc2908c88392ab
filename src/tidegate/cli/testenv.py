"""``tidegate testenv``: the local test bed of real control planes and a git server."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from tidegate.cli import output

if TYPE_CHECKING:
    from rich.console import Console

    from tidegate.testenv import buildprogress

app = typer.Typer(
    name="testenv",
    help="Local Kubernetes control planes (etcd, kube-apiserver, controller-manager, scheduler, "
    "kwok nodes) and a git server, for tests and the demo. No Docker needed.",
    no_args_is_help=True,
)

DIR_OPTION: Any = typer.Option(None, "--dir", help="State directory (default: per-user state dir).")


@contextlib.contextmanager
def progress_view(
    console: Console, title: str
) -> Iterator[tuple[Callable[[str], None], Callable[[buildprogress.BuildStep], None]]]:
    """Callbacks for progress messages and build steps. On a terminal they update one Rich
    status line in place; elsewhere (a CI log) they print plain lines to stderr: every message,
    each component's start and end, and a line every ~20 s while a component builds."""
    from tidegate.testenv import buildprogress

    if console.is_terminal:
        with console.status(title) as spinner:
            yield spinner.update, lambda step: spinner.update(buildprogress.describe(step))
        return
    throttle = buildprogress.PlainThrottle()

    def say(message: str) -> None:
        typer.echo(message, err=True)

    def build(step: buildprogress.BuildStep) -> None:
        if throttle.due(step, time.monotonic()):
            typer.echo(buildprogress.describe(step, detail_width=100), err=True)

    yield say, build


def _dir(directory: Path | None) -> Path:
    from tidegate.testenv import testbed

    return (directory or testbed.default_dir()).resolve()


@app.command()
def up(
    clusters: str = typer.Option(
        "mgmt,dev,staging,prod", "--clusters", help="Comma-separated cluster names."
    ),
    directory: Path | None = DIR_OPTION,
    git: bool = typer.Option(True, "--git/--no-git", help="Also start the git server."),
    registry: bool = typer.Option(
        False,
        "--registry",
        help="Also start an OCI registry (CNCF Distribution, basic auth with the git server's "
        "credentials); its address is in `status -o json` and DIR/registry.json.",
    ),
    fresh: bool = typer.Option(
        False,
        "--fresh",
        help="Stop and delete the test bed in the directory first (all its clusters' objects, "
        "repositories and credentials), then start a new one.",
    ),
    fmt: output.Format = output.OUTPUT_OPTION,
) -> None:
    """Start one control plane per cluster name and print where they are.

    Idempotent: on a running test bed it adds the clusters it lacks; a process of it that died
    is restarted in place (same ports, data, certificates and credentials). If starting fails
    part-way, what this run started is stopped again."""
    from rich.console import Console

    from tidegate.model import errors
    from tidegate.testenv import testbed

    names = [n.strip() for n in clusters.split(",") if n.strip()]
    if not names:
        raise output.fail("--clusters needs at least one name", 2)
    console = Console(stderr=True)
    target = _dir(directory)
    try:
        with progress_view(console, "starting the test bed") as (say, build):
            testbed.up(
                target,
                names,
                git=git,
                registry=registry,
                fresh=fresh,
                progress=say,
                build_progress=build,
            )
    except errors.TidegateError as exc:
        raise output.fail(str(exc)) from exc
    _print_status(target, fmt)


def _print_status(target: Path, fmt: output.Format) -> None:
    from tidegate.testenv import testbed

    rows = testbed.status(target)
    git = testbed.git_info(target)
    registry = testbed.registry_info(target)
    if fmt in (output.Format.json, output.Format.yaml):
        output.dump(
            {
                "dir": str(target),
                "kubeconfig": str(target / "kubeconfig"),
                "clusters": [
                    {
                        "name": r.name,
                        "server": r.server,
                        "kubeconfig": str(r.kubeconfig),
                        "readyNodes": r.ready_nodes,
                        "running": r.running,
                    }
                    for r in rows
                ],
                "git": git,
                "registry": registry,
            },
            fmt,
        )
        return
    output.table(
        ["name", "server", "kubeconfig", "ready nodes", "running"],
        [
            (r.name, r.server, r.kubeconfig, r.ready_nodes, "yes" if r.running else "no")
            for r in rows
        ],
    )
    typer.echo(
        f"\nmerged kubeconfig: {target / 'kubeconfig'}  (contexts: "
        f"{', '.join(r.name for r in rows)})"
    )
    if git:
        typer.echo(
            f"git server: {git.get('http_base')} (HTTP, basic auth) and {git.get('ssh_base')} "
            f"(SSH)\n  username {git.get('username')}, password {git.get('password')}, SSH key "
            f"{git.get('ssh_private_key_path')}\n  (all in {target / 'git' / 'git.json'}; "
            "a throw-away local test server)"
        )
        typer.echo(f"Helm chart repository: {git.get('http_base')}/charts (same credentials)")
    if registry:
        typer.echo(
            f"OCI registry: oci://{registry.get('address')} (plain HTTP, same credentials; "
            f"{target / 'registry.json'})"
        )


@app.command()
def down(directory: Path | None = DIR_OPTION) -> None:
    """Stop every process of the test bed (API servers before etcd) and remove its state."""
    from tidegate.model import errors
    from tidegate.testenv import testbed

    target = _dir(directory)
    try:
        stopped = testbed.down(target)
    except errors.TidegateError as exc:
        raise output.fail(str(exc)) from exc
    typer.echo(
        f"test bed in {target} stopped and removed" if stopped else f"no test bed in {target}"
    )


@app.command()
def status(directory: Path | None = DIR_OPTION, fmt: output.Format = output.OUTPUT_OPTION) -> None:
    """Show the clusters of the test bed; exit 1 if none runs or one is down."""
    from tidegate.testenv import testbed

    target = _dir(directory)
    rows = testbed.status(target)
    if not rows:
        raise output.fail(f"no test bed in {target}")
    _print_status(target, fmt)
    if not all(r.running for r in rows):
        raise typer.Exit(1)


repo_app = typer.Typer(
    name="repo", help="Repositories on the test bed's git server.", no_args_is_help=True
)
app.add_typer(repo_app)


@repo_app.command("create")
def repo_create(
    name: str = typer.Argument(..., help="Repository name (becomes NAME.git)."),
    from_dir: Path | None = typer.Option(None, "--from", help="Commit this directory's files."),
    directory: Path | None = DIR_OPTION,
) -> None:
    """Create a repository on the git server and print its HTTP and SSH clone URLs."""
    from tidegate.model import errors
    from tidegate.testenv import testbed

    target = _dir(directory)
    if from_dir is not None and not from_dir.is_dir():
        raise output.fail(f"--from {from_dir}: not a directory", 2)
    try:
        # Absolute: the seeding git runs with the directory as its working directory.
        source = from_dir.resolve() if from_dir is not None else None
        repo = testbed.create_repo(target, name, from_dir=source)
    except errors.TidegateError as exc:
        raise output.fail(str(exc)) from exc
    output.table(["name", "http url", "ssh url"], [(name, repo.http_url, repo.ssh_url)])


@app.command()
def build(
    components: str = typer.Option(
        "kubernetes,etcd,kwok,helm,kubeseal,sealed-secrets-controller,registry,oidcop,gitea",
        "--components",
        help="Comma-separated components to make available.",
    ),
    check: bool = typer.Option(
        False,
        "--check",
        help="Build nothing: exit 0 if every binary is present or can be built (a Go toolchain "
        "new enough is there), else 1 with what to install.",
    ),
) -> None:
    """Find or build the test bed's binaries (once; they are cached by version)."""
    from rich.console import Console

    from tidegate.model import errors
    from tidegate.testenv import binaries

    wanted = [c.strip() for c in components.split(",") if c.strip()]
    unknown = [c for c in wanted if c not in binaries.COMPONENTS]
    if unknown:
        raise output.fail(
            f"unknown component(s) {', '.join(unknown)}; known: {', '.join(binaries.COMPONENTS)}", 2
        )
    names = [b for c in wanted for b in binaries.COMPONENTS[c].binaries]
    if check:
        _check_build(names)
        return
    console = Console(stderr=True)
    started = time.monotonic()
    try:
        with progress_view(console, "looking for binaries") as (_say, progress):
            to_build = binaries.missing(names)
            found = binaries.ensure(names, progress=progress)
    except errors.TidegateError as exc:
        raise output.fail(str(exc)) from exc
    if to_build:
        typer.echo(
            f"built {', '.join(c.name for c in to_build)} in {time.monotonic() - started:.0f}s",
            err=True,
        )
    output.table(["binary", "path"], sorted(found.items()))


def _check_build(names: list[str]) -> None:
    from tidegate.model import errors
    from tidegate.testenv import binaries

    try:
        to_build = binaries.missing(names)
        if not to_build:
            typer.echo("all present")
            return
        toolchain = binaries.go()
    except errors.TidegateError as exc:
        raise output.fail(str(exc)) from exc
    typer.echo(
        f"missing {', '.join(c.name for c in to_build)}; {toolchain} will build them "
        "(first run only: about 10 minutes on 2 cores, and up to 45 more for Gitea)"
    )


chart_app = typer.Typer(
    name="chart",
    help="Helm charts on the test bed's chart repository or registry.",
    no_args_is_help=True,
)
app.add_typer(chart_app)


@chart_app.command("push")
def chart_push(
    chart_dir: Path = typer.Argument(..., help="A chart directory (with Chart.yaml)."),
    oci: bool = typer.Option(
        False, "--oci", help="Push to the OCI registry instead of the chart repository."
    ),
    directory: Path | None = DIR_OPTION,
) -> None:
    """Package CHART_DIR and publish it; print the repository URL (``oci://...`` with --oci)."""
    from tidegate.model import errors
    from tidegate.testenv import binaries, registry, testbed

    target = _dir(directory)
    if not (chart_dir / "Chart.yaml").is_file():
        raise output.fail(f"{chart_dir}: not a chart directory (no Chart.yaml)", 2)
    try:
        if oci:
            url = registry.push_chart_oci(registry.RegistryInfo.load(target), chart_dir)
        else:
            git = testbed.git_info(target)
            if git is None:
                raise errors.TestEnvError(f"no git server runs in {target}")
            helm = binaries.ensure(["helm"])["helm"]
            registry.push_chart_repo(target / "git" / "charts", helm, chart_dir)
            url = f"{git['http_base']}/charts"
    except errors.TidegateError as exc:
        raise output.fail(str(exc)) from exc
    typer.echo(url)


image_app = typer.Typer(
    name="image", help="Images on the test bed's OCI registry.", no_args_is_help=True
)
app.add_typer(image_app)


@image_app.command("push")
def image_push(
    reference: str = typer.Argument(..., help="NAME:TAG, e.g. team/web:1.2.3"),
    directory: Path | None = DIR_OPTION,
) -> None:
    """Push a tiny valid OCI image under NAME:TAG; print its reference with the digest."""
    from tidegate.model import errors
    from tidegate.testenv import registry

    name, _, tag = reference.rpartition(":")
    if not name or not tag or "/" in tag:
        raise output.fail(f"{reference!r}: expected NAME:TAG", 2)
    try:
        info = registry.RegistryInfo.load(_dir(directory))
        digest = registry.push_image(info, name, tag)
    except errors.TidegateError as exc:
        raise output.fail(str(exc)) from exc
    typer.echo(f"{info.address}/{name}:{tag}@{digest}")


@image_app.command("build")
def image_build(
    context: Path = typer.Argument(
        Path("."), help="The repository's root (where the Containerfile is)."
    ),
    tag: str | None = typer.Option(None, "--tag", help="Image tag (default: Tidegate's version)."),
    push: bool = typer.Option(
        False, "--push", help="Also push it to the test bed's registry, as tidegate:TAG."
    ),
    directory: Path | None = DIR_OPTION,
) -> None:
    """Build Tidegate's image from the Containerfile with podman, daemonless, from a
    debootstrapped Debian base and the test bed's helm (no Docker Hub needed); print its
    reference (and the pushed one with its digest)."""
    from rich.console import Console

    from tidegate.model import errors
    from tidegate.testenv import image, registry

    console = Console(stderr=True)
    try:
        with progress_view(console, "building the image") as (say, _build):
            built = image.build(context.resolve(), tag=tag, say=say)
        typer.echo(f"built {built.reference} in {built.seconds:.0f}s", err=True)
        typer.echo(built.reference)
        if push:
            info = registry.RegistryInfo.load(_dir(directory))
            name = f"tidegate:{built.reference.rpartition(':')[2]}"
            digest = image.push(built.reference, info, name)
            typer.echo(f"{info.address}/{name}@{digest}")
    except errors.TidegateError as exc:
        raise output.fail(str(exc)) from exc
