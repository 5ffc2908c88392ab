"""Which notifications an app's current state calls for, and the new notified state (pure).

For each subscription, each condition of its trigger is evaluated against the app. A true
condition whose key is not in the notified state yields a :class:`Delivery` (one per template
it sends) and records the key; a false one drops its key (so it can fire again) unless it has
``oncePer``, whose value is part of the key (one notification per revision, per app ...).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

from tidegate import expr
from tidegate.notify import config as config_mod
from tidegate.notify import exprenv, state, subscriptions


@dataclasses.dataclass(frozen=True)
class Delivery:
    trigger: str
    templates: tuple[str, ...]
    service: str
    recipient: str


@dataclasses.dataclass
class Result:
    deliveries: list[Delivery]
    state: dict[str, int]
    problems: list[str]

    @property
    def state_changed(self) -> bool:
        return self._before != self.state

    _before: dict[str, int] = dataclasses.field(default_factory=dict)


def settling(app: Mapping[str, Any]) -> bool:
    """The operation's final phase is persisted but its outcome (revision, history) not yet:
    the controller writes them next; evaluating now would notify a revision-less state."""
    op_state = (app.get("status") or {}).get("operationState") or {}
    return bool(app.get("operation")) and op_state.get("phase") in ("Succeeded", "Failed", "Error")


def app_name(app: Mapping[str, Any]) -> str:
    meta = app.get("metadata") or {}
    return f"Application {meta.get('namespace')}/{meta.get('name')}"


def evaluate(
    app: Mapping[str, Any],
    project: Mapping[str, Any] | None,
    conf: config_mod.Config,
    *,
    now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    only_trigger: str | None = None,
    notified_state: dict[str, int] | None = None,
) -> Result:
    """``notified_state``: the state this process wrote last, when newer than the copy's."""
    before = dict(notified_state) if notified_state is not None else state.read(app)
    if settling(app):
        return Result([], before, [], _before=before)
    notified = dict(before)
    subs, problems = subscriptions.for_app(app, project, conf)
    env = exprenv.environment(app, project=project, context=conf.context, now=now)
    stamp = int(now().timestamp())
    deliveries: list[Delivery] = []
    verdicts: dict[tuple[str, int], tuple[bool, str] | None] = {}
    for sub in subs:
        if only_trigger is not None and sub.trigger != only_trigger:
            continue
        conditions = conf.triggers.get(sub.trigger)
        if conditions is None:
            problems.append(f"{app_name(app)}: trigger {sub.trigger!r} is not configured")
            continue
        if sub.service not in conf.services:
            problems.append(f"{app_name(app)}: service {sub.service!r} is not configured")
            continue
        for index, cond in enumerate(conditions):
            if (sub.trigger, index) not in verdicts:
                verdicts[(sub.trigger, index)] = _verdict(cond, env, sub.trigger, index, problems)
            verdict = verdicts[(sub.trigger, index)]
            if verdict is None:
                continue  # the condition failed to evaluate: leave its state as it is
            triggered, once_value = verdict
            key = state.key(once_value, sub.trigger, cond.key(index), sub.service, sub.recipient)
            if triggered:
                if key not in notified:
                    notified[key] = stamp
                    deliveries.append(Delivery(sub.trigger, cond.send, sub.service, sub.recipient))
            elif not cond.once_per:
                notified.pop(key, None)
    result = Result(deliveries, state.trimmed(notified), problems)
    result._before = before
    return result


def _verdict(
    cond: config_mod.Condition,
    env: Mapping[str, Any],
    trigger: str,
    index: int,
    problems: list[str],
) -> tuple[bool, str] | None:
    assert cond.when_program is not None
    try:
        triggered = cond.when_program.evaluate(env)
        once = ""
        if cond.once_per_program is not None and triggered is True:
            value = cond.once_per_program.evaluate(env)
            once = "" if value is None else str(value)
    except expr.ExprError as exc:
        problems.append(f"trigger.{trigger}[{index}]: {exc}")
        return None
    if not isinstance(triggered, bool):
        problems.append(f"trigger.{trigger}[{index}]: 'when' gave {triggered!r}, not a boolean")
        return None
    return triggered, once
