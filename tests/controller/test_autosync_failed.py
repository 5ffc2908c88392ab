"""autosync.decide after an automated sync failed at the compared revision: Argo CD's SyncError
"Failed sync attempt to <revision>: <message>", retried only with selfHeal, after the back-off."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from tidegate.controller import autosync
from tidegate.controller import compare as cmp
from tidegate.health import status as health_status
from tidegate.model import application as model_app
from tidegate.model.enums import HealthStatusCode, SyncStatusCode
from tidegate.model.keys import ResourceKey
from tidegate.sync import windows

REVISION = "a" * 40


def _app(*, self_heal: bool, phase: str = "Failed", revision: str = REVISION) -> Any:
    return model_app.parse_application(
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Application",
            "metadata": {"name": "web", "namespace": "argocd"},
            "spec": {
                "project": "default",
                "source": {"repoURL": "https://h/r.git", "path": "app", "targetRevision": "main"},
                "destination": {"server": "https://dev", "namespace": "web"},
                "syncPolicy": {"automated": {"prune": True, "selfHeal": self_heal}},
            },
            "status": {
                "operationState": {
                    "phase": phase,
                    "message": "one or more objects failed to apply: boom",
                    # failed before any result: the revision comes from the operation
                    "operation": {
                        "sync": {"revision": revision},
                        "initiatedBy": {"automated": True},
                    },
                }
            },
        }
    )


def _out_of_sync() -> cmp.Comparison:
    key = ResourceKey("", "ConfigMap", "web", "settings")
    target = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"}}
    state = cmp.ResourceState(
        key, "v1", target, None, SyncStatusCode.OUT_OF_SYNC, None, False, False, None
    )
    return cmp.Comparison(
        (REVISION,),
        ("Directory",),
        [target],
        {},
        [state],
        SyncStatusCode.OUT_OF_SYNC,
        health_status.HealthStatus(HealthStatusCode.MISSING),
    )


def _decide(app: Any, *, due: bool) -> autosync.Decision:
    return autosync.decide(
        app,
        _out_of_sync(),
        sync_windows=[],
        window_app=windows.AppRef("web", "web", "https://dev", "dev"),
        now=dt.datetime.now(dt.UTC),
        self_heal_due=due,
    )


FAILED = f"Failed sync attempt to {REVISION}: one or more objects failed to apply: boom"


@pytest.mark.parametrize("due", [True, False])
def test_without_self_heal_a_failed_revision_is_reported_not_retried(due: bool) -> None:
    decision = _decide(_app(self_heal=False), due=due)
    assert (decision.sync, decision.report, decision.reason) == (False, True, FAILED)
    assert not decision.retry_later


def test_with_self_heal_it_waits_for_the_back_off_then_retries() -> None:
    waiting = _decide(_app(self_heal=True), due=False)
    assert (waiting.sync, waiting.report, waiting.retry_later) == (False, True, True)
    assert waiting.reason == FAILED
    assert _decide(_app(self_heal=True), due=True).sync


def test_a_new_revision_is_synced_at_once() -> None:
    assert _decide(_app(self_heal=False, revision="b" * 40), due=False).sync
    assert autosync.attempted_at(_app(self_heal=False), REVISION)
    assert not autosync.attempted_at(_app(self_heal=False), "b" * 40)
