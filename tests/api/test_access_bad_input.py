"""Bad input to the access-control endpoints of a real server (the issue's list; the other
items are in test_session.py, test_rbac.py, test_accounts.py and tests/web/test_sso.py)."""

from __future__ import annotations

import json

import pytest

from tidegate.testenv import serverproc

pytestmark = pytest.mark.e2e
JSON = {"Content-Type": "application/json"}
HUGE = "p" * 1_000_000


def test_a_password_of_1_mb_changes_nothing(server: serverproc.ServerProcess, token: str) -> None:
    password = server.admin_password()
    with server.client(token=token) as client:
        for body, status, text in (
            ({"currentPassword": password, "newPassword": HUGE}, 400, "does not match"),
            ({"currentPassword": HUGE, "newPassword": "another-pass-1"}, 401, "does not match"),
        ):
            resp = client.put("/api/v1/account/password", content=json.dumps(body), headers=JSON)
            assert resp.status_code == status and text in resp.json()["message"]
            assert len(resp.content) < 1000  # the password is never echoed
    assert server.login()  # the password is unchanged
