"""Promotion commands, as Kargo's CLI words them: ``promote``, ``approve``, and ``freight``,
``stage``, ``warehouse``, ``promotion`` with ``list|get`` (and ``refresh``, ``abort``).

``--project`` names the Kargo project (its namespace); the management cluster is
``--kubeconfig``/``--context`` as everywhere. Exit codes: 0 done, 1 refused or failed (the
message says why), 2 usage error.
"""

from __future__ import annotations

import getpass
from collections.abc import Callable, Sequence
from typing import Any

import typer

from tidegate.cli import kubeopts, output

PROJECT_OPTION: Any = typer.Option(..., "--project", help="The Kargo project (its namespace).")
FREIGHT_OPTION: Any = typer.Option("", "--freight", help="Freight name.")
ALIAS_OPTION: Any = typer.Option("", "--freight-alias", help="Freight alias (wonky-wombat).")

freight_app = typer.Typer(name="freight", help="Freight: artifact versions found by Warehouses.")
stage_app = typer.Typer(name="stage", help="Stages of a promotion pipeline.")
warehouse_app = typer.Typer(name="warehouse", help="Warehouses: artifact subscriptions.")
promotion_app = typer.Typer(name="promotion", help="Promotions of Freight to Stages.")


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def _run(kubeconfig: str | None, context: str | None, action: Callable[[Any], Any]) -> Any:
    async def go() -> Any:
        async with kubeopts.management(kubeconfig, context) as (_, client):
            return await action(client)

    return kubeopts.run(go())


def promote(
    project: str = PROJECT_OPTION,
    stage: str = typer.Option(..., "--stage", help="The Stage to promote to."),
    freight: str = FREIGHT_OPTION,
    freight_alias: str = ALIAS_OPTION,
    kubeconfig: str | None = kubeopts.KUBECONFIG_OPTION,
    context: str | None = kubeopts.CONTEXT_OPTION,
    out: output.Format = output.OUTPUT_OPTION,
) -> None:
    """Promote Freight (by name or alias; the newest available one if neither) to a Stage."""
    from tidegate.promotion import actions

    if freight and freight_alias:
        raise output.fail("give --freight or --freight-alias, not both", code=2)
    promo = _run(
        kubeconfig,
        context,
        lambda c: actions.promote(
            c, project, stage, freight_name=freight, alias=freight_alias, actor=_actor()
        ),
    )
    if out in (output.Format.json, output.Format.yaml):
        output.dump(promo, out)
    else:
        typer.echo(f"promotion.kargo.akuity.io/{promo['metadata']['name']} created")


def approve(
    project: str = PROJECT_OPTION,
    stage: str = typer.Option(..., "--stage", help="The Stage the Freight is approved for."),
    freight: str = FREIGHT_OPTION,
    freight_alias: str = ALIAS_OPTION,
    kubeconfig: str | None = kubeopts.KUBECONFIG_OPTION,
    context: str | None = kubeopts.CONTEXT_OPTION,
) -> None:
    """Approve Freight for a Stage (it must be verified in one of the Stage's upstreams)."""
    from tidegate.promotion import actions

    if bool(freight) == bool(freight_alias):
        raise output.fail("give exactly one of --freight or --freight-alias", code=2)
    obj = _run(
        kubeconfig,
        context,
        lambda c: actions.approve(c, project, stage, freight_name=freight, alias=freight_alias),
    )
    typer.echo(f"freight.kargo.akuity.io/{obj['metadata']['name']} approved for {stage}")


# -- list / get ----------------------------------------------------------------------------------


def _age(obj: dict[str, Any]) -> str:
    import datetime

    from tidegate.model import durations
    from tidegate.promotion import availability

    created = availability.parse_time((obj.get("metadata") or {}).get("creationTimestamp"))
    if created is None:
        return ""
    return durations.short((datetime.datetime.now(datetime.UTC) - created).total_seconds())


def _freight_row(f: dict[str, Any]) -> list[Any]:
    status = f.get("status") or {}
    artifacts = [f"{i.get('repoURL')}:{i.get('tag')}" for i in f.get("images") or ()]
    artifacts += [f"{c.get('repoURL')}@{str(c.get('id'))[:7]}" for c in f.get("commits") or ()]
    artifacts += [f"{c.get('name')}:{c.get('version')}" for c in f.get("charts") or ()]
    return [
        f["metadata"]["name"],
        f.get("alias", ""),
        (f.get("origin") or {}).get("name", ""),
        ",".join(sorted(k for k, v in (status.get("currentlyIn") or {}).items() if v)),
        ",".join(sorted(status.get("verifiedIn") or {})),
        ",".join(sorted(status.get("approvedFor") or {})),
        " ".join(artifacts),
        _age(f),
    ]


def _stage_row(s: dict[str, Any]) -> list[Any]:
    from tidegate.promotion import availability

    status = s.get("status") or {}
    current = ",".join(availability.current_freight(s).values())
    last = status.get("lastPromotion") or {}
    return [
        s["metadata"]["name"],
        current,
        (status.get("health") or {}).get("status", ""),
        ((last.get("status") or {}).get("phase", "")),
        _age(s),
    ]


def _warehouse_row(w: dict[str, Any]) -> list[Any]:
    status = w.get("status") or {}
    ready: dict[str, Any] = next(
        (c for c in status.get("conditions") or () if c.get("type") == "Ready"), {}
    )
    return [
        w["metadata"]["name"],
        status.get("lastFreightID", ""),
        ready.get("status", ""),
        ready.get("message", ""),
        _age(w),
    ]


def _promotion_row(p: dict[str, Any]) -> list[Any]:
    spec, status = p.get("spec") or {}, p.get("status") or {}
    return [
        p["metadata"]["name"],
        spec.get("stage", ""),
        str(spec.get("freight", ""))[:12],
        status.get("phase", "Pending"),
        status.get("message", ""),
        _age(p),
    ]


KINDS: dict[str, tuple[str, Sequence[str], Callable[[dict[str, Any]], list[Any]]]] = {
    "freight": (
        "Freight",
        ("name", "alias", "origin", "in", "verified", "approved", "artifacts", "age"),
        _freight_row,
    ),
    "stage": ("Stage", ("name", "freight", "health", "last promotion", "age"), _stage_row),
    "warehouse": ("Warehouse", ("name", "last freight", "ready", "message", "age"), _warehouse_row),
    "promotion": (
        "Promotion", ("name", "stage", "freight", "phase", "message", "age"), _promotion_row,
    ),
}  # fmt: skip


def _lister(word: str) -> Callable[..., None]:
    kind, headers, row = KINDS[word]

    def list_cmd(
        project: str = PROJECT_OPTION,
        kubeconfig: str | None = kubeopts.KUBECONFIG_OPTION,
        context: str | None = kubeopts.CONTEXT_OPTION,
        out: output.Format = output.OUTPUT_OPTION,
    ) -> None:
        from tidegate.promotion import actions

        items = _run(kubeconfig, context, lambda c: actions.list_kind(c, kind, project))
        items.sort(key=lambda o: str(o["metadata"].get("creationTimestamp") or ""), reverse=True)
        if out in (output.Format.json, output.Format.yaml):
            output.dump(items, out)
        else:
            output.table(headers, [row(i) for i in items])

    list_cmd.__doc__ = f"List the {kind} objects of a project (newest first)."
    return list_cmd


def _getter(word: str) -> Callable[..., None]:
    kind, headers, row = KINDS[word]

    def get_cmd(
        name: str = typer.Argument(..., help=f"The {kind}'s name."),
        project: str = PROJECT_OPTION,
        kubeconfig: str | None = kubeopts.KUBECONFIG_OPTION,
        context: str | None = kubeopts.CONTEXT_OPTION,
        out: output.Format = output.OUTPUT_OPTION,
    ) -> None:
        from tidegate.promotion import actions

        async def fetch(c: Any) -> Any:
            if kind == "Freight":
                try:
                    return await actions.find_freight(c, project, name=name)
                except actions.RequestError:
                    return await actions.find_freight(c, project, alias=name)
            return await actions.get(c, kind, project, name)

        obj = _run(kubeconfig, context, fetch)
        if out in (output.Format.json, output.Format.yaml):
            output.dump(obj, out)
        else:
            output.table(headers, [row(obj)])

    get_cmd.__doc__ = f"Show one {kind} (-o yaml for all of it)."
    return get_cmd


for _word, _group in (("freight", freight_app), ("stage", stage_app),
                      ("warehouse", warehouse_app), ("promotion", promotion_app)):  # fmt: skip
    _group.command("list")(_lister(_word))
    _group.command("get")(_getter(_word))


@warehouse_app.command("refresh")
def warehouse_refresh(
    name: str = typer.Argument(..., help="The Warehouse's name."),
    project: str = PROJECT_OPTION,
    kubeconfig: str | None = kubeopts.KUBECONFIG_OPTION,
    context: str | None = kubeopts.CONTEXT_OPTION,
) -> None:
    """Ask the Warehouse to look for new artifacts now."""
    from tidegate.promotion import actions

    _run(kubeconfig, context, lambda c: actions.refresh_warehouse(c, project, name))
    typer.echo(f"warehouse.kargo.akuity.io/{name} refresh requested")


@promotion_app.command("abort")
def promotion_abort(
    name: str = typer.Argument(..., help="The Promotion's name."),
    project: str = PROJECT_OPTION,
    kubeconfig: str | None = kubeopts.KUBECONFIG_OPTION,
    context: str | None = kubeopts.CONTEXT_OPTION,
) -> None:
    """Abort a Promotion that has not finished (it stops before its next step)."""
    from tidegate.promotion import actions

    _run(kubeconfig, context, lambda c: actions.abort(c, project, name))
    typer.echo(f"promotion.kargo.akuity.io/{name} abort requested")
