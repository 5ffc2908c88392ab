"""tidegate.sync.request: what terminating an operation writes, in each state (pure)."""

from __future__ import annotations

import pytest

from tidegate.model import errors
from tidegate.sync import request


def _app(phase: str | None = None, requested: bool = False) -> dict[str, object]:
    app: dict[str, object] = {"metadata": {"name": "web", "namespace": "argocd"}}
    if phase:
        app["status"] = {"operationState": {"phase": phase}}
    if requested:
        app["operation"] = {"sync": {}}
    return app


def test_termination_by_state() -> None:
    running = request.termination(_app("Running", requested=True))
    assert running.patch == {"status": {"operationState": {"phase": "Terminating"}}}
    assert request.termination(_app("Terminating")).patch is None
    withdrawn = request.termination(_app("Succeeded", requested=True))
    assert withdrawn.patch == {"operation": None}
    assert "withdrawn" in withdrawn.message
    with pytest.raises(errors.ConfigError, match="no operation is in progress"):
        request.termination(_app("Succeeded"))


def test_operation_in_progress() -> None:
    assert request.operation_in_progress(_app(requested=True))
    assert request.operation_in_progress(_app("Running"))
    assert not request.operation_in_progress(_app("Failed"))
