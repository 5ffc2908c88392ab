"""``tidegate version``: the client's version and, when a login context is current (``tidegate
login``), the server's (its ``/api/version``), in argocd's shapes: text, ``-o short``
(``tidegate: vX`` / ``tidegate-server: vX``), ``-o json|yaml`` (``{client, server}``).
``--client`` skips the server. A current context whose server cannot be asked: the client
part is printed, the error goes to stderr, exit 1."""

from __future__ import annotations

import enum
import platform
import sys
from typing import Annotated, Any

import typer


def _opt(*names: str, help: str, metavar: str | None = None) -> Any:
    return typer.Option(*names, help=help, metavar=metavar)


# kubectl's flags, as argocd's version takes them (used with --core).
KubeconfigFlag = Annotated[str | None, _opt("--kubeconfig", help="Path to a kubeconfig file.")]
ContextFlag = Annotated[str | None, _opt("--context", help="The kubeconfig context to use.")]
ClusterFlag = Annotated[str | None, _opt("--cluster", help="The kubeconfig cluster to use.")]
UserFlag = Annotated[str | None, _opt("--user", help="The kubeconfig user to use.")]
NamespaceFlag = Annotated[
    str | None, _opt("--namespace", "-n", help="Namespace (accepted; a version has none).")
]
TokenFlag = Annotated[str | None, _opt("--token", help="Bearer token for the API server.")]
UsernameFlag = Annotated[str | None, _opt("--username", help="Basic-auth user name.")]
PasswordFlag = Annotated[str | None, _opt("--password", help="Basic-auth password.")]
InsecureFlag = Annotated[
    bool,
    typer.Option("--insecure-skip-tls-verify", help="Do not verify the API server's certificate."),
]
TimeoutFlag = Annotated[
    str,
    _opt(
        "--request-timeout",
        help="How long to wait for the API server (0: no limit; 30s, 1m, or seconds).",
    ),
]


class Format(enum.StrEnum):
    text = "text"
    short = "short"
    json = "json"
    yaml = "yaml"


def client_version() -> dict[str, str]:
    import tidegate

    return {
        "Version": f"v{tidegate.__version__}+tidegate",
        "BuildDate": "",
        "GitCommit": "",
        "GitTag": "",
        "GitTreeState": "",
        "GoVersion": "",
        "Compiler": f"cpython {platform.python_version()}",
        "Platform": f"{sys.platform}/{platform.machine()}",
    }


def _server_version(config_path: str | None) -> tuple[str, dict[str, Any]] | None:
    """(context name, the server's version) for the current login context; None without one."""
    from pathlib import Path

    import httpx

    from tidegate.cli import apiconfig

    path = Path(config_path).expanduser() if config_path else apiconfig.default_path()
    conf = apiconfig.load(path)
    name = str(conf.get("current-context") or "")
    ctx = apiconfig.context(conf, name) if name else None
    if ctx is None:
        return None
    server = str(ctx.get("server") or "")
    entry: dict[str, Any] = next((s for s in conf["servers"] if s.get("server") == server), {})
    scheme = "http" if entry.get("plain-text") else "https"
    try:
        with httpx.Client(verify=not entry.get("insecure"), timeout=15.0) as client:
            resp = client.get(f"{scheme}://{server}/api/version")
            resp.raise_for_status()
            found: dict[str, Any] = resp.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise RuntimeError(f"server {server} (context {name!r}): {exc}") from None
    return name, found


def _core_version(opts: dict[str, Any]) -> dict[str, Any]:
    """The version of the Kubernetes API server the kubeconfig flags name (``--core``), in
    argocd's version keys, plus ``Server``: its URL."""
    from tidegate.cli import kubeconfig_flags, kubeopts

    config = kubeconfig_flags.cluster_config(**opts)

    async def ask() -> dict[str, Any]:
        from tidegate.kube import client as kube_client

        async with kube_client.client_for(config) as client:
            body: dict[str, Any] = (
                await client.request("GET", "/version", what=f"get {config.server}/version")
            ).body
            return body

    found = kubeopts.run(ask())
    return {
        "Version": str(found.get("gitVersion") or ""),
        "BuildDate": str(found.get("buildDate") or ""),
        "GitCommit": str(found.get("gitCommit") or ""),
        "GitTreeState": str(found.get("gitTreeState") or ""),
        "GoVersion": str(found.get("goVersion") or ""),
        "Compiler": str(found.get("compiler") or ""),
        "Platform": str(found.get("platform") or ""),
        "Server": config.server,
    }


def _text(label: str, info: dict[str, Any], *, short: bool) -> list[str]:
    lines = [f"{label}: {info.get('Version', '')}"]
    if not short:
        lines += [f"  {k}: {v}" for k, v in info.items() if k != "Version" and v]
    return lines


def version(
    client: Annotated[bool, typer.Option("--client", help="The client's version only.")] = False,
    short: Annotated[bool, typer.Option("--short", help="Versions only (as -o short).")] = False,
    output: Annotated[
        Format, typer.Option("--output", "-o", help="text, short, json or yaml.")
    ] = Format.text,
    config: Annotated[
        str | None, typer.Option("--config", help="Tidegate config file (tidegate login's).")
    ] = None,
    core: Annotated[
        bool,
        typer.Option(
            "--core",
            help="The Kubernetes API server's version (the kubeconfig flags), not a login's.",
        ),
    ] = False,
    kubeconfig: KubeconfigFlag = None,
    context: ContextFlag = None,
    cluster: ClusterFlag = None,
    user: UserFlag = None,
    namespace: NamespaceFlag = None,
    token: TokenFlag = None,
    username: UsernameFlag = None,
    password: PasswordFlag = None,
    insecure_skip_tls_verify: InsecureFlag = False,
    request_timeout: TimeoutFlag = "0",
) -> None:
    """Print the client's version, and the server's when a login context is current (with
    --core: the Kubernetes API server's that the kubeconfig flags name, as argocd --core)."""
    result: dict[str, Any] = {"client": client_version()}
    error = None
    kube_opts = {
        "kubeconfig": kubeconfig,
        "context": context,
        "cluster": cluster,
        "user": user,
        "namespace": namespace,
        "token": token,
        "username": username,
        "password": password,
        "insecure": insecure_skip_tls_verify,
        "request_timeout": request_timeout,
    }
    if core and not client:
        result["server"] = _core_version(kube_opts)
        client = True
    elif any(v for k, v in kube_opts.items() if k != "request_timeout") and not client:
        from tidegate.cli import output as out

        raise out.fail("the kubeconfig flags (--kubeconfig, --context, ...) need --core", 2)
    if not client:
        try:
            found = _server_version(config)
        except RuntimeError as exc:
            found, error = None, str(exc)
        if found is not None:
            result["server"] = found[1]
    if output in (Format.json, Format.yaml):
        from tidegate.cli import output as out

        out.dump(result, out.Format(output.value))
    else:
        brief = short or output is Format.short
        lines = _text("tidegate", result["client"], short=brief)
        if "server" in result:
            label = "kube-server" if core else "tidegate-server"
            lines += _text(label, result["server"], short=brief)
        typer.echo("\n".join(lines))
    if error is not None:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1)
