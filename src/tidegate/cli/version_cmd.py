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
) -> None:
    """Print the client's version, and the server's when a login context is current."""
    result: dict[str, Any] = {"client": client_version()}
    error = None
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
            lines += _text("tidegate-server", result["server"], short=brief)
        typer.echo("\n".join(lines))
    if error is not None:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1)
