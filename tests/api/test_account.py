"""Changing the admin password through a real ``tidegate server``: old sessions end."""

from __future__ import annotations

import json
import time

import jwt
import pytest
from tests.api.polling import until

from tidegate.testenv import serverproc

pytestmark = pytest.mark.e2e
JSON = {"Content-Type": "application/json"}


def test_password_change_ends_older_sessions(server: serverproc.ServerProcess, token: str) -> None:
    initial = server.admin_password()
    # Times are whole seconds (as Argo CD's): a token of the very second of the change stays
    # valid, so let the token's second pass first.
    issued = jwt.decode(token, options={"verify_signature": False})["iat"]
    until(lambda: int(time.time()) > issued, within=5)
    with server.client(token=token) as api:

        def change(current: str, new: str) -> tuple[int, str]:
            body = json.dumps({"currentPassword": current, "newPassword": new})
            resp = api.put("/api/v1/account/password", content=body, headers=JSON)
            return resp.status_code, resp.text

        status, text = change("wrong-password", "a-new-password")
        assert status == 401 and "current password does not match" in text
        status, text = change(initial, "short")
        assert status == 400 and "pattern" in text
        status, text = change(initial, "a-new-password")
        assert status == 200, text
        # argocd-secret changed: the token issued before is refused (cache bounded to 5 s).
        until(lambda: api.get("/api/v1/session/userinfo").status_code == 401, within=15)
    with server.client() as client:
        old = client.post(
            "/api/v1/session",
            content=json.dumps({"username": "admin", "password": initial}),
            headers=JSON,
        )
        assert old.status_code == 401
        new = client.post(
            "/api/v1/session",
            content=json.dumps({"username": "admin", "password": "a-new-password"}),
            headers=JSON,
        )
        assert new.status_code == 200
    assert "a-new-password" not in server.log.read_text()
