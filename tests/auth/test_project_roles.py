"""Runtime policy lines from AppProject roles, and role-token checks (pure)."""

from __future__ import annotations

from tidegate.auth import project_roles, tokens

PROJECT = {
    "metadata": {"name": "team"},
    "spec": {
        "roles": [
            {
                "name": "ci",
                "policies": [
                    "p, proj:team:ci, applications, sync, team/*, allow",
                    "p, proj:team:ci, applications, sync, other/*, allow",
                    "p, someone-else, applications, delete, team/*, allow",
                ],
                "groups": ["team-ci"],
            }
        ]
    },
    "status": {"jwtTokensByRole": {"ci": {"items": [{"iat": 100, "id": "t1"}]}}},
}


def test_policy_lines_keep_only_the_roles_own_project() -> None:
    assert project_roles.policy_lines(PROJECT) == [
        ("p", "proj:team:ci", "projects", "get", "team", "allow"),
        ("p", "proj:team:ci", "applications", "sync", "team/*", "allow"),
        ("g", "team-ci", "proj:team:ci"),
    ]


def test_role_token_listed_stands_and_others_do_not() -> None:
    projects = {"team": PROJECT}
    ok = tokens.Claims("proj:team:ci", 100, None, "t1")
    assert project_roles.check_role_token(projects, ok) is None
    stale = tokens.Claims("proj:team:ci", 101, None, "t1")
    assert project_roles.check_role_token(projects, stale) == "token has been revoked"
    nobody = tokens.Claims("proj:team:admin", 100, None, "t1")
    assert project_roles.check_role_token(projects, nobody) == "project or role not found"
