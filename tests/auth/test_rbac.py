"""Argo CD's RBAC semantics on the Casbin enforcer (pure)."""

from __future__ import annotations

import pytest

from tidegate.auth import access, rbac


def _policy(**data: str) -> access.PolicyRef:
    return access.PolicyRef(rbac.Policy(rbac.parse_config(data)))


def _can(ref: access.PolicyRef, user: str, res: str, act: str, obj: str, *groups: str) -> bool:
    return access.allowed(access.Subject(user, f"{user}:login", groups, ref), res, act, obj)


def test_builtin_roles_admin_and_readonly() -> None:
    ref = _policy(**{"policy.csv": "g, viewer, role:readonly"})
    assert _can(ref, "admin", "applications", "sync", "p1/app")
    assert _can(ref, "admin", "applications", "action/apps/Deployment/restart", "p1/app")
    assert _can(ref, "viewer", "applications", "get", "p1/app")
    assert _can(ref, "viewer", "applications", "get", "p1/other-ns/app")  # '*' spans '/'
    assert not _can(ref, "viewer", "applications", "sync", "p1/app")
    assert not _can(ref, "viewer", "applications", "delete", "p1/app")
    assert not _can(ref, "nobody", "applications", "get", "p1/app")


def test_project_deployer_and_deny_wins() -> None:
    csv = """
# deployers of team-a
p, role:deployer-a, applications, sync, team-a/*, allow
p, role:deployer-a, applications, get, team-a/*, allow
g, alice, role:deployer-a
g, bob, role:admin
p, bob, applications, sync, team-a/frozen, deny
"""
    ref = _policy(**{"policy.csv": csv})
    assert _can(ref, "alice", "applications", "sync", "team-a/web")
    assert not _can(ref, "alice", "applications", "sync", "team-b/web")
    assert not _can(ref, "alice", "applications", "get", "team-b/web")
    assert _can(ref, "bob", "applications", "sync", "team-a/web")
    assert not _can(ref, "bob", "applications", "sync", "team-a/frozen")


def test_default_role_groups_and_overlays() -> None:
    ref = _policy(
        **{
            "policy.default": "role:readonly",
            "policy.csv": "g, ops-team, role:admin",
            "policy.extra.csv": "p, carol, clusters, create, *, allow",
        }
    )
    assert _can(ref, "anyone", "projects", "get", "default")
    assert not _can(ref, "anyone", "applications", "sync", "p/a")
    assert _can(ref, "dave", "applications", "sync", "p/a", "ops-team")
    assert _can(ref, "carol", "clusters", "create", "https://x")


def test_regex_match_mode() -> None:
    ref = _policy(
        **{
            "policy.matchMode": "regex",
            "policy.csv": "p, erin, applications, (get|sync), team-[ab]/.*, allow",
        }
    )
    assert _can(ref, "erin", "applications", "sync", "team-b/x")
    assert not _can(ref, "erin", "applications", "sync", "team-c/x")
    assert not _can(ref, "erin", "applications", "delete", "team-a/x")


def test_glob_alternatives_and_classes() -> None:
    assert rbac.glob_match("team-a/web", "team-{a,b}/*")
    assert rbac.glob_match("team-b/x/y", "team-[ab]/*")
    assert not rbac.glob_match("team-c/web", "team-{a,b}/*")
    assert rbac.glob_match("a.b", "a.b") and not rbac.glob_match("axb", "a.b")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"policy.csv": "p, alice, applications, get"}, "policy.csv line 1: a 'p' line"),
        ({"policy.csv": "\n\nx, alice, role:a"}, "line 3: a line must start with 'p' or 'g'"),
        ({"policy.csv": "p, a, applications, get, */*, maybe"}, "effect must be allow or deny"),
        ({"policy.csv": "g, alice"}, "a 'g' line needs"),
        (
            {"policy.csv": 'p, a, applications, get, */*\np, b, applications, get, "*/*, allow'},
            "policy.csv line 2: not valid CSV",
        ),
        ({"policy.matchMode": "fuzzy"}, "policy.matchMode must be glob or regex"),
        (
            {"policy.matchMode": "regex", "policy.csv": "p, a, applications, get, (x, allow"},
            "is not a regex",
        ),
    ],
)
def test_bad_policy_names_key_line_and_cause(data: dict[str, str], message: str) -> None:
    with pytest.raises(rbac.PolicyError, match=message.replace("(", r"\(")):
        rbac.parse_config(data)


def test_scopes_default_and_list() -> None:
    assert rbac.parse_config({}).scopes == ("groups",)
    assert rbac.parse_config({"scopes": "[groups, email]"}).scopes == ("groups", "email")


@pytest.mark.parametrize("mode", ["glob", "regex"])
def test_fast_path_agrees_with_casbin(mode: str) -> None:
    star = ".*" if mode == "regex" else "*"
    csv = "\n".join(
        [
            f"p, role:dev, applications, {star}, team-a/{star}, allow",
            f"p, role:dev, applications, delete, team-a/prod{star}, deny",
            f"p, role:ops, clusters, {star}, {star}, allow",
            "g, role:ops, role:dev",
            "g, ann, role:ops",
            "g, ben, role:dev",
            f"p, ben, applications, sync, team-b/{star}, allow",
            f"p, cid, applications, get, {star}, deny",
            "g, cid, role:readonly",
        ]
    )
    policy = rbac.Policy(rbac.parse_config({"policy.csv": csv, "policy.matchMode": mode}))
    for sub in ("ann", "ben", "cid", "admin", "role:readonly", "nobody"):
        for res in ("applications", "clusters", "projects", "accounts"):
            for act in ("get", "sync", "delete", "create", "action/apps/Deployment/restart"):
                for obj in ("team-a/web", "team-a/prod-1", "team-b/x", "default", "https://k"):
                    assert policy.enforce(sub, res, act, obj) == policy.casbin_enforce(
                        sub, res, act, obj
                    ), (sub, res, act, obj)
