"""The notifications config checked on load, subscriptions, the notified state (pure)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from tidegate.notify import config, evaluate, exprenv, render, services, state, subscriptions

NOW = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)
HOOK = "service.webhook.hook"


def conf(**extra: str) -> config.Config:
    data = {HOOK: "url: http://127.0.0.1:9/x\nheaders:\n- name: Authorization\n  value: $tok\n"}
    data.update(extra)
    return config.load(data, {"tok": "Bearer sekrit-token"})


def app(
    phase: str | None = "Succeeded", revision: str = "abc", **annotations: str
) -> dict[str, Any]:
    status: dict[str, Any] = {"sync": {"status": "Synced"}, "health": {"status": "Healthy"}}
    if phase:
        status["operationState"] = {
            "phase": phase,
            "startedAt": "2026-01-01T11:59:00Z",
            "finishedAt": "2026-01-01T11:59:30Z",
            "syncResult": {"revision": revision},
        }
    return {
        "metadata": {"name": "web", "namespace": "argocd", "annotations": annotations},
        "spec": {"project": "default", "source": {"repoURL": "git@github.com:org/web.git"}},
        "status": status,
    }


def test_secrets_are_substituted_and_never_in_problems() -> None:
    c = conf(**{"service.webhook.other": "url: $missing-key"})
    assert c.services["hook"].options["headers"][0]["value"] == "Bearer sekrit-token"
    assert c.problems == [
        "service.webhook.other: $missing-key is not a key of Secret argocd-notifications-secret"
    ]
    assert c.scrub("token Bearer sekrit-token here") == "token ****** here"


@pytest.mark.parametrize(
    ("key", "value", "problem"),
    [
        ("trigger.bad", "- when: app.x |> y\n  send: [app-created]", "trigger.bad[0]: "),
        ("trigger.nosend", "- when: 'true'\n  send: [nope]", "unknown template 'nope'"),
        ("trigger.unknown", "- when: frobnicate(app)\n  send: [app-created]", "frobnicate"),
        ("template.broken", "message: '{{ .app.metadata.name '", "template.broken: "),
        ("service.webhook.u", "url: ftp://x", "url must be an http(s) URL"),
        ("service.pigeon", "{}", "service type 'pigeon' is not supported"),
        ("subscriptions", "- recipients: [" + ",".join(["'hook:x'"] * 1001) + "]", "at most 1000"),
    ],
)
def test_bad_entries_are_refused_with_the_key_and_the_cause(
    key: str, value: str, problem: str
) -> None:
    c = conf(**{key: value})
    assert any(p.startswith(key.split("[")[0]) and problem in p for p in c.problems), c.problems
    name = key.split(".", 1)[-1]
    assert name not in c.triggers and name not in c.templates


def test_on_sync_succeeded_once_per_revision_and_state_keys() -> None:
    c = conf()
    a = app(**{"notifications.argoproj.io/subscribe.on-sync-succeeded.hook": "a;b"})
    first = evaluate.evaluate(a, None, c, now=lambda: NOW)
    assert [(d.trigger, d.recipient) for d in first.deliveries] == [
        ("on-sync-succeeded", "a"),
        ("on-sync-succeeded", "b"),
    ]
    key = next(iter(first.state))
    assert key.startswith("abc:on-sync-succeeded:[0].") and key.endswith(":hook:a")
    a["metadata"]["annotations"][state.ANNOTATION] = state.encode(first.state)
    assert evaluate.evaluate(a, None, c, now=lambda: NOW).deliveries == []
    # A new revision fires again; a failed sync does not drop the oncePer entry.
    b = app(revision="def", **a["metadata"]["annotations"])
    assert len(evaluate.evaluate(b, None, c, now=lambda: NOW).deliveries) == 2
    failed = evaluate.evaluate(app("Failed", **a["metadata"]["annotations"]), None, c)
    assert failed.deliveries == [] and set(first.state) <= set(failed.state)


def test_condition_without_once_per_fires_again_after_turning_false() -> None:
    trigger = "- when: app.status.health.status == 'Degraded'\n  send: [app-health-degraded]"
    c = conf(**{"trigger.on-degraded": trigger})
    sub = {"notifications.argoproj.io/subscribe.on-degraded.hook": ""}
    degraded = app(**sub)
    degraded["status"]["health"]["status"] = "Degraded"
    fired = evaluate.evaluate(degraded, None, c)
    assert len(fired.deliveries) == 1
    healthy = app(**sub, **{state.ANNOTATION: state.encode(fired.state)})
    cleared = evaluate.evaluate(healthy, None, c)
    assert cleared.state == {}
    degraded["metadata"]["annotations"][state.ANNOTATION] = state.encode(cleared.state)
    assert len(evaluate.evaluate(degraded, None, c).deliveries) == 1


def test_on_deployed_uses_time_functions() -> None:
    c = conf()
    a = app(**{"notifications.argoproj.io/subscribe.on-deployed.hook": ""})
    a["status"]["health"]["lastTransitionTime"] = "2026-01-01T11:59:10Z"
    assert len(evaluate.evaluate(a, None, c).deliveries) == 1
    late = app(**{"notifications.argoproj.io/subscribe.on-deployed.hook": ""})
    late["status"]["health"]["lastTransitionTime"] = "2026-01-01T11:50:00Z"  # healthy long before
    late["status"]["operationState"]["startedAt"] = "2026-01-01T11:40:00Z"
    assert evaluate.evaluate(late, None, c).deliveries == []


def test_default_triggers_project_and_global_subscriptions() -> None:
    c = conf(
        defaultTriggers="[on-sync-succeeded, on-sync-failed]",
        subscriptions="- recipients: ['hook:ops']\n  triggers: [on-sync-succeeded]\n"
        "  selector: team=pay",
    )
    a = app(**{"notifications.argoproj.io/subscribe.hook": "dev"})
    a["metadata"]["labels"] = {"team": "pay"}
    project = {"metadata": {"name": "default", "annotations": {
        "notifications.argoproj.io/subscribe.on-sync-succeeded.hook": "proj"}}}  # fmt: skip
    subs, problems = subscriptions.for_app(a, project, c)
    assert problems == []
    assert {(s.trigger, s.recipient) for s in subs} == {
        ("on-sync-succeeded", "dev"),
        ("on-sync-failed", "dev"),
        ("on-sync-succeeded", "proj"),
        ("on-sync-succeeded", "ops"),
    }


def test_state_keeps_the_newest_hundred() -> None:
    big = {f"k{i}": i for i in range(150)}
    kept = json.loads(state.encode(big))
    assert len(kept) == 100 and "k149" in kept and "k0" not in kept


def test_templates_render_with_call_and_service_type() -> None:
    message = (
        '{{if eq .serviceType "slack"}}:x: {{end}}'
        "{{call .repo.RepoURLToHTTPS .app.spec.source.repoURL}}"
    )
    c = conf(**{"template.t": f"message: '{message}'"})
    data = render.variables(app(), None, {}, service_type="slack", recipient="r")
    assert render.render("t", c.templates["t"], data)["message"] == ":x: https://github.com/org/web"


def test_requests_built_per_service() -> None:
    c = config.load(
        {
            "service.slack": "token: $slack\napiURL: http://127.0.0.1:9/api",
            "service.github": "token: $gh\napiURL: http://127.0.0.1:9",
            "service.teams": "recipientUrls:\n  ops: http://127.0.0.1:9/teams",
        },
        {"slack": "xoxb-1234", "gh": "ghp-5678"},
    )
    assert c.problems == []
    note = {"message": "hi", "github": {"repoURLPath": "https://github.com/org/web.git",
            "revisionPath": "abc", "status": {"state": "success", "label": "cd"}}}  # fmt: skip
    slack = services.build(c.services["slack"], note, "#chan")
    assert isinstance(slack, services.HttpRequest) and slack.url.endswith("/api/chat.postMessage")
    assert json.loads(slack.body or b"") == {"text": "hi", "channel": "#chan"}
    gh = services.build(c.services["github"], note, "")
    assert isinstance(gh, services.HttpRequest)
    assert gh.url == "http://127.0.0.1:9/repos/org/web/statuses/abc"
    assert json.loads(gh.body or b"")["context"] == "cd"
    with pytest.raises(services.DeliveryError, match="no recipientUrls entry"):
        services.build(c.services["teams"], note, "dev")


def test_time_helpers() -> None:
    t = exprenv.parse_time("2026-01-01T00:00:00Z")
    assert t.Add(exprenv.MINUTE).Sub(t).Minutes() == 1.0
    assert exprenv.full_name_by_repo_url("ssh://git@github.com/org/web.git") == "org/web"


def test_a_final_phase_before_its_outcome_is_not_notified() -> None:
    a = app(**{"notifications.argoproj.io/subscribe.on-sync-succeeded.hook": ""})
    a["operation"] = {"sync": {}}  # the outcome (revision, operation cleared) comes next
    a["status"]["operationState"]["syncResult"] = {}
    assert evaluate.evaluate(a, None, conf()).deliveries == []
