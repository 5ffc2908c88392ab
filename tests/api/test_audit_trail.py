"""How requests are named in the audit log (pure)."""

from __future__ import annotations

import pytest

from tidegate.api import audit_trail


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("POST", "/api/v1/session", ("login", "Session", "")),
        ("DELETE", "/api/v1/session", ("logout", "Session", "")),
        ("POST", "/api/v1/applications", ("create", "Application", "")),
        ("POST", "/api/v1/applications/web/sync", ("sync", "Application", "web")),
        ("POST", "/api/v1/applications/web/rollback", ("rollback", "Application", "web")),
        ("DELETE", "/api/v1/applications/web/operation", ("terminate-op", "Application", "web")),
        ("PATCH", "/api/v1/applications/web", ("update", "Application", "web")),
        ("DELETE", "/api/v1/applications/web", ("delete", "Application", "web")),
        ("GET", "/api/v1/applications/web", ("get", "Application", "web")),
        ("POST", "/api/v1/applications/web/resource", ("patch-resource", "Application", "web")),
        ("DELETE", "/api/v1/applications/web/resource", ("delete-resource", "Application", "web")),
        ("POST", "/api/v1/applications/web/resource/actions", ("run-action", "Application", "web")),
        (
            "POST",
            "/api/v1/applications/web/resource/actions/v2",
            ("run-action", "Application", "web"),
        ),
        ("GET", "/api/v1/applications/web/resource/actions", ("get", "Application", "web")),
        ("PUT", "/api/v1/account/password", ("update-password", "Account", "")),
        ("POST", "/api/v1/account/ci/token", ("create-token", "Account", "ci")),
        ("DELETE", "/api/v1/account/ci/token/t1", ("delete-token", "Account", "ci")),
        ("DELETE", "/api/v1/projects/team-a", ("delete", "AppProject", "team-a")),
        (
            "POST",
            "/api/v1/promotion/projects/shop/stages/prod/promote",
            ("promote", "Stage", "prod"),
        ),
        (
            "POST",
            "/api/v1/promotion/projects/shop/stages/prod/approve",
            ("approve", "Stage", "prod"),
        ),
    ],
)
def test_describe(method: str, path: str, expected: tuple[str, str, str]) -> None:
    assert audit_trail.describe(method, path) == expected
