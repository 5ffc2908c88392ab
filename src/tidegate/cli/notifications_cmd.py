"""``tidegate notifications-controller`` and ``tidegate admin notifications``.

The standalone controller watches the Applications itself (run the application controller with
``--no-notifications`` then). ``admin notifications trigger run TRIGGER APP`` evaluates a
trigger's conditions against an app now; ``template notify TEMPLATE APP --recipient
SERVICE:RECIPIENT`` renders and sends a template, as ``argocd admin notifications`` does: to try
a config without waiting for an event. Exit codes: 0 ok, 1 a refused config, an unknown name or
a failed delivery.
"""

from __future__ import annotations

from typing import Any

import typer

from tidegate.cli import app_common, kubeopts, output

LOG_LEVEL: Any = typer.Option("info", "--loglevel", help="debug, info, warning or error.")
LOG_FORMAT: Any = typer.Option("json", "--logformat", help="json or text.")
CONFIG_MAP: Any = typer.Option("argocd-notifications-cm", "--config-map-name")
SECRET: Any = typer.Option("argocd-notifications-secret", "--secret-name")


def notifications_controller(
    kubeconfig: str | None = kubeopts.KUBECONFIG_OPTION,
    context: str | None = kubeopts.CONTEXT_OPTION,
    namespace: str = kubeopts.NAMESPACE_OPTION,
    config_map: str = CONFIG_MAP,
    secret: str = SECRET,
    loglevel: str = LOG_LEVEL,
    logformat: str = LOG_FORMAT,
) -> None:
    """Send the notifications of the control namespace's Applications until Ctrl-C."""
    import asyncio

    from tidegate import kube
    from tidegate.cli import logsetup
    from tidegate.notify import controller

    logsetup.configure(loglevel, fmt=logformat)
    mgmt = kubeopts.cluster_config(kubeconfig, context)

    async def go() -> None:
        notifier = controller.Notifier(
            mgmt=kube.client_for(mgmt), namespace=namespace, config_map=config_map, secret=secret
        )
        await notifier.run(watch_apps=True)

    try:
        asyncio.run(go())
    except KeyboardInterrupt:
        raise typer.Exit(0) from None


admin = typer.Typer(name="admin", help="Administration commands.", no_args_is_help=True)
notifications = typer.Typer(
    name="notifications", help="Try notification triggers and templates.", no_args_is_help=True
)
trigger = typer.Typer(name="trigger", help="Notification triggers.", no_args_is_help=True)
template = typer.Typer(name="template", help="Notification templates.", no_args_is_help=True)
admin.add_typer(notifications)
notifications.add_typer(trigger)
notifications.add_typer(template)


Loaded = tuple[Any, dict[str, Any], dict[str, Any] | None]


async def _load(
    kubeconfig: str | None,
    context: str | None,
    namespace: str,
    app_name: str,
    config_map: str,
    secret: str,
) -> Loaded:
    from tidegate import kube
    from tidegate.model import errors
    from tidegate.model.keys import ResourceKey
    from tidegate.notify import controller

    async with kube.client_for(kubeopts.cluster_config(kubeconfig, context)) as mgmt:
        conf = await controller.read_config(mgmt, namespace, config_map=config_map, secret=secret)
        app = await mgmt.get_or_none(ResourceKey("argoproj.io", "Application", namespace, app_name))
        if app is None:
            raise errors.ConfigError(
                f"application '{app_name}' not found in namespace '{namespace}'"
            )
        project_name = str((app.get("spec") or {}).get("project") or "default")
        project = await mgmt.get_or_none(
            ResourceKey("argoproj.io", "AppProject", namespace, project_name)
        )
        return conf, app, project


def _refused(conf: Any, prefix: str) -> None:
    problems = [p for p in conf.problems if p.startswith(prefix)]
    if problems:
        raise output.fail("; ".join(problems))


@trigger.command("run")
def trigger_run(
    trigger_name: str = typer.Argument(..., metavar="TRIGGER"),
    app_name: str = typer.Argument(..., metavar="APP"),
    fmt: output.Format = output.OUTPUT_OPTION,
    kubeconfig: str | None = kubeopts.KUBECONFIG_OPTION,
    context: str | None = kubeopts.CONTEXT_OPTION,
    namespace: str = kubeopts.NAMESPACE_OPTION,
    config_map: str = CONFIG_MAP,
    secret: str = SECRET,
) -> None:
    """Evaluate TRIGGER's conditions against APP now: CONDITION RESULT per condition."""
    from tidegate import expr
    from tidegate.notify import exprenv

    conf, app, project = app_common.run(
        _load(kubeconfig, context, namespace, app_name, config_map, secret)
    )
    _refused(conf, f"trigger.{trigger_name}")
    conditions = conf.triggers.get(trigger_name)
    if conditions is None:
        raise output.fail(f"trigger {trigger_name!r} is not configured")
    env = exprenv.environment(app, project=project, context=conf.context)
    rows = []
    for cond in conditions:
        try:
            result: Any = cond.when_program.evaluate(env)
        except expr.ExprError as exc:
            result = f"error: {exc}"
        rows.append({"condition": cond.when, "result": result})
    if fmt in (output.Format.yaml, output.Format.json):
        output.dump(rows, fmt)
    else:
        output.table(["CONDITION", "RESULT"], [[r["condition"], r["result"]] for r in rows])


@template.command("notify")
def template_notify(
    template_name: str = typer.Argument(..., metavar="TEMPLATE"),
    app_name: str = typer.Argument(..., metavar="APP"),
    recipients: list[str] = typer.Option(
        ..., "--recipient", help="SERVICE:RECIPIENT to send to (repeatable)."
    ),
    kubeconfig: str | None = kubeopts.KUBECONFIG_OPTION,
    context: str | None = kubeopts.CONTEXT_OPTION,
    namespace: str = kubeopts.NAMESPACE_OPTION,
    config_map: str = CONFIG_MAP,
    secret: str = SECRET,
) -> None:
    """Render TEMPLATE for APP and send it to each --recipient now."""
    import asyncio

    from tidegate.model import errors
    from tidegate.notify import controller, evaluate, services

    conf, app, project = app_common.run(
        _load(kubeconfig, context, namespace, app_name, config_map, secret)
    )
    _refused(conf, f"template.{template_name}")
    if template_name not in conf.templates:
        raise output.fail(f"template {template_name!r} is not configured")
    targets = []
    for item in recipients:
        service, _, recipient = item.partition(":")
        if service not in conf.services:
            raise output.fail(f"service {service!r} is not configured")
        targets.append(evaluate.Delivery("", (template_name,), service, recipient))

    async def send() -> list[str]:
        sender = services.Sender(scrub=conf.scrub)
        failures = []
        try:
            for delivery in targets:
                try:
                    await controller.deliver(sender, conf, delivery, app, project)
                except (services.DeliveryError, errors.TemplateError) as exc:
                    failures.append(conf.scrub(str(exc)))
        finally:
            await sender.aclose()
        return failures

    failures = asyncio.run(send())
    if failures:
        raise output.fail("; ".join(failures))
    typer.echo(f"sent {template_name} to {len(targets)} recipient(s)")
