"""Who is subscribed to what: annotations on Applications and AppProjects, and the global
``subscriptions`` of the ConfigMap (pure).

- ``notifications.argoproj.io/subscribe.<trigger>.<service>: <r1>;<r2>``;
- ``notifications.argoproj.io/subscribe.<service>: ...`` (no trigger: the default triggers of
  the service, else ``defaultTriggers``);
- ``notifications.argoproj.io/subscriptions``: YAML ``[{trigger: [..], destinations:
  [{service, recipients: [..]}]}]``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

import yaml

from tidegate.model import errors
from tidegate.notify import config as config_mod

PREFIX = "notifications.argoproj.io/subscribe."
YAML_ANNOTATION = "notifications.argoproj.io/subscriptions"


@dataclasses.dataclass(frozen=True, order=True)
class Subscription:
    trigger: str
    service: str
    recipient: str


def _recipients(where: str, text: str) -> list[str]:
    items = [r.strip() for r in str(text).split(";")]
    items = [r for r in items if r] or [""]
    if len(items) > config_mod.MAX_RECIPIENTS:
        raise errors.ConfigError(
            f"{where}: {len(items)} recipients; at most {config_mod.MAX_RECIPIENTS} are accepted"
        )
    return items


def _triggers_for(service: str, conf: config_mod.Config) -> tuple[str, ...]:
    return conf.default_triggers_by_service.get(service) or conf.default_triggers


def from_annotations(
    what: str, annotations: Mapping[str, Any], conf: config_mod.Config
) -> tuple[list[Subscription], list[str]]:
    """Subscriptions of one object (``what`` names it in problems) and the problems found."""
    subs: list[Subscription] = []
    problems: list[str] = []
    for key, value in annotations.items():
        where = f"{what}: annotation {key}"
        try:
            if key.startswith(PREFIX):
                rest = key[len(PREFIX) :]
                trigger, _, service = rest.rpartition(".")
                triggers = (trigger,) if trigger else _triggers_for(service, conf)
                for recipient in _recipients(where, str(value)):
                    subs.extend(Subscription(t, service, recipient) for t in triggers)
            elif key == YAML_ANNOTATION:
                subs.extend(_yaml_form(where, str(value), conf))
        except errors.ConfigError as exc:
            problems.append(str(exc))
    return subs, problems


def _yaml_form(where: str, text: str, conf: config_mod.Config) -> Iterable[Subscription]:
    try:
        items = yaml.safe_load(text) or []
    except yaml.YAMLError:
        raise errors.ConfigError(f"{where}: invalid YAML") from None
    if not isinstance(items, list):
        raise errors.ConfigError(f"{where}: must be a list")
    out: list[Subscription] = []
    for item in items:
        if not isinstance(item, Mapping):
            raise errors.ConfigError(f"{where}: each entry must be a map")
        triggers = item.get("trigger") or []
        if isinstance(triggers, str):
            triggers = [triggers]
        for dest in item.get("destinations") or []:
            service = str((dest or {}).get("service") or "")
            recipients = [str(r) for r in (dest or {}).get("recipients") or [""]]
            if len(recipients) > config_mod.MAX_RECIPIENTS:
                raise errors.ConfigError(
                    f"{where}: more than {config_mod.MAX_RECIPIENTS} recipients"
                )
            for trigger in triggers or _triggers_for(service, conf):
                out.extend(Subscription(str(trigger), service, r) for r in recipients)
    return out


def _selected(selector: Mapping[str, str], labels: Mapping[str, Any]) -> bool:
    return all(str(labels.get(k)) == v for k, v in selector.items())


def for_app(
    app: Mapping[str, Any], project: Mapping[str, Any] | None, conf: config_mod.Config
) -> tuple[list[Subscription], list[str]]:
    """Every subscription that applies to ``app``: its own, its project's, the global ones."""
    meta = app.get("metadata") or {}
    name = f"Application {meta.get('namespace')}/{meta.get('name')}"
    subs, problems = from_annotations(name, meta.get("annotations") or {}, conf)
    if project is not None:
        pmeta = project.get("metadata") or {}
        more, issues = from_annotations(
            f"AppProject {pmeta.get('name')}", pmeta.get("annotations") or {}, conf
        )
        subs += more
        problems += issues
    labels = meta.get("labels") or {}
    for glob in conf.subscriptions:
        if not _selected(glob.selector, labels):
            continue
        for service, recipient in glob.recipients:
            for trigger in glob.triggers or _triggers_for(service, conf):
                subs.append(Subscription(trigger, service, recipient))
    return sorted(set(subs)), problems
