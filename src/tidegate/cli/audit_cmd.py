"""``tidegate audit list``: query the server's audit log (through the stored login context)."""

from __future__ import annotations

import datetime
import json
import sys
from enum import StrEnum
from typing import Any

import typer

from tidegate.cli import apiclient, output
from tidegate.cli.account_cmd import parse_duration
from tidegate.cli.login_cmd import CONFIG_OPTION

app = typer.Typer(name="audit", help="Query the audit log.", no_args_is_help=True)


class AuditFormat(StrEnum):
    table = "table"
    json = "json"
    yaml = "yaml"
    jsonl = "jsonl"


def since_time(text: str, *, now: datetime.datetime) -> str:
    """``1h``/``2d`` (ago) or an RFC 3339 time → RFC 3339."""
    if not text:
        return ""
    if text[0].isdigit() and text[-1] in "smhd":
        return (now - datetime.timedelta(seconds=parse_duration(text))).isoformat()
    try:
        datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise output.fail("--since must be a duration (1h, 2d) or an RFC 3339 time") from None
    return text


@app.command("list")
def list_entries(
    actor: str = typer.Option("", "--actor", help="Only this account or SSO subject."),
    app_name: str = typer.Option("", "--app", help="Only this object (application) name."),
    project: str = typer.Option("", "--project", help="Only this project."),
    action: str = typer.Option("", "--action", help="Only this action (sync, delete, login...)."),
    result: str = typer.Option("", "--result", help="allowed, denied, succeeded or failed."),
    since: str = typer.Option("", "--since", help="From this time on: 1h, 2d or RFC 3339."),
    limit: int = typer.Option(100, "--limit", min=1, max=1000, help="At most this many."),
    out: AuditFormat = typer.Option(
        AuditFormat.table,
        "--output",
        "-o",
        help="Output format (jsonl: one JSON object a line, for log tools).",
    ),
    config: str | None = CONFIG_OPTION,
) -> None:
    """List audit entries, newest first."""
    params: dict[str, Any] = {
        k: v
        for k, v in {
            "actor": actor,
            "app": app_name,
            "project": project,
            "action": action,
            "result": result,
            "since": since_time(since, now=datetime.datetime.now(datetime.UTC)),
            "limit": limit,
        }.items()
        if v
    }
    items = apiclient.call(config, "GET", "/api/v1/audit", params=params).get("items") or []
    if out is AuditFormat.jsonl:
        for entry in items:
            sys.stdout.write(json.dumps(entry, separators=(",", ":")) + "\n")
        return
    if out in (AuditFormat.json, AuditFormat.yaml):
        output.dump(items, output.Format(out.value))
        return
    rows = [
        (
            e["time"][:19] + "Z",
            e["actor"],
            e["action"],
            e["object"]["kind"],
            "/".join(p for p in (e["object"]["project"], e["object"]["name"]) if p),
            e["result"],
            e["reason"][:60],
        )
        for e in items
    ]
    output.table(("time", "actor", "action", "kind", "object", "result", "reason"), rows)
